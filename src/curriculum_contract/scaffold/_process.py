"""Running git and uv for the template commands: the package's one captured run (``_tools``), a typed
error naming the command on failure, ``ToolMissing`` when the program is not installed."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._tools import find_git, find_uv, run_captured
from ._errors import CommandFailed, ToolMissing


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """Run ``argv`` in ``cwd`` (``env`` added to ours) and return its stdout; ``CommandFailed`` on a non-zero exit."""
    completed = run_captured(argv, cwd=cwd, env={**os.environ, **env} if env else None)
    if completed.returncode != 0:
        raise CommandFailed.from_process(completed)
    return completed.stdout


def git_executable() -> str:
    """The ``git`` program, or ``ToolMissing``."""
    return find_git(lambda reason: ToolMissing(f"{reason}: the template commands need it"))


def uv_executable() -> str:
    """``uv`` from PATH, else the one the ``uv`` Python package ships (the launcher extra), or ``ToolMissing``."""
    return find_uv(ToolMissing)
