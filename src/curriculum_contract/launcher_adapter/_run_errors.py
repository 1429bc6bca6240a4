"""Errors of the curriculum and its program: not found, not ready, no environment, failed, too slow, bad output.

A failed child process keeps its own exit code as ``child_exit_code`` (``ProcessFailed``, ``BootstrapFailed``);
``ProcessFailed.from_result`` builds the error from a finished program.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import CommandExit
from ._error_base import AdapterError
from ._error_text import head_text, last_line, reason_line, signal_name, tail_text

if TYPE_CHECKING:
    from ._process import ProcessResult


class CurriculumNotFound(AdapterError, FileNotFoundError):
    """The curriculum directory, its ``pyproject.toml`` or its ``uv.lock`` does not exist."""

    exit_code = CommandExit.CURRICULUM_NOT_FOUND


class SubmoduleNotReady(AdapterError):
    """The curriculum submodule is uninitialised, not at the commit the task repo records, or dirty."""

    exit_code = CommandExit.SUBMODULE_NOT_READY


class BootstrapFailed(AdapterError):
    """The curriculum's environment could not be created: uv missing, ``uv sync`` failed, no script.

    ``child_exit_code`` is uv's exit code when uv ran (``exit_code`` is the command's: 5).
    """

    exit_code = CommandExit.BOOTSTRAP_FAILED

    def __init__(
        self,
        reason: str,
        details: str = "",
        *,
        command: Sequence[str] = (),
        child_exit_code: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(reason, details or stderr_tail)
        self.command = list(command)
        self.child_exit_code = child_exit_code
        self.stderr_tail = stderr_tail


class ProcessFailed(AdapterError):
    """The curriculum program exited non-zero or was killed by a signal.

    ``child_exit_code`` is the program's exit code (negative: the signal); ``exit_code`` the command's (11).
    """

    exit_code = CommandExit.PROCESS_FAILED

    def __init__(
        self,
        reason: str,
        details: str = "",
        *,
        argv: Sequence[str] = (),
        child_exit_code: int,
        stderr_tail: str = "",
        stdout_head: str = "",
    ) -> None:
        super().__init__(reason, details or stderr_tail)
        self.argv = list(argv)
        self.child_exit_code = child_exit_code
        self.stderr_tail = stderr_tail
        self.stdout_head = stdout_head

    @classmethod
    def from_result(cls, result: ProcessResult, *, dialect: str = "contract") -> ProcessFailed:
        """Build the error from a finished process: exit code (or signal), its reason, stderr tail, stdout head.

        The reason is, for the contract dialect, the first stderr line starting ``curriculum: error: ``
        (the prefix dropped: the command prints its own); else, or without one, the last non-empty line.
        """
        stderr_tail = tail_text(result.stderr)
        program = result.argv[0] if result.argv else "the curriculum"
        if result.exit_code < 0:
            what = f"was killed by {signal_name(-result.exit_code)}"
        else:
            what = f"exited with code {result.exit_code}"
        reason = f"{program} {what}"
        line = reason_line(result.stderr) if dialect == "contract" else None
        if line := line or last_line(stderr_tail):
            reason += f": {line[:300]}"
        return cls(
            reason,
            argv=result.argv,
            child_exit_code=result.exit_code,
            stderr_tail=stderr_tail,
            stdout_head=head_text(result.stdout, 500),
        )


class TimedOut(AdapterError, TimeoutError):
    """The curriculum program ran past its timeout; its whole process group was killed."""

    exit_code = CommandExit.TIMED_OUT

    def __init__(
        self, reason: str, details: str = "", *, timeout_s: float, argv: Sequence[str] = (), stderr_tail: str = ""
    ) -> None:
        super().__init__(reason, details or stderr_tail)
        self.timeout_s = timeout_s
        self.argv = list(argv)
        self.stderr_tail = stderr_tail


class ContractViolation(AdapterError):
    """The program's stdout is not one valid contract document (nor an AIND-shaped one).

    ``field`` is the dotted path of the first offending field when there is one; ``output_head``
    the first bytes of stdout when the problem is the text itself.
    """

    exit_code = CommandExit.CONTRACT_VIOLATION

    def __init__(self, reason: str, details: str = "", *, field: str | None = None, output_head: str = "") -> None:
        super().__init__(reason, details)
        self.field = field
        self.output_head = output_head
