"""The history store's writes: enrollments, sessions, events, recomputed decisions (one transaction each).

A mixin of :class:`HistoryStore` (``_store``), which provides the connection (``_connect``) and the
store's name in messages (``where``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ._errors import StoreError
from ._store_schema import CURRENT, import_sqlalchemy, tables

Status = Literal["ok", "skipped"]


def now() -> datetime:
    """The store's clock: aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionRecord:
    """One launch of the curriculum for one session, ok or skipped."""

    subject: str
    session: str
    session_path: str
    status: Status
    started_at: datetime
    finished_at: datetime
    reason: str | None = None
    curriculum_name: str | None = None
    curriculum_version: str | None = None
    curriculum_commit: str | None = None
    provenance: Mapping[str, Any] | None = None
    dialect: str | None = None
    stage_before: str | None = None
    stage_after: str | None = None
    metrics: Mapping[str, Any] | None = None
    suggestion: Mapping[str, Any] | None = None
    trainer_state: Mapping[str, Any] | None = None
    input_trainer_state: Mapping[str, Any] | None = None
    warnings: Sequence[str] = field(default_factory=tuple)
    legacy: bool = False
    duration_s: float | None = None
    bootstrap_s: float | None = None
    run_s: float | None = None
    #: When the session ran (``_session_time``); None: ``started_at``.
    session_time: datetime | None = None


def stage_name(trainer_state: Mapping[str, Any] | None) -> str | None:
    """The stage name of a trainer state (a JSON object), if it has one."""
    stage = (trainer_state or {}).get("stage")
    return stage.get("name") if isinstance(stage, Mapping) else None


class StoreWrites:
    """The write methods of :class:`HistoryStore`."""

    where: str

    def _connect(self, action: str, *, write: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def record_event(
        self,
        subject: str,
        kind: str,
        *,
        session: str | None = None,
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Record what changed a subject's course besides a session (``events`` table). Returns its id."""
        with self._connect(f"record a {kind} event of {subject!r}", write=True) as conn:
            return _insert_event(conn, subject, kind, session, reason, detail)

    def record_events(self, kind: str, events: Sequence[tuple[str, str | None, Mapping[str, Any]]]) -> list[int]:
        """Record one ``kind`` of event for many subjects, ``(subject, reason, detail)`` each: all or none.

        One transaction, so a bulk change (``migrate --all``) never leaves half the subjects changed.
        """
        with self._connect(f"record {len(events)} {kind} event(s)", write=True) as conn:
            return [_insert_event(conn, subject, kind, None, reason, detail) for subject, reason, detail in events]

    def record_enrollment(
        self,
        subject: str,
        trainer_state: Mapping[str, Any],
        *,
        curriculum_name: str | None = None,
        curriculum_version: str | None = None,
        stage: str | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> int:
        """Store a subject's enrollment; its state is where the next session starts. Returns its id."""
        sa = import_sqlalchemy()
        table = tables()["enrollments"]
        values = {
            "subject": subject,
            "curriculum_name": curriculum_name,
            "curriculum_version": curriculum_version,
            "stage": stage if stage is not None else stage_name(trainer_state),
            "trainer_state": dict(trainer_state),
            "provenance": dict(provenance) if provenance is not None else None,
            "created_at": now(),
        }
        with self._connect(f"record the enrollment of {subject!r}", write=True) as conn:
            return int(conn.execute(sa.insert(table).values(**values)).inserted_primary_key[0])

    def record_session(self, record: SessionRecord) -> int:
        """Store one launch; a repeated launch of the same session replaces its row. Returns the id."""
        sa = import_sqlalchemy()
        table = tables()["sessions"]
        values = asdict(record)
        values["warnings"] = list(record.warnings)
        values["session_time"] = record.session_time or record.started_at
        for key in ("provenance", "metrics", "suggestion", "trainer_state", "input_trainer_state"):
            if values[key] is not None:
                values[key] = dict(values[key])
        key = (table.c.subject == record.subject) & (table.c.session == record.session) & sa.text(CURRENT)
        action = f"record session {record.session!r} of {record.subject!r}"
        for attempt in range(3):
            try:
                with self._connect(action, write=True) as conn:
                    row = conn.execute(sa.select(table.c.id, table.c.attempts).where(key)).first()
                    if row is None:
                        result = conn.execute(sa.insert(table).values(attempts=1, **values))
                        return int(result.inserted_primary_key[0])
                    conn.execute(
                        sa.update(table).where(table.c.id == row.id).values(attempts=row.attempts + 1, **values)
                    )
                    return int(row.id)
            except StoreError as exc:
                # Two servers' clients inserting the same new session: the loser retries as an update.
                if attempt == 2 or not isinstance(exc.__cause__, sa.exc.IntegrityError):
                    raise
        raise AssertionError("unreachable")

    def record_recomputation(
        self, subject: str, decisions: Sequence[tuple[int, Mapping[str, Any]]], *, detail: Mapping[str, Any]
    ) -> list[int]:
        """In one transaction: each ``(row id, new values)`` becomes a new generation of that session's row
        (the old row kept, ``superseded_by`` the new one), and a ``recomputed`` event clears the subject's
        recompute marker. Returns the new rows' ids.
        """
        sa = import_sqlalchemy()
        s, events = tables()["sessions"], tables()["events"]
        new_ids: list[int] = []
        with self._connect(f"record the recomputation of {subject!r}", write=True) as conn:
            ids = [row_id for row_id, _ in decisions]
            olds = {row.id: row for row in conn.execute(sa.select(s).where(s.c.id.in_(ids) & sa.text(CURRENT)))}
            for row_id, values in decisions:
                old = olds.get(row_id)
                if old is None or old.subject != subject:
                    raise StoreError(
                        f"history store {self.where}: session row {row_id} of {subject!r} changed during the "
                        "recomputation: nothing recorded (run recompute again)"
                    )
                copy = {k: v for k, v in old._mapping.items() if k not in ("id", "superseded_by")}
                copy.update(values, generation=old.generation + 1)
                new_id = int(conn.execute(sa.insert(s).values(**copy)).inserted_primary_key[0])
                conn.execute(sa.update(s).where(s.c.id == row_id).values(superseded_by=new_id))
                new_ids.append(new_id)
            conn.execute(
                sa.insert(events).values(
                    subject=subject, kind="recomputed", session=detail.get("from"), reason=None,
                    detail={**detail, "rows": new_ids}, created_at=now(),
                )
            )  # fmt: skip
        return new_ids


def _insert_event(
    conn: Any, subject: str, kind: str, session: str | None, reason: str | None, detail: Mapping[str, Any] | None
) -> int:
    sa = import_sqlalchemy()
    values = {
        "subject": subject, "kind": kind, "session": session, "reason": reason,
        "detail": dict(detail) if detail is not None else None, "created_at": now(),
    }  # fmt: skip
    return int(conn.execute(sa.insert(tables()["events"]).values(**values)).inserted_primary_key[0])
