"""When a session ran, and what a session recorded out of order means for its subject.

A subject's sessions are ordered by when they ran (``session_time``), not by when they were launched.
The time comes from the first of these that answers (docs/store.md, "Session order"):

1. ``session.json``'s ``session_start_time`` (AIND v1, or a lab's own file);
2. ``acquisition.json``'s ``acquisition_start_time`` (AIND v2);
3. the session directory's name, when it ends in a timestamp (``behavior_M1_2024-01-08_09-00-00``,
   AIND's naming): the rig's local time;
4. the launch's own start.

A time without a UTC offset is the rig's local time; every time is stored as UTC. A launch whose session
ran before one of the subject's recorded ok sessions (a late one), or of a session recorded already (a
correction) with recorded sessions after it, marks the subject for recomputation from it: a
``recompute-needed`` event, until ``recompute`` records a ``recomputed`` one.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._feed import is_regular, read_regular

if TYPE_CHECKING:
    from ._store import HistoryStore

#: ``(file, key)`` pairs read for a session's start, in order.
TIME_SOURCES = (("session.json", "session_start_time"), ("acquisition.json", "acquisition_start_time"))
_NAME_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[_T](\d{2})[-:](\d{2})[-:](\d{2})$")
NEEDED, DONE = "recompute-needed", "recomputed"


def _utc(value: datetime) -> datetime:
    return (value if value.tzinfo is not None else value.astimezone()).astimezone(UTC)


def session_time_of(session_dir: Path, launched_at: datetime) -> tuple[datetime, str]:
    """When the session in ``session_dir`` ran (UTC), and where that came from (for messages and docs)."""
    for name, key in TIME_SOURCES:
        path = session_dir / name
        if not is_regular(path):
            continue
        try:
            value = json.loads(read_regular(path)).get(key)
            if isinstance(value, str):
                return _utc(datetime.fromisoformat(value)), f"{name} {key}"
        except (OSError, ValueError, AttributeError):  # unreadable or not a time: the next source
            continue
    match = _NAME_TIME.search(session_dir.name)
    if match is not None:
        try:
            return _utc(datetime.fromisoformat(f"{match[1]}T{match[2]}:{match[3]}:{match[4]}")), "directory name"
        except ValueError:
            pass
    return _utc(launched_at), "launch time"


def out_of_order(store: HistoryStore, subject: str, session: str, session_time: datetime) -> tuple[bool, list[str]]:
    """(whether ``session`` is recorded already, the subject's current ok sessions that ran after it)."""
    from ._store_schema import CURRENT, import_sqlalchemy, tables

    sa = import_sqlalchemy()
    s = tables()["sessions"]
    query = (
        sa.select(s.c.session, s.c.status, s.c.session_time)
        .where((s.c.subject == subject) & sa.text(CURRENT))
        .where((s.c.session == session) | ((s.c.status == "ok") & (s.c.session_time > session_time)))
        .order_by(s.c.session_time, s.c.id)
    )
    with store._connect(f"read the sessions of {subject!r}", write=False) as conn:
        rows = list(conn.execute(query))
    recorded = any(row.session == session for row in rows)
    return recorded, [row.session for row in rows if row.session != session]


def recompute_warning(subject: str, session: str, recorded: bool, later: list[str], curriculum_dir: Path) -> str:
    what = "was recorded before (a correction)" if recorded else "ran before sessions already recorded"
    return (
        f"session {session} {what}: {len(later)} later session(s) of {subject!r} (from {later[0]}) were decided "
        f"without it; the subject is marked for recomputation: run `curriculum-contract recompute --curriculum "
        f"{curriculum_dir} --subject {subject}` (add --dry-run to see the change first)"
    )


def mark_for_recompute(
    store: HistoryStore, subject: str, session: str, session_time: datetime, later: list[str]
) -> int:
    """Record that ``subject``'s decisions from ``session`` on must be recomputed (a ``recompute-needed`` event)."""
    detail = {"session_time": session_time.isoformat(), "later_sessions": later}
    return store.record_event(subject, NEEDED, session=session, reason="session recorded out of order", detail=detail)


def recompute_marker(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The earliest pending ``recompute-needed`` event of a subject's ``events`` (oldest first), or None."""
    pending: list[dict[str, Any]] = []
    for event in events:
        if event["kind"] == DONE:
            pending = []
        elif event["kind"] == NEEDED:
            pending.append(event)
    return min(pending, key=lambda e: ((e["detail"] or {}).get("session_time") or "", e["id"]), default=None)
