"""The history store: enrollments and launched sessions, through SQLAlchemy Core.

A plain path means a SQLite file there; any SQLAlchemy URL works, so a PostgreSQL server shared by
many rigs can follow without a rewrite. Three tables::

    store_meta   key, value                      (schema_version)
    enrollments  one row per ``enroll``: subject, curriculum, stage, trainer_state, created_at
    sessions     one row per (subject, session): what the curriculum said, or why it was skipped
    events       what changed a subject's course besides a session: a re-enrollment (the old state
                 kept), an overridden subject mismatch, a recovered launch

A repeated launch for the same session updates its row in one transaction: **the latest attempt
wins** (``attempts`` counts them) and the row keeps its id, so sessions stay in the order they were
first launched. SQLite runs in WAL mode with a busy timeout and takes its write lock up front
(``BEGIN IMMEDIATE``), so launches for different subjects from several processes queue instead of
failing. The launch-time reads of a SQLite store use the standard library (``_store_reads``);
SQLAlchemy (and pandas, for :meth:`HistoryStore.history`) are imported on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._errors import StoreError
from ._json import loads_column
from ._lock import store_lock_dir, subject_lock
from ._messages import store_cannot_open
from ._store_reads import SubjectRows, history_payload, read_sqlite, sqlite_file
from ._store_schema import (
    HISTORY_COLUMNS,
    INSTALL_HINT,
    SCHEMA_VERSION,
    aware,
    begin,
    configure_sqlite,
    import_sqlalchemy,
    tables,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..sdk import History

Status = Literal["ok", "skipped"]


def store_url(value: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for ``value``: a URL is kept, a plain path becomes a SQLite file there."""
    text = os.fspath(value)
    if "://" in text:
        return text
    return "sqlite:///" + Path(text).expanduser().resolve().as_posix()


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


def stage_name(trainer_state: Mapping[str, Any] | None) -> str | None:
    """The stage name of a trainer state (a JSON object), if it has one."""
    stage = (trainer_state or {}).get("stage")
    return stage.get("name") if isinstance(stage, Mapping) else None


