"""The launcher adapter's errors: one branch of the package's tree, so a launcher can skip on any of them.

``str(error)`` is always one line an operator understands (what went wrong and where); ``reason``
holds the same line and ``details`` the longer story (stderr tail, every validation error);
``exit_code`` is the code ``curriculum-contract launch | enroll | history`` exits with (the one table:
``curriculum_contract._errors.CommandExit``, docs/exit-codes.md)::

    AdapterError              (ContractError)                  the root; never raised itself
    ├── InvalidArgument       (ValueError)         2   a path or id not valid UTF-8, an option the dialect lacks
    ├── CurriculumNotFound    (FileNotFoundError)  3   no such directory, no pyproject.toml, no uv.lock
    ├── SubmoduleNotReady                          4   uninitialised, not at the recorded commit, dirty
    ├── BootstrapFailed                            5   uv missing, `uv sync` failed, no `curriculum` script
    ├── TimedOut              (TimeoutError)       6   the program ran past its timeout; its group was killed
    ├── ContractViolation                          7   stdout is not one valid contract (or AIND) document
    ├── SessionDataViolation                       8   the run modified, deleted or escaped the session data
    ├── SubjectNotEnrolled    (LookupError)        9   no starting trainer state for the subject
    ├── StoreError                                 10  the history store cannot be opened, read or written
    │   └── StoreUnreachable                       10  the store's server cannot be connected to (refused, timed out)
    ├── OfflineConflicts                           17  `sync`: queued offline decisions conflict with the store
    │   └── SubjectInConflict                      17  a launch of a subject in conflict on this rig (not run)
    ├── ProcessFailed                              11  the program exited non-zero or was killed by a signal
    ├── SessionNotFound       (FileNotFoundError)  12  the session directory is missing or not a directory
    ├── SessionWriteFailed    (OSError)            12  a file of the session cannot be written
    ├── ExternalLinkRefused                        13  the session holds a symlink pointing outside it (not run)
    ├── SessionBusy           (BlockingIOError)    13  another launch holds the session (nothing run, nothing recorded)
    ├── SubjectBusy           (TimeoutError)       13  another launch held the subject past the wait bound
    ├── SubjectMismatch                            13  the session's inputs name another subject
    ├── AlreadyEnrolled                            2   enroll of an enrolled subject without force and a reason
    ├── SessionFileRefused                         13  a session file the adapter reads or writes is a FIFO...
    ├── MigrationRefused      (ValueError)         2   `migrate`: a subject's stage is not mapped, or retired
    ├── SubjectOffCurriculum                       19  a trainer took the subject off the curriculum (not run)
    └── DependencyMissing     (ImportError)        15  an optional package the command needs is not installed

A failed child process keeps its own exit code as ``child_exit_code`` (``ProcessFailed``, ``BootstrapFailed``).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import CommandExit, ContractError

if TYPE_CHECKING:
    from ._process import ProcessResult

#: How much of a stream an error keeps (characters): enough for a traceback's last frames.
TAIL_CHARS = 2000


def tail_text(data: bytes | str, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of a stream, decoded leniently."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[-limit:]


def head_text(data: bytes | str, limit: int = TAIL_CHARS) -> str:
    """The first ``limit`` characters of a stream, decoded leniently."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[:limit]


#: How the SDK's ``curriculum`` program starts its one-line reason on stderr (docs/contract.md, section 4).
REASON_PREFIX = "curriculum: error: "


def reason_line(stderr: bytes | str) -> str | None:
    """The first stderr line that starts with ``curriculum: error: ``, without the prefix; None without one.

    What the curriculum's own code printed may come before it, a traceback after it.
    """
    data = stderr.encode("utf-8", errors="replace") if isinstance(stderr, str) else stderr
    prefix = REASON_PREFIX.encode()
    pos = 0 if data.startswith(prefix) else _after(data.find(b"\n" + prefix))
    while pos >= 0:
        end = data.find(b"\n", pos)
        line = data[pos + len(prefix) : end if end >= 0 else len(data)].decode("utf-8", errors="replace").strip()
        if line:
            return line
        pos = _after(data.find(b"\n" + prefix, pos))
    return None


def _after(newline: int) -> int:
    return newline + 1 if newline >= 0 else -1


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


#: The launcher's commands: the rows of the exit-code table (docs/exit-codes.md) this family's codes apply to.
_LAUNCHER_COMMANDS = (
    "launch", "enroll", "history", "recover", "store", "simulate", "migrate", "recompute", "whatif", "override",
    "sync",
)  # fmt: skip


class AdapterError(ContractError):
    """Root of the adapter's errors (never raised itself). ``str(error)`` is the one-line reason."""

    commands = tuple(f"curriculum-contract {name}" for name in _LAUNCHER_COMMANDS)
    _family_root = True


class InvalidArgument(AdapterError, ValueError):
    """A path or identifier cannot be used (not valid UTF-8), or an option the dialect cannot express."""

    exit_code = CommandExit.USAGE


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


class SessionDataViolation(AdapterError):
    """The run changed the session directory: a file modified, deleted, written outside, undeclared.

    ``restored`` lists the session files put back from their preserved version after the run;
    ``not_restored`` the lost ones that could not be, each as ``"path: why"``. The one-line reason
    says both (``...; restored trials.csv``).
    """

    exit_code = CommandExit.SESSION_DATA_VIOLATION

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

    exit_code = CommandExit.SUBJECT_NOT_ENROLLED


class StoreError(AdapterError):
    """The history store cannot be opened, read or written, or holds a value that cannot be decoded."""

    exit_code = CommandExit.STORE


