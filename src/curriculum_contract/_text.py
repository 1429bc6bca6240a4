"""Text helpers every part of the package shares: pydantic errors by location, ``KEY=VALUE`` options.

Imports nothing heavy: pydantic's ``ValidationError`` is only a type here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

#: How long a quoted bad value may get in a message.
_VALUE_CHARS = 60


def dotted(loc: Iterable[Any]) -> str:
    """A pydantic location as a path: ``("sessions", 0, "stage")`` -> ``sessions[0].stage``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def short_repr(value: Any, limit: int = _VALUE_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with ``...``."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """``(field.path, "field.path: message (got value)")`` for each pydantic error, in order; never empty."""
    problems = []
    for item in error.errors(include_url=False):
        path = dotted(item.get("loc", ()))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        value = item.get("input")
        if item.get("type") != "missing" and not isinstance(value, dict | list):
            message += f" (got {short_repr(value)})"
        problems.append((path, f"{path or '<document>'}: {message}"))
    return problems or [("", "<document>: invalid")]


def parse_pairs(
    values: Iterable[str],
    *,
    option: str | None,
    error: Callable[[str], Exception],
    strip_keys: bool = False,
) -> dict[str, str]:
    """``KEY=VALUE`` strings as a mapping (a later key wins); a malformed one raises ``error(message)``.

    ``option`` (``"--opt"``) starts the message, when the caller's error does not name it already.
    ``strip_keys`` trims spaces around keys (template answers); option values are kept as given.
    """
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if strip_keys:
            key = key.strip()
        if not sep or not key:
            prefix = f"{option} " if option else ""
            raise error(f"{prefix}{value!r} must look like KEY=VALUE")
        pairs[key] = item
    return pairs
