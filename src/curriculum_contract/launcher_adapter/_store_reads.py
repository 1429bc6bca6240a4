"""Launch-time reads of the history store: a subject's starting state and history, from one read.

A SQLite store is read with the standard library's ``sqlite3`` (the same queries as SQLAlchemy's,
the same decoding), so a launch imports SQLAlchemy only to record its result, while the curriculum
runs. ``HistoryStore`` uses SQLAlchemy for every other URL; a test pins both readers to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ._errors import StoreError
from ._json import loads_column
from ._messages import store_cannot_open
from ._store_migrate import too_new
from ._store_schema import HISTORY_COLUMNS, HISTORY_CONTRACT_VERSION, SCHEMA_VERSION, SQLITE_BUSY_TIMEOUT_MS, aware


@dataclass
class SubjectRows:
    """One subject's rows the launch-time reads are computed from."""

    session_id: int | None = None
    session_input: dict[str, Any] | None = None
    ok_sessions: list[dict[str, Any]] = field(default_factory=list)
    last_ok: tuple[dict[str, Any], datetime] | None = None
    enrollment: tuple[dict[str, Any], datetime] | None = None

    def starting_state(self) -> dict[str, Any] | None:
        if self.session_input is not None:
            return dict(self.session_input)
        last, enrolled = self.last_ok, self.enrollment
        if last is not None and (enrolled is None or last[1] >= enrolled[1]):
            return dict(last[0])
        return dict(enrolled[0]) if enrolled is not None else None

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
            and (self.session_id is None or row["id"] < self.session_id)
        ]


def history_payload(subject: str, curriculum_name: str | None, entries: list[dict[str, Any]]) -> dict[str, Any]:
    sessions = [{**entry, "date": entry["date"].isoformat() if entry["date"] else None} for entry in entries]
    return {
        "contract_version": HISTORY_CONTRACT_VERSION,
        "subject_id": subject,
        "curriculum_name": curriculum_name,
        "first_session": not sessions,
        "sessions": sessions,
    }


def sqlite_file(url: str) -> Path | None:
    """The database file of a plain SQLite URL (``sqlite:///path``), else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or url[len(prefix) :] in ("", ":memory:"):
        return None
    return Path(url[len(prefix) :])


def read_sqlite(path: Path, subject: str, session: str | None, where: str, *, history: bool = True) -> SubjectRows:
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
            return _sqlite_queries(db, subject, session, where, history)
        finally:
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise StoreError(f"history store {where}: could not read the history of {subject!r}: {exc}") from exc
    finally:
        db.close()


def _sqlite_queries(db: Any, subject: str, session: str | None, where: str, history: bool) -> SubjectRows:
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
    if session is not None:
        mark = db.execute(
            "SELECT id, input_trainer_state FROM sessions WHERE subject = ? AND session = ?", (subject, session)
        ).fetchone()
        if mark is not None:
            rows.session_id, rows.session_input = mark[0], decoded(mark[1], "sessions", mark[0], "input_trainer_state")
    columns = ", ".join(HISTORY_COLUMNS)
    query = f"SELECT {columns} FROM sessions WHERE subject = ? AND status = 'ok' ORDER BY id"
    for row in db.execute(query, (subject,)) if history else ():
        record = dict(zip(HISTORY_COLUMNS, row, strict=True))
        record["metrics"] = decoded(record["metrics"], "sessions", record["id"], "metrics")
        record["started_at"] = when(record["started_at"])
        rows.ok_sessions.append(record)
    last = db.execute(
        "SELECT id, trainer_state, finished_at FROM sessions WHERE subject = ? AND status = 'ok' "
        "ORDER BY id DESC LIMIT 1",
        (subject,),
    ).fetchone()
    enrolled = db.execute(
        "SELECT id, trainer_state, created_at FROM enrollments WHERE subject = ? ORDER BY id DESC LIMIT 1", (subject,)
    ).fetchone()
    if last is not None:
        state = decoded(last[1], "sessions", last[0], "trainer_state")
        rows.last_ok = (state, when(last[2]))  # type: ignore[assignment]
    if enrolled is not None:
        state = decoded(enrolled[1], "enrollments", enrolled[0], "trainer_state")
        rows.enrollment = (state, when(enrolled[2]))  # type: ignore[assignment]
    return rows
