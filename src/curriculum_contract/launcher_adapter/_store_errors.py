"""Errors of the history store and the subjects it records: unreadable or unreachable, enrollment, sync, migration.

Also a subject's course as the store knows it: not enrolled, already enrolled, in an offline conflict,
taken off the curriculum.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import CommandExit
from ._error_base import AdapterError


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
