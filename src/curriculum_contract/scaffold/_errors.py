"""Errors of ``curriculum-contract new`` and ``update``: one root, a one-line ``str`` naming what and where::

ScaffoldError
├── InvalidAnswer      (ValueError)         a bad or reserved name, an unknown --data key, a bad requirement
├── DestinationError   (FileExistsError)    DEST is not empty, not a generated repository, or has changes
├── TemplateError                           the template files or the template cache are missing or broken
├── ToolMissing        (FileNotFoundError)  copier, git or uv is not installed (with an install hint)
└── CommandFailed                           a git or uv command exited non-zero (command, code, output tail)
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

#: How much of a failed command's output an error keeps (characters).
TAIL_CHARS = 2000


class ScaffoldError(Exception):
    """Root of the template commands' errors. ``str(error)`` is one line; ``details`` may add more."""

    def __init__(self, reason: str, details: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class InvalidAnswer(ScaffoldError, ValueError):
    """An answer to the template's questions is invalid or reserved, or names no question."""


class DestinationError(ScaffoldError, FileExistsError):
    """The destination cannot be written (not empty) or updated (not generated, uncommitted changes)."""


class TemplateError(ScaffoldError):
    """The template cannot be found, registered or reached (e.g. an old version missing from the cache)."""


class ToolMissing(ScaffoldError, FileNotFoundError):
    """A program or optional dependency the command needs is not installed."""


class CommandFailed(ScaffoldError):
    """A subprocess exited non-zero; keeps the argument list, the exit code and the output's tail."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        tail = output[-TAIL_CHARS:].strip()
        last = tail.splitlines()[-1] if tail else "no output"
        super().__init__(f"`{' '.join(argv)}` exited with code {returncode}: {last}", tail)
        self.argv = list(argv)
        self.returncode = returncode
        self.output = tail

    @classmethod
    def from_process(cls, completed: subprocess.CompletedProcess[str]) -> CommandFailed:
        output = (completed.stdout or "") + (completed.stderr or "")
        return cls([str(arg) for arg in completed.args], completed.returncode, output)
