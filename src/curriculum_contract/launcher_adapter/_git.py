"""Run git for the locate step: an argument list, the git on PATH, never a shell, no prompts.

:func:`run_git` is the default :class:`GitRunner`; ``locate_curriculum(git=...)`` (and ``launch`` and
``enroll``) accept another, so a test can answer git's questions without a repository.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .._tools import find_git, run_captured

# Environment variables that would point git at another repository than the one asked about.
_GIT_LOCAL_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


@dataclass(frozen=True)
class GitResult:
    """One finished git command: its arguments (after ``git -C DIR``), exit code and decoded output."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


class GitRunner(Protocol):
    """Runs ``git -C cwd *args`` to completion; raises ``FileNotFoundError`` when git is not installed."""

    def __call__(self, args: Sequence[str], *, cwd: Path) -> GitResult: ...


def run_git(args: Sequence[str], *, cwd: Path) -> GitResult:
    """``git -C cwd args`` with the git on PATH, in an environment that cannot redirect it to another repo."""
    executable = find_git(lambda reason: FileNotFoundError(errno.ENOENT, reason, "git"))
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCAL_VARS}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_OPTIONAL_LOCKS="0")
    done = run_captured([executable, "-C", str(cwd), *args], cwd=None, env=env)
    return GitResult(args=tuple(args), exit_code=done.returncode, stdout=done.stdout, stderr=done.stderr)
