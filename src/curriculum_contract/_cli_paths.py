"""The path type of every command's path options: click's, but an empty string is refused.

click turns ``--out ""`` into ``Path(".")``: a script whose variable is unset (``--path "$SESSION"``) would
run on the current directory. An empty value is a usage error (exit 2) naming the option instead; the current
directory is ``.``.
"""

from __future__ import annotations

from typing import Any

import click


class NonEmptyPath(click.Path):
    """``click.Path`` that refuses ``""`` (``.`` still means the current directory)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path (an unset variable?); the current directory is '.'", param, ctx)
        return super().convert(value, param, ctx)
