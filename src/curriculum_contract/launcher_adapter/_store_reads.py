"""Launch-time reads of the history store: a subject's starting state and history, from one read.

A SQLite store is read with the standard library's ``sqlite3`` (the same queries as SQLAlchemy's,
the same decoding), so a launch imports SQLAlchemy only to record its result, while the curriculum
runs. ``HistoryStore`` uses SQLAlchemy for every other URL; a test pins both readers to the same answers.

A subject's sessions are its current rows (not superseded by a recomputation) in the order they ran:
``session_time``, then id. A launched session is decided with the history before its place in that order,
from the latest (by when each was recorded) of: the last ok session before it, and the enrollment and
state-setting events recorded after that session and before the first ok session after it
(docs/store.md, "Session order").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._errors import StoreError
from ._json import loads_column
from ._messages import store_cannot_open
from ._store_migrate import too_new
from ._store_schema import (
    CURRENT,
    HISTORY_COLUMNS,
    HISTORY_CONTRACT_VERSION,
    SCHEMA_VERSION,
    SQLITE_BUSY_TIMEOUT_MS,
    aware,
)

#: The id bound of a session not recorded yet: after every recorded session of the same time.
UNRECORDED_ID = 2**31 - 1  # the largest id a PostgreSQL INTEGER holds


@dataclass
class SubjectRows:
    """One subject's rows the launch-time reads are computed from.

    The launched session X sits at its place in the subject's order (session time, id; its own row left out):
    ``last_ok`` is the last ok session before it, ``next_ok`` when the first ok session after it was recorded
    (None in the normal case: X is the latest). What was recorded in between *applies* to X.
    """

    session_id: int | None = None
    session_input: dict[str, Any] | None = None
    """The launched session's recorded input: its start only when nothing else applies (a state from its folder)."""
    ok_sessions: list[dict[str, Any]] = field(default_factory=list)
    last_ok: tuple[dict[str, Any], datetime] | None = None
    """The suggestion of the last ok session before the launched one, and when it was recorded (``started_at``)."""
    next_ok: datetime | None = None
    """When the first ok session after the launched one was recorded (``started_at``), if there is one."""
    enrollment: tuple[dict[str, Any], datetime] | None = None
    """The latest enrollment recorded before ``next_ok`` (any, without one), and when."""
    session_time: datetime | None = None
    """When the launched session ran (given at launch, else as recorded): the history ends before it."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """The subject's events, oldest first: ``id, kind, session, reason, detail`` (decoded), ``created_at``."""

    def applies(self, recorded: datetime) -> bool:
        """Whether an event or enrollment recorded at ``recorded`` applies to the launched session: recorded
        after the last ok session before it, and before the first ok session after it (recorded order only:
        session times can be simulated dates)."""
        if self.last_ok is not None and recorded <= self.last_ok[1]:
            return False
        return self.next_ok is None or recorded < self.next_ok

    def _latest(self, *, off: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None] | None:
        """``(state, event)`` of the latest of: the last ok session before, the enrollment and the last
        state-setting event that apply (an event wins a tie with the enrollment). None: nothing applies.

        ``off=False`` passes over off-curriculum events (a null ``trainer_state``): where the subject stands.
        """
        found: list[tuple[datetime, int, dict[str, Any] | None, dict[str, Any] | None]] = []
        if self.enrollment is not None and self.applies(self.enrollment[1]):
            found.append((self.enrollment[1], 0, self.enrollment[0], None))
        if self.last_ok is not None:
            found.append((self.last_ok[1], 1, self.last_ok[0], None))
        setting = (
            e for e in reversed(self.events)
            if sets_state(e) and (off or e["detail"]["trainer_state"]) and self.applies(e["created_at"])
        )  # fmt: skip
        event = next(setting, None)
        if event is not None:
            found.append((event["created_at"], 2, event["detail"]["trainer_state"], event))
        if not found:
            return None
        _, _, state, source = max(found, key=lambda item: (item[0], item[1]))
        return (dict(state) if state is not None else None), source

    def starting_state(self) -> dict[str, Any] | None:
        latest = self._latest(off=False)
        if latest is not None:
            return latest[0]
        return dict(self.session_input) if self.session_input is not None else None

    def started_from(self) -> dict[str, Any] | None:
        """The state-setting event (an override, a migration...) the starting state comes from, if any."""
        latest = self._latest(off=False)
        return latest[1] if latest is not None else None

    def off_curriculum(self) -> dict[str, Any] | None:
        """The off-curriculum event in effect (the latest of everything that applies), or None."""
        latest = self._latest(off=True)
        return latest[1] if latest is not None and latest[0] is None else None

    def history_events(self) -> list[dict[str, Any]]:
        """The history document's ``events``, oldest first: the subject's events since its enrollment
        (``enrollment``) and, if an ok session comes after the launched one, recorded before it."""
        since = self.enrollment[1] if self.enrollment is not None else None
        out = []
        for event in self.events:
            if since is not None and event["created_at"] < since:
                continue
            if self.next_ok is not None and event["created_at"] >= self.next_ok:
                continue
            detail = event["detail"] if isinstance(event["detail"], dict) else {}
            before = [row["session"] for row in self.ok_sessions if row["started_at"] < event["created_at"]]
            state = detail.get("trainer_state") if sets_state(event) else None
            stage = (state or {}).get("stage")
            out.append(
                {
                    "kind": event["kind"],
                    "at": event["created_at"].isoformat(),
                    "operator": detail.get("operator"),
                    "reason": event["reason"],
                    "stage": stage.get("name") if isinstance(stage, dict) else None,
                    "session_before": before[-1] if before else None,
                }
            )
        return out

    def history(self, curriculum_name: str | None, before_session: str | None) -> list[dict[str, Any]]:
        return [
            {
                "session": row["session"],
                "stage": row["stage_before"],
                "metrics": dict(row["metrics"] or {}),
                "suggested_stage": row["stage_after"],
                "date": row["started_at"],
            }
            for row in self.ok_sessions
            if (curriculum_name is None or row["curriculum_name"] == curriculum_name)
            and row["session"] != before_session
            and self._before(row)
        ]

    def _before(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` comes before the launched session in the subject's order (session time, id)."""
        own_id = self.session_id if self.session_id is not None else UNRECORDED_ID
        if self.session_time is None or row["session_time"] is None:
            return row["id"] < own_id
        return (row["session_time"], row["id"]) < (self.session_time, own_id)


def order_bound(rows: SubjectRows, session_time: datetime | None) -> tuple[datetime, int] | None:
    """The (session time, id) the launched session sorts at, if it has a time: the starting state is before it."""
    rows.session_time = session_time or rows.session_time
    if rows.session_time is None:
        return None
    return rows.session_time, rows.session_id if rows.session_id is not None else UNRECORDED_ID


def sqlite_time(value: datetime) -> str:
    """``value`` as SQLAlchemy stores a datetime in SQLite (UTC wall clock), to compare with stored ones."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def sets_state(event: dict[str, Any]) -> bool:
    """A state-setting event (``override``, ``on-curriculum``, ``off-curriculum``, ``stage-migration``...):
    its ``detail`` holds ``trainer_state``, a full trainer state or null for "off the curriculum"."""
    return isinstance(event.get("detail"), dict) and "trainer_state" in event["detail"]


def history_payload(
    subject: str, curriculum_name: str | None, entries: list[dict[str, Any]], events: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    sessions = [{**entry, "date": entry["date"].isoformat() if entry["date"] else None} for entry in entries]
    return {
        "contract_version": HISTORY_CONTRACT_VERSION,
        "subject_id": subject,
        "curriculum_name": curriculum_name,
        "first_session": not sessions,
        "sessions": sessions,
        "events": list(events),
    }


#: The event columns the launch-time reads take.
EVENT_COLUMNS = ("id", "kind", "session", "reason", "detail", "created_at")


def sqlite_file(url: str) -> Path | None:
    """The database file of a plain SQLite URL (``sqlite:///path``), else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or url[len(prefix) :] in ("", ":memory:"):
        return None
    return Path(url[len(prefix) :])


def read_sqlite(
    path: Path, subject: str, session: str | None, where: str, *, history: bool = True,
    session_time: datetime | None = None,
) -> SubjectRows:  # fmt: skip
    """``HistoryStore._read_core`` with the standard library: the same queries, the same decoding."""
    import sqlite3

    if not path.parent.is_dir():
        raise StoreError(store_cannot_open(where, f"folder {path.parent} does not exist"))
    if not path.exists():
        return SubjectRows()  # created with its tables on the first write
    try:
        db = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(store_cannot_open(where, str(exc))) from exc
    try:
        db.execute("BEGIN")  # one snapshot for every query
        try:
            return _sqlite_queries(db, subject, session, where, history, session_time)
        finally:
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise StoreError(f"history store {where}: could not read the history of {subject!r}: {exc}") from exc
    finally:
        db.close()


def _sqlite_queries(
    db: Any, subject: str, session: str | None, where: str, history: bool, session_time: datetime | None
) -> SubjectRows:
    def when(text: str | None) -> datetime | None:
        return aware(datetime.fromisoformat(text)) if text is not None else None

    def decoded(text: str | None, table: str, row: object, column: str) -> Any:
        return loads_column(text, where=where, table=table, row=row, column=column)

    rows = SubjectRows()
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"store_meta", "enrollments", "sessions"} <= tables:
        return rows  # an empty store: the first write creates the tables
    version = db.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
    if version is not None and int(version[0]) > SCHEMA_VERSION:
        raise too_new(where, int(version[0]))  # an older one is read as it is, and upgraded by the first write
    old = version is not None and int(version[0]) < 3  # no session_time, no superseded rows: read by id
    current = "" if old else f" AND {CURRENT}"
    order = "id" if old else "session_time, id"
    if session is not None:
        mark = db.execute(
            f"SELECT id, input_trainer_state, {'NULL' if old else 'session_time'} FROM sessions "
            f"WHERE subject = ? AND session = ?{current}",
            (subject, session),
        ).fetchone()
        if mark is not None:
            rows.session_id, rows.session_input = mark[0], decoded(mark[1], "sessions", mark[0], "input_trainer_state")
            rows.session_time = when(mark[2])
    bound = None if old else order_bound(rows, session_time)
    columns = ", ".join(c if c != "session_time" or not old else "started_at AS session_time" for c in HISTORY_COLUMNS)
    query = f"SELECT {columns} FROM sessions WHERE subject = ? AND status = 'ok'{current} ORDER BY {order}"
    for row in db.execute(query, (subject,)) if history else ():
        record = dict(zip(HISTORY_COLUMNS, row, strict=True))
        record["metrics"] = decoded(record["metrics"], "sessions", record["id"], "metrics")
        record["started_at"] = when(record["started_at"])
        record["session_time"] = when(record["session_time"])
        rows.ok_sessions.append(record)
    next_recorded = _sqlite_neighbours(db, rows, subject, current, order, bound, decoded, when)
    enrolled = db.execute(
        "SELECT id, trainer_state, created_at FROM enrollments WHERE subject = ?"
        f"{'' if next_recorded is None else ' AND created_at < ?'} ORDER BY id DESC LIMIT 1",
        (subject,) if next_recorded is None else (subject, next_recorded),
    ).fetchone()
    if enrolled is not None:
        state = decoded(enrolled[1], "enrollments", enrolled[0], "trainer_state")
        rows.enrollment = (state, when(enrolled[2]))  # type: ignore[assignment]
    if "events" in tables:
        query = "SELECT id, kind, session, reason, detail, created_at FROM events WHERE subject = ? ORDER BY id"
        for row in db.execute(query, (subject,)):
            event = dict(zip(EVENT_COLUMNS, row, strict=True))
            event["detail"] = decoded(event["detail"], "events", event["id"], "detail")
            event["created_at"] = when(event["created_at"])
            rows.events.append(event)
    return rows


def _sqlite_neighbours(
    db: Any, rows: SubjectRows, subject: str, current: str, order: str, bound: tuple[datetime, int] | None,
    decoded: Any, when: Any,
) -> str | None:  # fmt: skip
    """Fill ``last_ok`` and ``next_ok``: the ok sessions either side of the launched one (its own row left out),
    in one query. Returns the next one's ``started_at`` as stored, to compare stored times with."""
    own = rows.session_id
    if bound is not None:
        sides: tuple[str, str | None] = (
            "(session_time < ? OR (session_time = ? AND id < ?))", "(session_time > ? OR (session_time = ? AND id > ?))"
        )  # fmt: skip
        place: list[Any] = [sqlite_time(bound[0]), sqlite_time(bound[0]), bound[1]]
    elif own is not None:  # recorded without a time (a store before schema 3): placed by id
        sides, place = ("id < ?", "id > ?"), [own]
    else:  # a new session without a time: after every recorded one
        sides, place = ("1 = 1", None), []
    ok = f"FROM sessions WHERE subject = ? AND status = 'ok'{current}{'' if own is None else ' AND id <> ?'}"
    parts, parameters = [], []
    for side, (compare, sort) in enumerate(zip(sides, (f"{order.replace(',', ' DESC,')} DESC", order), strict=True)):
        if compare is not None:
            parts.append(f"SELECT * FROM (SELECT {side}, id, trainer_state, started_at {ok} AND {compare} "
                         f"ORDER BY {sort} LIMIT 1)")  # fmt: skip
            parameters += [subject, *([] if own is None else [own]), *place]
    next_recorded = None
    for side, row_id, state, started in db.execute(" UNION ALL ".join(parts), parameters):
        if side == 0:
            rows.last_ok = (decoded(state, "sessions", row_id, "trainer_state"), when(started))
        else:
            rows.next_ok, next_recorded = when(started), started
    return next_recorded
