"""Running git and uv: argument lists, captured output, a typed error naming the command on failure."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._errors import CommandFailed, ToolMissing

logger = logging.getLogger(__name__)


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """Run ``argv`` in ``cwd`` and return its stdout; raise ``CommandFailed`` on a non-zero exit."""
    logger.debug("running %s in %s", argv, cwd)
    completed = subprocess.run(
        list(argv),
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env} if env else None,
        check=False,
    )
    if completed.returncode != 0:
        raise CommandFailed.from_process(completed)
    return completed.stdout


def git_executable() -> str:
    """The ``git`` program, or ``ToolMissing``."""
    found = shutil.which("git")
    if found is None:
        raise ToolMissing("git is not installed or not on PATH: the template commands need it")
    return found


def uv_executable() -> str:
    """``uv`` from PATH, else the one the ``uv`` Python package ships (the launcher extra), or ``ToolMissing``."""
    found = shutil.which("uv")
    if found is not None:
        return found
    try:
        from uv import find_uv_bin
    except ImportError:
        raise ToolMissing("uv is not installed: install it, or pip install 'curriculum-contract[launcher]'") from None
    return find_uv_bin()