class HistoryStore:
    """Enrollments and session records of subjects; safe to share between processes."""

    def __init__(self, url: str | os.PathLike[str]) -> None:
        self.url = store_url(url)
        self._sqlite_file = sqlite_file(self.url)
        self._engine: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HistoryStore({self.where!r})"

    @property
    def where(self) -> str:
        """The store's location for messages: the SQLite file, or the URL without its password."""
        if self.url.startswith("sqlite:///"):
            return self.url[len("sqlite:///") :]
        if self._engine is not None:
            return self._engine.url.render_as_string(hide_password=True)
        return self.url.split("@", 1)[-1] if "@" in self.url else self.url

    # -- connection -------------------------------------------------------------------------
    def _error(self, action: str, exc: BaseException) -> StoreError:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        if action == "open it":
            return StoreError(store_cannot_open(self.where, detail))
        return StoreError(f"history store {self.where}: could not {action}: {detail}")

    def _decoded(self, table: Any, row: Any) -> dict[str, Any]:
        """``row`` (selected with :func:`_json_as_text`) as a dict, every JSON column decoded (``StoreError``)."""
        values = dict(row._mapping)
        for name in values.keys() & _json_columns(table):
            values[name] = loads_column(
                values[name], where=self.where, table=table.name, row=values.get("id", "?"), column=name
            )
        return values

    def _engine_ready(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
            return self._engine

    def _create_engine(self) -> Any:
        sa = import_sqlalchemy()
        try:
            engine = sa.create_engine(self.url)
        except Exception as exc:  # bad URL, missing driver
            raise self._error("open it", exc) from exc
        if engine.dialect.name == "sqlite":
            configure_sqlite(sa, engine)
        try:
            self._create_schema(sa, engine)
        except StoreError:
            engine.dispose()
            raise
        except Exception as exc:
            engine.dispose()
            raise self._error("open it", exc) from exc
        return engine

    def _create_schema(self, sa: Any, engine: Any) -> None:
        """Create the tables if missing; idempotent and safe when several processes race."""
        from sqlalchemy.schema import CreateIndex, CreateTable

        t = tables()
        with begin(engine, write=True) as conn:
            for name in ("meta", "enrollments", "sessions", "events"):
                conn.execute(CreateTable(t[name], if_not_exists=True))
                for index in t[name].indexes:
                    conn.execute(CreateIndex(index, if_not_exists=True))
            meta = t["meta"]
            row = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first()
            if row is None:
                conn.execute(sa.insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"history store {self.where} has schema version {row[0]}; "
                    f"this adapter reads up to {SCHEMA_VERSION}: upgrade curriculum-contract"
                )

    @contextmanager
    def _connect(self, action: str, *, write: bool) -> Iterator[Any]:
        engine = self._engine_ready()
        try:
            with begin(engine, write=write) as conn:
                yield conn
        except StoreError:
            raise
        except Exception as exc:
            sa = import_sqlalchemy()
            if isinstance(exc, sa.exc.SQLAlchemyError | engine.dialect.loaded_dbapi.Error):
                raise self._error(action, exc) from exc
            raise

    def close(self) -> None:
        """Release pooled connections."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def subject_lock(self, subject: str, *, wait_s: float) -> AbstractContextManager[None]:
        """Hold ``subject`` for a "read history, run, record" (``SubjectBusy`` past ``wait_s``).

        A SQLite store locks a file per subject in ``<store>.locks/``. Other URLs have no lock here yet:
        the hook for PostgreSQL advisory locks (``pg_advisory_lock``) is this method.
        """
        lock_dir = store_lock_dir(self._sqlite_file)
        if lock_dir is None:
            return nullcontext()
        return subject_lock(lock_dir, subject, wait_s=wait_s)

    # -- writes -----------------------------------------------------------------------------
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
        sa = import_sqlalchemy()
        table = tables()["events"]
        values = {
            "subject": subject,
            "kind": kind,
            "session": session,
            "reason": reason,
            "detail": dict(detail) if detail is not None else None,
            "created_at": now(),
        }
        with self._connect(f"record a {kind} event of {subject!r}", write=True) as conn:
            return int(conn.execute(sa.insert(table).values(**values)).inserted_primary_key[0])

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
        for key in ("provenance", "metrics", "suggestion", "trainer_state", "input_trainer_state"):
            if values[key] is not None:
                values[key] = dict(values[key])
        key = (table.c.subject == record.subject) & (table.c.session == record.session)
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

    # -- reads ------------------------------------------------------------------------------
    def _subject_rows(self, subject: str, session: str | None) -> SubjectRows:
        """What the launch-time reads need about one subject, from one consistent read.

        A SQLite store is read with the standard library's ``sqlite3`` (the same four queries), so a
        launch imports SQLAlchemy only to record, while the curriculum runs; a test pins both readers
        to the same answers.
        """
        if self._sqlite_file is not None:
            return read_sqlite(self._sqlite_file, subject, session, self.where)
        return self._read_core(subject, session)

    def _read_core(self, subject: str, session: str | None) -> SubjectRows:
        sa = import_sqlalchemy()
        t = tables()
        s, e = t["sessions"], t["enrollments"]
        rows = SubjectRows()
        with self._connect(f"read the history of {subject!r}", write=False) as conn:
            if session is not None:
                mark = conn.execute(
                    sa.select(*_json_as_text(sa, s, "id", "input_trainer_state")).where(
                        (s.c.subject == subject) & (s.c.session == session)
                    )
                ).first()
                if mark is not None:
                    marked = self._decoded(s, mark)
                    rows.session_id, rows.session_input = marked["id"], marked["input_trainer_state"]
            ok = (s.c.subject == subject) & (s.c.status == "ok")
            rows.ok_sessions = [
                self._decoded(s, row)
                for row in conn.execute(sa.select(*_json_as_text(sa, s, *HISTORY_COLUMNS)).where(ok).order_by(s.c.id))
            ]
            last = conn.execute(
                sa.select(*_json_as_text(sa, s, "id", "trainer_state", "finished_at"))
                .where(ok)
                .order_by(s.c.id.desc())
                .limit(1)
            ).first()
            enrolled = conn.execute(
                sa.select(*_json_as_text(sa, e, "id", "trainer_state", "created_at"))
                .where(e.c.subject == subject)
                .order_by(e.c.id.desc())
                .limit(1)
            ).first()
        if last is not None:
            rows.last_ok = (self._decoded(s, last)["trainer_state"], aware(last.finished_at))
        if enrolled is not None:
            rows.enrollment = (self._decoded(e, enrolled)["trainer_state"], aware(enrolled.created_at))
        for row in rows.ok_sessions:
            row["started_at"] = aware(row["started_at"])
        return rows

    def latest_trainer_state(self, subject: str, *, session: str | None = None) -> dict[str, Any] | None:
        """The trainer state the subject starts its next session with, or None if unknown.

        The newest of: the subject's latest enrollment, and the suggestion of its latest ``ok``
        session. A session launched before (``session``) starts again from the state it started from.
        """
        return self._subject_rows(subject, session).starting_state()

    def history_entries(
        self, subject: str, curriculum_name: str | None = None, *, before_session: str | None = None
    ) -> list[dict[str, Any]]:
        """The subject's previous ``ok`` sessions, oldest first, as :class:`HistoryEntry` dicts.

        ``before_session`` leaves out that session and, if it was launched before, every later one.
        """
        return self._subject_rows(subject, before_session).history(curriculum_name, before_session)

    def starting_point(self, subject: str, *, session: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """For a launch, from one read: the starting trainer state and the history (JSON-ready) of its curriculum."""
        rows = self._subject_rows(subject, session)
        state = rows.starting_state()
        curriculum = ((state or {}).get("curriculum") or {}).get("name")
        return state, history_payload(subject, curriculum, rows.history(curriculum, session))

    def history_payload(
        self, subject: str, curriculum_name: str | None = None, *, before_session: str | None = None
    ) -> dict[str, Any]:
        """The contract's ``History`` document as JSON-ready data (see :meth:`history_document`)."""
        entries = self.history_entries(subject, curriculum_name, before_session=before_session)
        return history_payload(subject, curriculum_name, entries)

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

    def session_rows(self, subject: str | None = None) -> list[dict[str, Any]]:
        """Session records as plain dicts (JSON columns decoded), oldest first."""
        sa = import_sqlalchemy()
        s = tables()["sessions"]
        query = sa.select(*_json_as_text(sa, s)).order_by(s.c.id)
        if subject is not None:
            query = query.where(s.c.subject == subject)
        with self._connect("read the sessions", write=False) as conn:
            rows = [self._decoded(s, row) for row in conn.execute(query)]
        for row in rows:
            for key in ("started_at", "finished_at"):
                row[key] = aware(row[key])
        return rows

    def events(self, subject: str | None = None) -> list[dict[str, Any]]:
        """Recorded events (re-enrollments, overrides, recoveries) as plain dicts, oldest first."""
        sa = import_sqlalchemy()
        e = tables()["events"]
        query = sa.select(*_json_as_text(sa, e)).order_by(e.c.id)
        if subject is not None:
            query = query.where(e.c.subject == subject)
        with self._connect("read the events", write=False) as conn:
            rows = [self._decoded(e, row) for row in conn.execute(query)]
        for row in rows:
            row["created_at"] = aware(row["created_at"])
        return rows

    def enrollment_state(self, subject: str) -> dict[str, Any] | None:
        """Where an enrolled subject stands now (its starting state), or None if the store knows nothing of it."""
        return self._subject_rows(subject, None).starting_state()

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
        for row in self.session_rows(subject):
            record = {name: row[name] for name in columns}
            for key, value in (row["metrics"] or {}).items():
                if value is None or isinstance(value, bool | int | float | str):
                    record[f"metrics.{key}"] = value
            records.append(record)
        frame = pd.DataFrame.from_records(records, columns=None if records else columns)
        for key in ("started_at", "finished_at"):
            frame[key] = pd.to_datetime(frame[key], utc=True)
        return frame


def _json_columns(table: Any) -> set[str]:
    """The names of ``table``'s JSON columns."""
    sa = import_sqlalchemy()
    return {column.name for column in table.columns if isinstance(column.type, sa.JSON)}


def _json_as_text(sa: Any, table: Any, *names: str) -> list[Any]:
    """``table``'s columns ``names`` (all by default) to select, each JSON one as its text.

    SQLAlchemy would decode a JSON column itself and a corrupt value would escape as a ``JSONDecodeError``;
    selected as text, :meth:`HistoryStore._decoded` decodes it with :func:`loads_column` (a ``StoreError``
    naming the table, the row and the column).
    """
    json_names = _json_columns(table)
    columns = [table.c[name] for name in names] if names else list(table.columns)
    return [sa.type_coerce(c, sa.Text).label(c.name) if c.name in json_names else c for c in columns]
