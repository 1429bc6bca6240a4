"""The programs the package runs (git, uv) and the one way it runs them to completion.

Finders take the caller's error class (``missing=``), so a missing uv is a ``BootstrapFailed`` in the
launcher and a ``ToolMissing`` in the template commands, with the same words. :func:`run_captured` is the
one captured run: an argument list, never a shell, no stdin, output decoded leniently, never raising for
a non-zero exit (the callers decide: ``scaffold._process.run`` raises ``CommandFailed``, the launcher's
``run_git`` returns a ``GitResult``). The launcher's bootstrap streams uv's progress instead
(``launcher_adapter._bootstrap``), and the curriculum program runs under a timeout with a size cap
(``launcher_adapter._process``): those are different jobs.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

MissingTool = Callable[[str], Exception]
"""Builds the caller's typed error from the one-line reason."""

UV_MISSING = "uv is not installed: install it (it comes with `curriculum-contract[launcher]`) or put it on PATH"
GIT_MISSING = "git is not installed (not on PATH)"


#: Where programs make temporary files. Set but empty, one means "unset" to Python's ``tempfile``, but uv takes
#: it as the current directory and leaves its lock file there (in a curriculum submodule: a change that
#: refuses the next launch).
TEMP_DIRECTORY_VARIABLES = ("TMPDIR", "TEMP", "TMP")


def without_empty_temp_directories(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the temporary-directory variables that are set but empty."""
    return {k: v for k, v in env.items() if v or k not in TEMP_DIRECTORY_VARIABLES}


def find_git(missing: MissingTool) -> str:
    """The ``git`` on PATH, or ``missing(reason)`` raised."""
    found = shutil.which("git")
    if found is None:
        raise missing(GIT_MISSING)
    return found


def find_uv(missing: MissingTool, uv: str | None = None) -> str:
    """The uv executable: ``uv`` if given (a name on PATH or a path), else ``uv`` on PATH, else the one the
    ``uv`` Python package ships; ``missing(reason)`` raised when there is none."""
    if uv is not None:
        found = shutil.which(uv) if os.sep not in uv else uv
        if found is None or not Path(found).is_file():
            raise missing(f"uv executable {uv} not found")
        return found
    found = shutil.which("uv")
    if found is not None:
        return found
    try:
        from uv import find_uv_bin
    except ImportError:
        raise missing(UV_MISSING) from None
    try:
        return find_uv_bin()
    except FileNotFoundError as exc:
        raise missing(f"the uv package is installed but its executable is missing: {exc}") from None


def run_captured(
    argv: Sequence[str], *, cwd: Path | None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in ``cwd`` (None: ours) to completion (``env``: the whole environment; None inherits ours).

    stdout and stderr are captured and decoded as UTF-8 with replacement; a non-zero exit is returned,
    not raised. ``OSError`` (the program cannot start) propagates.
    """
    command = [str(part) for part in argv]
    logger.debug("running %s in %s", command, cwd)
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=without_empty_temp_directories(os.environ if env is None else env),
        check=False,
    )
    return subprocess.CompletedProcess(
        command,
        done.returncode,
        done.stdout.decode("utf-8", errors="replace"),
        done.stderr.decode("utf-8", errors="replace"),
    )
