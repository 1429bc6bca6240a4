"""The launcher adapter's errors: one root, so a launcher can skip the curriculum step on any of them.

``str(error)`` is always one line an operator understands (what went wrong and where); ``reason``
holds the same line and ``details`` the longer story (stderr tail, every validation error)::

    AdapterError
    ├── CurriculumNotFound    (FileNotFoundError)  no such directory, no pyproject.toml, no uv.lock
    ├── SubmoduleNotReady                          uninitialised, not at the recorded commit, dirty
    ├── BootstrapFailed                            uv missing, `uv sync` failed, no `curriculum` script
    ├── ProcessFailed                              the program exited non-zero or was killed by a signal
    ├── TimedOut              (TimeoutError)       the program ran past its timeout; its group was killed
    ├── ContractViolation                          stdout is not one valid contract (or AIND) document
    ├── SessionDataViolation                       the run modified, deleted or escaped the session data
    ├── SubjectNotEnrolled    (LookupError)        no starting trainer state for the subject
    └── StoreError                                 the history store failed
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._process import ProcessResult

#: How much of a stream an error keeps (characters): enough for a traceback's last frames.
TAIL_CHARS = 2000


def _one_line(text: str) -> str:
    return " ".join(text.split())


def tail_text(data: bytes | str, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of a stream, decoded leniently."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[-limit:]


def head_text(data: bytes | str, limit: int = TAIL_CHARS) -> str:
    """The first ``limit`` characters of a stream, decoded leniently."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[:limit]


def last_line(text: str) -> str:
    """The last non-empty line of a text: usually the exception message of a traceback."""
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def signal_name(number: int) -> str:
    """``SIGKILL`` for 9; ``signal 64`` for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class AdapterError(Exception):
    """Root of the adapter's errors. ``str(error)`` is the one-line reason; ``details`` may add more."""

    def __init__(self, reason: str, details: str = "") -> None:
        reason = _one_line(reason)
        super().__init__(reason)
        self.reason = reason
        self.details = details

    def __str__(self) -> str:
        return self.reason


class CurriculumNotFound(AdapterError, FileNotFoundError):
    """The curriculum directory, its ``pyproject.toml`` or its ``uv.lock`` does not exist."""


class SubmoduleNotReady(AdapterError):
    """The curriculum submodule is uninitialised, not at the commit the task repo records, or dirty."""


class BootstrapFailed(AdapterError):
    """The curriculum's environment could not be created: uv missing, ``uv sync`` failed, no script."""

    def __init__(
        self,
        reason: str,
        details: str = "",
        *,
        command: Sequence[str] = (),
        exit_code: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(reason, details or stderr_tail)
        self.command = list(command)
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class ProcessFailed(AdapterError):
    """The curriculum program exited non-zero or was killed by a signal."""

    def __init__(
        self,
        reason: str,
        details: str = "",
        *,
        argv: Sequence[str] = (),
        exit_code: int,
        stderr_tail: str = "",
        stdout_head: str = "",
    ) -> None:
        super().__init__(reason, details or stderr_tail)
        self.argv = list(argv)
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        self.stdout_head = stdout_head

    @classmethod
    def from_result(cls, result: ProcessResult) -> ProcessFailed:
        """Build the error from a finished process: exit code (or signal), stderr tail, stdout head."""
        stderr_tail = tail_text(result.stderr)
        program = result.argv[0] if result.argv else "the curriculum"
        if result.exit_code < 0:
            what = f"was killed by {signal_name(-result.exit_code)}"
        else:
            what = f"exited with code {result.exit_code}"
        reason = f"{program} {what}"
        if line := last_line(stderr_tail):
            reason += f": {line[:300]}"
        return cls(
            reason,
            argv=result.argv,
            exit_code=result.exit_code,
            stderr_tail=stderr_tail,
            stdout_head=head_text(result.stdout, 500),
        )


class TimedOut(AdapterError, TimeoutError):
    """The curriculum program ran past its timeout; its whole process group was killed."""

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

    def __init__(self, reason: str, details: str = "", *, field: str | None = None, output_head: str = "") -> None:
        super().__init__(reason, details)
        self.field = field
        self.output_head = output_head


class SessionDataViolation(AdapterError):
    """The run changed the session directory: a file modified, deleted, written outside, undeclared.

    ``restored`` lists the session files put back from their preserved version after the run;
    ``not_restored`` the lost ones that could not be, each as ``"path: why"``. The one-line reason
    says both (``...; restored trials.csv``).
    """

    def __init__(
        self,
        violations: Sequence[str],
        session_dir: str = "",
        *,
        restored: Sequence[str] = (),
        not_restored: Sequence[str] = (),
    ) -> None:
        self.violations = list(violations)
        self.restored = list(restored)
        self.not_restored = list(not_restored)
        where = f" in {session_dir}" if session_dir else ""
        first = self.violations[0] if self.violations else "unknown violation"
        reason = f"session data violated{where}: {first}{_and_more(self.violations)}"
        if self.restored:
            reason += f"; restored {', '.join(self.restored[:3])}{_and_more(self.restored, 3)}"
        if self.not_restored:
            reason += f"; NOT restored: {self.not_restored[0]}{_and_more(self.not_restored)}"
        details = [*self.violations, *(f"restored: {p}" for p in self.restored)]
        details += [f"not restored: {line}" for line in self.not_restored]
        super().__init__(reason, "\n".join(details))


def _and_more(items: Sequence[str], shown: int = 1) -> str:
    return f" (and {len(items) - shown} more)" if len(items) > shown else ""


class SubjectNotEnrolled(AdapterError, LookupError):
    """The store knows no trainer state for the subject and the session holds none."""


class StoreError(AdapterError):
    """The history store could not be read or written."""
