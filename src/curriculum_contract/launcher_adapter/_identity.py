"""Whose session is this: refuse one whose own inputs name another subject; find where the subject starts.

A session is decided with the inputs it holds. One that already holds another subject's
``curriculum/history.json`` (or a trainer state, or a ``session.json`` naming its subject) would be
decided with that subject's past, silently: it is refused with ``SubjectMismatch`` naming both ids,
unless the caller overrides it explicitly, with a reason that the record keeps. The refusal is recorded as a
skip of the subject, unless the store knows nothing of that id (``refusal_of_a_stranger``): a typo is not a subject.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._attempt import Attempt
from ._errors import InvalidArgument, StoreError, SubjectMismatch, SubjectNotEnrolled
from ._feed import HISTORY_FILE, SESSION_METADATA_FILE, TRAINER_STATE_FILE, is_regular, read_regular
from ._messages import SUBJECT_MISMATCH_HINT, not_enrolled
from ._store import HistoryStore

#: The fields that name a subject, in each of the session's files that may hold one.
SUBJECT_FIELDS = {
    HISTORY_FILE: ("subject_id",),
    TRAINER_STATE_FILE: ("subject_id", "subject"),
    SESSION_METADATA_FILE: ("subject_id", "subject"),
}


def subjects_named(session_dir: Path) -> list[tuple[str, str]]:
    """``(file, subject id)`` for each of the session's input files that names a subject.

    Raises ``SessionFileRefused`` for one that is there but not a regular file (never opened).
    """
    found = []
    for rel, keys in SUBJECT_FIELDS.items():
        path = session_dir / rel
        if not is_regular(path):
            continue
        try:
            data = json.loads(read_regular(path))
        except (OSError, ValueError):
            continue  # unreadable inputs are the feed's and the curriculum's to report
        if not isinstance(data, dict):
            continue
        for key in keys:
            value = data.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                found.append((rel, str(value)))
                break
    return found


def check_subject(
    session_dir: Path, subject: str, *, allow_mismatch: bool = False, reason: str | None = None
) -> list[str]:
    """Raise ``SubjectMismatch`` if the session's inputs name another subject; the override's warnings else."""
    if allow_mismatch and not (reason and reason.strip()):
        raise InvalidArgument("allow_subject_mismatch needs a reason (--reason TEXT): it is recorded")
    others = [(rel, found) for rel, found in subjects_named(session_dir) if found != subject]
    if not others:
        return []
    rel, found = others[0]
    if not allow_mismatch:
        raise SubjectMismatch(
            f"session {session_dir} belongs to subject {found!r} ({rel} says so), not {subject!r}: not launched "
            f"({SUBJECT_MISMATCH_HINT})",
            "\n".join(f"{r}: {f}" for r, f in others),
            expected=subject,
            found=found,
            where=rel,
        )
    return [f"subject mismatch overridden: {rel} names {f!r}, launched as {subject!r} ({reason})" for rel, f in others]


def refusal_of_a_stranger(store: HistoryStore, subject: str, error: Exception) -> bool:
    """Whether ``error`` is a ``SubjectMismatch`` of an id the store knows nothing of (no enrollment, no session
    it starts from): not recorded, since a skip row would make a mistyped id a subject of the store (``whatif``,
    the status pages). A store that cannot tell (offline) has it recorded as before.
    """
    if not isinstance(error, SubjectMismatch):
        return False
    try:
        return store.enrollment_state(subject) is None
    except StoreError:
        return False


def starting_point(store: HistoryStore, attempt: Attempt) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """The subject's starting trainer state, its history (JSON-ready) and where they came from."""
    session = attempt.session_dir.name
    start = store.launch_start(attempt.subject, session=session, session_time=attempt.session_time)
    attempt.session_time = attempt.session_time or start.session_time
    if start.off is not None:
        from ._override import off_curriculum_error

        raise off_curriculum_error(attempt.subject, start.off)
    state, history = start.state, start.history
    if start.event is not None:
        from ._override import started_from

        attempt.warnings.append(started_from(start.event))
    if state is not None:
        return state, history, "the store"
    held = attempt.session_dir / TRAINER_STATE_FILE
    if is_regular(held):
        try:
            state = json.loads(read_regular(held))
        except (OSError, ValueError) as error:
            raise SubjectNotEnrolled(
                not_enrolled(attempt.subject, store.where, f"the session's {TRAINER_STATE_FILE} is unreadable: {error}")
            ) from None
        if isinstance(state, dict):
            # No history is placed: the store knows nothing, and a made-up "first session" would
            # silently restart multi-session criteria. The curriculum reports the history missing.
            attempt.warnings.append(
                f"subject {attempt.subject!r} is not in the store: started from the session's own {TRAINER_STATE_FILE}"
            )
            return state, None, "the session"
    raise SubjectNotEnrolled(not_enrolled(attempt.subject, store.where))
