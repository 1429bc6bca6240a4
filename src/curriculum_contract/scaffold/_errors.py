"""Errors of ``curriculum-contract new``, ``update`` and ``template-cache``: the scaffold's branch of the
package's tree (``curriculum_contract.ContractError``), a one-line ``str`` naming what and where, and the
command's exit code (docs/exit-codes.md)::

ScaffoldError          (ContractError)           the root; never raised itself
├── InvalidAnswer      (ValueError)         2    a bad or reserved name, an unknown --data key, a bad requirement
├── DestinationError   (FileExistsError)    2    DEST is not empty, not a generated repository, or has changes
├── TemplateError                           14   the template files or the template cache are missing or broken
├── ToolMissing        (FileNotFoundError)  15   copier, git or uv is not installed (with an install hint)
├── CommandFailed                           16   a git or uv command exited non-zero (command, code, output tail)
└── UpdateConflicts                         17   ``update`` merged the template but left conflicts to resolve
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from .._errors import CommandExit, ContractError

#: How much of a failed command's output an error keeps (characters).
TAIL_CHARS = 2000


class ScaffoldError(ContractError):
    """Root of the template commands' errors (never raised itself). ``str(error)`` is one line."""

    commands = ("curriculum-contract new", "curriculum-contract update", "curriculum-contract template-cache")
    _family_root = True


class InvalidAnswer(ScaffoldError, ValueError):
    """An answer to the template's questions is invalid or reserved, or names no question."""

    exit_code = CommandExit.USAGE


class DestinationError(ScaffoldError, FileExistsError):
    """The destination cannot be written (not empty) or updated (not generated, uncommitted changes)."""

    exit_code = CommandExit.USAGE


class TemplateError(ScaffoldError):
    """The template cannot be found, registered or reached (e.g. an old version missing from the cache)."""

    exit_code = CommandExit.TEMPLATE


class ToolMissing(ScaffoldError, FileNotFoundError):
    """A program or optional dependency the command needs is not installed."""

    exit_code = CommandExit.TOOL_MISSING


class UpdateConflicts(ScaffoldError):
    """``update`` brought the template's changes but some files have conflicts to resolve."""

    exit_code = CommandExit.CONFLICTS

    def __init__(self, conflicts: Sequence[str]) -> None:
        self.conflicts = list(conflicts)
        super().__init__(f"{len(self.conflicts)} file(s) have conflicts to resolve: {', '.join(self.conflicts)}")


class CommandFailed(ScaffoldError):
    """A git or uv command exited non-zero; keeps the argument list, its exit code and the output's tail.

    ``returncode`` (also ``child_exit_code``) is the command's exit code; ``exit_code`` ours (16).
    """

    exit_code = CommandExit.COMMAND_FAILED

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        tail = output[-TAIL_CHARS:].strip()
        last = tail.splitlines()[-1] if tail else "no output"
        super().__init__(f"`{' '.join(argv)}` exited with code {returncode}: {last}", tail)
        self.argv = list(argv)
        self.returncode = self.child_exit_code = returncode
        self.output = tail

    @classmethod
    def from_process(cls, completed: subprocess.CompletedProcess[str]) -> CommandFailed:
        output = (completed.stdout or "") + (completed.stderr or "")
        return cls([str(arg) for arg in completed.args], completed.returncode, output)