# -- offline rigs (_rig_store, _sync) ------------------------------------------------------------
class StoreUnreachable(StoreError):
    """The store's server cannot be connected to (refused, timed out, shut down): a launch decides offline.

    Bad credentials, a newer schema or a corrupt row are a plain ``StoreError``: they are not offline.
    """


class OfflineConflicts(AdapterError):
    """`sync` left queued offline decisions of subjects that ran elsewhere meanwhile (resolve with `--resolve`)."""

    exit_code = CommandExit.CONFLICTS


class SubjectInConflict(OfflineConflicts):
    """A launch of a subject with an unresolved offline conflict in this rig's outbox: refused before the run.

    Nothing ran, nothing was written into the session, nothing recorded (its record would wait behind the
    conflict): ``curriculum-contract sync --resolve SUBJECT --keep remote|local`` first. ``decisions`` are
    the subject's queued decisions, as outbox lines.
    """

    def __init__(self, reason: str, details: str = "", *, subject: str, decisions: Sequence[str] = ()) -> None:
        super().__init__(reason, details or "\n".join(decisions))
        self.subject = subject
        self.decisions = list(decisions)


# -- end offline rigs -------------------------------------------------------------------------------
class SessionNotFound(AdapterError, FileNotFoundError):
    """The session directory does not exist or is not a directory."""

    exit_code = CommandExit.SESSION


class SessionWriteFailed(AdapterError, OSError):
    """A file the adapter writes into the session (inputs, suggestion, ``session.json``) cannot be written."""

    exit_code = CommandExit.SESSION


class ExternalLinkRefused(AdapterError):
    """The session holds symlinks that resolve outside it; a curriculum could write through them.

    Raised before the run (nothing ran, nothing changed). ``links`` holds ``(link, target)`` pairs:
    the session-relative link and the absolute path it resolves to. ``SessionSnapshot.take`` with
    ``external_links="guard"`` guards the targets instead (except one that contains the session).
    """

    exit_code = CommandExit.SESSION_REFUSED

    def __init__(self, session_dir: str, links: Sequence[tuple[str, str]], why: str = "") -> None:
        self.session_dir = session_dir
        self.links = list(links)
        link, target = self.links[0] if self.links else ("?", "?")
        why = why or "refused: a curriculum could write through it; copy the target in, or pass external_links='guard'"
        reason = (
            f"session directory {session_dir} holds a symlink pointing outside it: {link} -> {target}"
            f"{_and_more(self.links)} ({why})"
        )
        super().__init__(reason, "\n".join(f"{a} -> {b}" for a, b in self.links))


class SessionBusy(AdapterError, BlockingIOError):
    """Another launch holds the session (its lock next to the session); nothing was run or changed.

    Not recorded in the store: the other launch owns the session's row.
    """

    exit_code = CommandExit.SESSION_REFUSED


class SubjectBusy(AdapterError, TimeoutError):
    """Another launch of the subject held its lock past the wait bound; this session was not run."""

    exit_code = CommandExit.SESSION_REFUSED


class SubjectMismatch(AdapterError):
    """The session's own inputs (``curriculum/history.json``, ``session.json``...) name another subject.

    ``expected`` is the subject launched, ``found`` the other id and ``where`` the file that names it.
    """

    exit_code = CommandExit.SESSION_REFUSED

    def __init__(self, reason: str, details: str = "", *, expected: str, found: str, where: str) -> None:
        super().__init__(reason, details)
        self.expected = expected
        self.found = found
        self.where = where


class AlreadyEnrolled(AdapterError):
    """``enroll`` of a subject the store already knows; ``stage`` is where it stands now.

    Re-enrolling needs ``force=True`` and a ``reason`` (recorded, the old state kept).
    """

    exit_code = CommandExit.USAGE

    def __init__(self, reason: str, details: str = "", *, subject: str, stage: str | None) -> None:
        super().__init__(reason, details)
        self.subject = subject
        self.stage = stage


class MigrationRefused(AdapterError, ValueError):
    """``migrate`` cannot move every subject: a stage the migrations file does not map, a retired stage, a bad file.

    All subjects or none: nothing was written. ``problems`` lists one line per subject that blocked it.
    """

    exit_code = CommandExit.USAGE

    def __init__(self, reason: str, details: str = "", *, problems: Sequence[str] = ()) -> None:
        super().__init__(reason, details or "\n".join(problems))
        self.problems = list(problems)


class SubjectOffCurriculum(AdapterError):
    """A trainer took the subject off the curriculum (``override --off``); the session was not run, on purpose.

    Its own code (19), so a launcher can tell "not run by decision" from a failure. ``event`` is the
    recorded off-curriculum event (who, when, why); ``override --on`` puts the subject back.
    """

    exit_code = CommandExit.OFF_CURRICULUM

    def __init__(self, reason: str, details: str = "", *, subject: str, event: dict[str, object]) -> None:
        super().__init__(reason, details)
        self.subject = subject
        self.event = event


class DependencyMissing(AdapterError, ImportError):
    """An optional package the command needs is not installed (e.g. pyarrow for ``history --parquet``)."""

    exit_code = CommandExit.TOOL_MISSING


class SessionFileRefused(AdapterError):
    """An input or output file of the session is a FIFO, socket, device, symlink or directory; never opened.

    The adapter reads and writes ``curriculum/trainer_state.json``, ``curriculum/history.json``,
    ``curriculum/suggestion.json`` and ``session.json`` only as regular files: opening a FIFO would
    block forever. Checked before anything is written into the session; ``path`` names the file.
    """

    exit_code = CommandExit.SESSION_REFUSED

    def __init__(self, path: str, kind: str) -> None:
        self.path = path
        self.kind = kind
        super().__init__(f"{path} is a {kind}, not a regular file: not opened")
