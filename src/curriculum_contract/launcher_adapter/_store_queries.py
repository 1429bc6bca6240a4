"""The history store's reads: a subject's starting point at launch, records for people and status pages.

A mixin of :class:`HistoryStore` (``_store``), which provides the connection (``_connect``), the
decoding (``_decoded``) and the SQLite fast path (``_sqlite_file``). Whole-store reads stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import StoreError
from ._store_reads import EVENT_COLUMNS, SubjectRows, history_payload, order_bound, read_sqlite
from ._store_schema import CURRENT, HISTORY_COLUMNS, INSTALL_HINT, aware, import_sqlalchemy, tables

if TYPE_CHECKING:
    import pandas as pd

    from ..sdk import History


@dataclass(frozen=True)
class LaunchStart:
    """Where a launch starts: the trainer state, the history document, and why (events)."""

    state: dict[str, Any] | None
    history: dict[str, Any]
    event: dict[str, Any] | None
    """The state-setting event (override, on-curriculum, stage-migration) the state comes from, if any."""
    off: dict[str, Any] | None
    """The off-curriculum event in effect: the subject is not run."""
    session_time: datetime | None = None
    """When the launched session ran: the time given, else the one recorded for it (a relaunch), else None."""


class StoreQueries:
    """The read methods of :class:`HistoryStore`."""

    where: str
    _sqlite_file: Path | None

    def _connect(self, action: str, *, write: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _decoded(self, table: Any, row: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _subject_rows(
        self, subject: str, session: str | None, *, history: bool = True, session_time: datetime | None = None
    ) -> SubjectRows:
        """What the launch-time reads need about one subject, from one consistent read.

        A SQLite store is read with the standard library's ``sqlite3`` (the same queries), so a
        launch imports SQLAlchemy only to record, while the curriculum runs; a test pins both readers
        to the same answers. ``history=False`` leaves the ok sessions out: the latest state alone is two index lookups.
        ``session_time``: when the launched session ran; its history and starting state are as of then.
        """
        if self._sqlite_file is not None:
            return read_sqlite(
                self._sqlite_file, subject, session, self.where, history=history, session_time=session_time
            )
        return self._read_core(subject, session, history=history, session_time=session_time)

    def _read_core(
        self, subject: str, session: str | None, *, history: bool = True, session_time: datetime | None = None
    ) -> SubjectRows:
        sa = import_sqlalchemy()
        t = tables()
        s, e = t["sessions"], t["enrollments"]
        rows = SubjectRows()
        with self._connect(f"read the history of {subject!r}", write=False) as conn:
            if session is not None:
                mark = conn.execute(
                    sa.select(*json_as_text(sa, s, "id", "input_trainer_state", "session_time")).where(
                        (s.c.subject == subject) & (s.c.session == session) & sa.text(CURRENT)
                    )
                ).first()
                if mark is not None:
                    marked = self._decoded(s, mark)
                    rows.session_id, rows.session_input = marked["id"], marked["input_trainer_state"]
                    rows.session_time = aware(marked["session_time"])
            bound = order_bound(rows, session_time)
            ok = (s.c.subject == subject) & (s.c.status == "ok") & sa.text(CURRENT)
            if history:
                query = sa.select(*json_as_text(sa, s, *HISTORY_COLUMNS)).where(ok).order_by(s.c.session_time, s.c.id)
                rows.ok_sessions = [self._decoded(s, row) for row in conn.execute(query)]
            next_recorded = self._neighbours(conn, rows, ok, bound)
            whose = e.c.subject == subject
            if next_recorded is not None:  # an enrollment recorded after the next session does not apply
                whose &= e.c.created_at < next_recorded
            enrolled = conn.execute(
                sa.select(*json_as_text(sa, e, "id", "trainer_state", "created_at"))
                .where(whose)
                .order_by(e.c.id.desc())
                .limit(1)
            ).first()
            ev = t["events"]
            query = sa.select(*json_as_text(sa, ev, *EVENT_COLUMNS)).where(ev.c.subject == subject).order_by(ev.c.id)
            rows.events = [self._decoded(ev, row) for row in conn.execute(query)]
        if enrolled is not None:
            rows.enrollment = (self._decoded(e, enrolled)["trainer_state"], aware(enrolled.created_at))
        for row in rows.ok_sessions:
            row["started_at"], row["session_time"] = aware(row["started_at"]), aware(row["session_time"])
        for event in rows.events:
            event["created_at"] = aware(event["created_at"])
        return rows

    def _neighbours(self, conn: Any, rows: SubjectRows, ok: Any, bound: tuple[datetime, int] | None) -> Any:
        """Fill ``last_ok`` and ``next_ok``: the ok sessions either side of the launched one (its own row left out),
        in one query (``_store_reads._sqlite_neighbours``). Returns the next one's ``started_at`` as read."""
        sa = import_sqlalchemy()
        s = tables()["sessions"]
        own = rows.session_id
        after = None
        if bound is not None:
            before = (s.c.session_time < bound[0]) | ((s.c.session_time == bound[0]) & (s.c.id < bound[1]))
            after = (s.c.session_time > bound[0]) | ((s.c.session_time == bound[0]) & (s.c.id > bound[1]))
        elif own is not None:  # recorded without a time: placed by id
            before, after = s.c.id < own, s.c.id > own
        else:  # a new session without a time: after every recorded one
            before = sa.true()
        if own is not None:
            ok &= s.c.id != own
        columns = json_as_text(sa, s, "id", "trainer_state", "started_at")
        sides = [(before, (s.c.session_time.desc(), s.c.id.desc())), (after, (s.c.session_time, s.c.id))]
        parts = [
            sa.select(
                sa.select(sa.literal_column(str(side)).label("side"), *columns)
                .where(ok & compare).order_by(*order).limit(1).subquery()
            )
            for side, (compare, order) in enumerate(sides)
            if compare is not None
        ]  # fmt: skip
        next_recorded = None
        for row in conn.execute(sa.union_all(*parts) if len(parts) > 1 else parts[0]):
            if row.side == 0:
                rows.last_ok = (self._decoded(s, row)["trainer_state"], aware(row.started_at))
            else:
                rows.next_ok, next_recorded = aware(row.started_at), row.started_at
        return next_recorded

    def latest_trainer_state(self, subject: str, *, session: str | None = None) -> dict[str, Any] | None:
        """The trainer state the subject starts its next session with, or None if unknown.

        The newest of: the suggestion of its latest ``ok`` session, and the enrollment and state-setting
        events recorded after it. ``session``: that session's start, at its place in the order (a relaunch).
        """
        return self._subject_rows(subject, session, history=False).starting_state()

    def history_entries(
        self, subject: str, curriculum_name: str | None = None, *, before_session: str | None = None
    ) -> list[dict[str, Any]]:
        """The subject's previous ``ok`` sessions, oldest first, as :class:`HistoryEntry` dicts.

        ``before_session`` leaves out that session and, if it was launched before, every later one.
        """
        return self._subject_rows(subject, before_session).history(curriculum_name, before_session)

    def starting_point(
        self, subject: str, *, session: str, session_time: datetime | None = None
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """For a launch, from one read: the starting trainer state and the history (JSON-ready) of its curriculum."""
        start = self.launch_start(subject, session=session, session_time=session_time)
        return start.state, start.history

    def launch_start(self, subject: str, *, session: str, session_time: datetime | None = None) -> LaunchStart:
        """:meth:`starting_point`, with the state-setting event it starts from and an off-curriculum event in effect.

        The starting state is the latest of the last ok session's suggestion before the session, and the
        enrollment and state-setting events (an override, a stage migration...) recorded after it and before
        the next ok session: docs/launcher.md, "Overrides". ``session_time`` (when the session ran): its place
        in the subject's order, for a late session too (docs/store.md, "Session order").
        """
        rows = self._subject_rows(subject, session, session_time=session_time)
        state = rows.starting_state()
        curriculum = ((state or {}).get("curriculum") or {}).get("name")
        history = history_payload(subject, curriculum, rows.history(curriculum, session), rows.history_events())
        return LaunchStart(state, history, rows.started_from(), rows.off_curriculum(), rows.session_time)

    def off_curriculum(self, subject: str) -> dict[str, Any] | None:
        """The off-curriculum event in effect for ``subject``, or None (it is on, or unknown)."""
        return self._subject_rows(subject, None, history=False).off_curriculum()

    def history_payload(
        self, subject: str, curriculum_name: str | None = None, *, before_session: str | None = None
    ) -> dict[str, Any]:
        """The contract's ``History`` document as JSON-ready data (see :meth:`history_document`)."""
        rows = self._subject_rows(subject, before_session)
        entries = rows.history(curriculum_name, before_session)
        return history_payload(subject, curriculum_name, entries, rows.history_events())

    def history_document(
        self, subject: str, curriculum_name: str | None = None, *, before_session: str | None = None
    ) -> History:
        """The contract's ``History`` of the subject: previous ``ok`` sessions, oldest first.

        A subject without any is an explicit first session (``History.first``).
        """
        from ..sdk import History

        return History.model_validate(self.history_payload(subject, curriculum_name, before_session=before_session))

    def subjects(self) -> list[str]:
        """Every subject the store knows (enrolled or launched), sorted."""
        sa = import_sqlalchemy()
        t = tables()
        query = sa.union(sa.select(t["enrollments"].c.subject), sa.select(t["sessions"].c.subject))
        with self._connect("list subjects", write=False) as conn:
            return sorted(row[0] for row in conn.execute(query))

    def session_rows(self, subject: str | None = None, *, superseded: bool = True) -> list[dict[str, Any]]:
        """Session records as plain dicts (JSON columns decoded), oldest first."""
        return list(self.iter_session_rows(subject, superseded=superseded))

    def iter_session_rows(
        self, subject: str | None = None, *, columns: Sequence[str] | None = None, batch: int = 500,
        superseded: bool = True,
    ) -> Iterator[dict[str, Any]]:  # fmt: skip
        """Session records oldest first, ``batch`` rows at a time (a server-side cursor on PostgreSQL).

        Only ``columns`` (default: all) are read and decoded: a whole-store read in bounded memory,
        without decoding the suggestions and trainer states it does not print. ``superseded=False``
        leaves out the rows a ``recompute`` replaced.
        """
        s = tables()["sessions"]
        times = ("started_at", "finished_at", "session_time")
        current = None if superseded else import_sqlalchemy().text(CURRENT)
        yield from self._stream(s, "read the sessions", subject, columns, batch, times, current)

    def events(self, subject: str | None = None) -> list[dict[str, Any]]:
        """Recorded events (re-enrollments, overrides, recoveries) as plain dicts, oldest first."""
        return list(self._stream(tables()["events"], "read the events", subject, None, 500, ("created_at",)))

    def _stream(
        self, table: Any, action: str, subject: str | None, columns: Sequence[str] | None, batch: int,
        times: tuple[str, ...], where: Any = None,
    ) -> Iterator[dict[str, Any]]:  # fmt: skip
        sa = import_sqlalchemy()
        query = sa.select(*json_as_text(sa, table, *(columns or ()))).order_by(table.c.id)
        if where is not None:
            query = query.where(where)
        if subject is not None:
            query = query.where(table.c.subject == subject)
        with self._connect(action, write=False) as conn:
            for row in conn.execution_options(yield_per=batch).execute(query):
                values = self._decoded(table, row)
                for key in times:
                    if key in values:
                        values[key] = aware(values[key])
                yield values

    def enrollment_state(self, subject: str) -> dict[str, Any] | None:
        """Where an enrolled subject stands now (its starting state), or None if the store knows nothing of it."""
        return self._subject_rows(subject, None, history=False).starting_state()

    def history(self, subject: str | None = None) -> pd.DataFrame:
        """Session records as a DataFrame, oldest first, one ``metrics.<name>`` column per scalar metric.

        The full suggestion and trainer states stay in the store (see :meth:`session_rows`).
        """
        try:
            import pandas as pd
        except ImportError:
            raise StoreError(f"history as a DataFrame needs pandas: {INSTALL_HINT}") from None
        columns = [
            "id", "subject", "session", "session_path", "status", "reason", "curriculum_name",
            "curriculum_version", "curriculum_commit", "dialect", "stage_before", "stage_after",
            "legacy", "attempts", "warnings", "started_at", "finished_at", "duration_s", "bootstrap_s",
            "run_s", "metrics",
        ]  # fmt: skip
        records = []
        for row in self.iter_session_rows(subject, columns=columns):
            record = {name: row[name] for name in columns}
            for key, value in (row["metrics"] or {}).items():
                if value is None or isinstance(value, bool | int | float | str):
                    record[f"metrics.{key}"] = value
            records.append(record)
        frame = pd.DataFrame.from_records(records, columns=None if records else columns)
        for key in ("started_at", "finished_at"):
            frame[key] = pd.to_datetime(frame[key], utc=True)
        return frame


_JSON_COLUMNS: dict[str, frozenset[str]] = {}


def json_columns(table: Any) -> frozenset[str]:
    """The names of ``table``'s JSON columns (computed once per table: every row read asks)."""
    names = _JSON_COLUMNS.get(table.name)
    if names is None:
        sa = import_sqlalchemy()
        names = _JSON_COLUMNS[table.name] = frozenset(c.name for c in table.columns if isinstance(c.type, sa.JSON))
    return names


def json_as_text(sa: Any, table: Any, *names: str) -> list[Any]:
    """``table``'s columns ``names`` (all by default) to select, each JSON one as its text.

    SQLAlchemy would decode a JSON column itself and a corrupt value would escape as a ``JSONDecodeError``;
    selected as text, :meth:`HistoryStore._decoded` decodes it with :func:`loads_column` (a ``StoreError``
    naming the table, the row and the column).
    """
    json_names = json_columns(table)
    columns = [table.c[name] for name in names] if names else list(table.columns)
    return [sa.type_coerce(c, sa.Text).label(c.name) if c.name in json_names else c for c in columns]
