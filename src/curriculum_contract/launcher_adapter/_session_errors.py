"""Errors of the session a launch runs on: its data violated, missing, unwritable, refused, busy, another subject's.

Raised before the run (refused, busy, mismatched: nothing ran) or after it (``SessionDataViolation``:
what the run changed, and what was put back).
"""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import CommandExit
from ._error_base import AdapterError


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
