"""The history store's tables and SQLite settings (SQLAlchemy Core, imported on first use)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._errors import StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

#: Version of the store's tables (``store_meta.schema_version``; the Alembic revision ``schema_<n>`` in
#: ``_migrations/versions``): a store written by a newer adapter is refused, an older one upgraded.
#: 1: release 0.2.0. 2: indexes for a subject's latest state and its history. 3: sessions ordered by
#: ``session_time``; recomputed decisions (``generation``, ``superseded_by``) keep the rows they replace.
SCHEMA_VERSION = 3
#: ``contract_version`` of the history documents the store writes (== ``sdk.CONTRACT_VERSION``; a test
#: pins it), so that feeding a session needs no pydantic import before the curriculum starts.
HISTORY_CONTRACT_VERSION = "1.1.0"
#: SQLite waits this long for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
INSTALL_HINT = "pip install 'curriculum-contract[launcher]'"


#: The session columns a subject's history is built from.
HISTORY_COLUMNS = (
    "id", "session", "curriculum_name", "stage_before", "stage_after", "metrics", "started_at", "session_time",
)  # fmt: skip
#: A session row that is the subject's current decision for its session (not replaced by a recomputation).
CURRENT = "superseded_by IS NULL"


def import_sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise StoreError(f"the history store needs SQLAlchemy: {INSTALL_HINT}") from None
    return sqlalchemy


_TABLES: dict[str, Any] = {}
_TABLES_LOCK = threading.Lock()


def tables() -> dict[str, Any]:
    """The store's tables, built once per process (SQLAlchemy is imported here)."""
    with _TABLES_LOCK:
        if _TABLES:
            return _TABLES
        sa = import_sqlalchemy()
        md = sa.MetaData()
        when = sa.DateTime(timezone=True)
        _TABLES["meta"] = sa.Table(
            "store_meta",
            md,
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.String(256), nullable=False),
        )
        _TABLES["enrollments"] = sa.Table(
            "enrollments",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("subject", sa.String(256), nullable=False, index=True),
            sa.Column("curriculum_name", sa.String(256)),
            sa.Column("curriculum_version", sa.String(128)),
            sa.Column("stage", sa.String(256)),
            sa.Column("trainer_state", sa.JSON, nullable=False),
            sa.Column("provenance", sa.JSON),
            sa.Column("created_at", when, nullable=False),
            sa.Index("ix_enrollments_subject_id", "subject", "id"),
        )
        _TABLES["sessions"] = sa.Table(
            "sessions",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("subject", sa.String(256), nullable=False),
            sa.Column("session", sa.String(512), nullable=False),
            sa.Column("session_path", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("reason", sa.Text),
            sa.Column("curriculum_name", sa.String(256)),
            sa.Column("curriculum_version", sa.String(128)),
            sa.Column("curriculum_commit", sa.String(64)),
            sa.Column("provenance", sa.JSON),
            sa.Column("dialect", sa.String(16)),
            sa.Column("stage_before", sa.String(256)),
            sa.Column("stage_after", sa.String(256)),
            sa.Column("metrics", sa.JSON),
            sa.Column("suggestion", sa.JSON),
            sa.Column("trainer_state", sa.JSON),
            sa.Column("input_trainer_state", sa.JSON),
            sa.Column("warnings", sa.JSON, nullable=False),
            sa.Column("legacy", sa.Boolean, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("started_at", when, nullable=False),
            sa.Column("finished_at", when, nullable=False),
            sa.Column("duration_s", sa.Float),
            sa.Column("bootstrap_s", sa.Float),
            sa.Column("run_s", sa.Float),
            # When the session ran (its metadata, else its directory's name, else the launch): the order of
            # a subject's sessions. Nullable only so that schema 3 could add it in place (backfilled).
            sa.Column("session_time", when),
            # 1: the launch's decision; n + 1: recomputed from generation n, which keeps its row.
            sa.Column("generation", sa.Integer, nullable=False, server_default="1"),
            sa.Column("superseded_by", sa.Integer),  # the row of the recomputed decision; NULL: current
            sa.UniqueConstraint("subject", "session", "generation", name="uq_sessions_subject_session_generation"),
            sa.CheckConstraint("status IN ('ok', 'skipped')", name="ck_sessions_status"),
            sa.Index("ix_sessions_subject_status_id", "subject", "status", "id"),
            # A subject's latest ok session (its state) and its ok history in session-time order, without a scan.
            sa.Index("ix_sessions_subject_status_time", "subject", "status", "session_time", "id"),
        )
        # Re-enrollments, overridden subject mismatches, recovered launches, recompute-needed / recomputed.
        _TABLES["events"] = sa.Table(
            "events",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("subject", sa.String(256), nullable=False, index=True),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("session", sa.String(512)),
            sa.Column("reason", sa.Text),
            sa.Column("detail", sa.JSON),
            sa.Column("created_at", when, nullable=False),
        )
        _TABLES["metadata"] = md
        return _TABLES


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def configure_sqlite(sa: Any, engine: Any) -> None:
    """WAL, a busy timeout and explicit transactions, so concurrent writers queue instead of failing."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()
        enable_wal(dbapi_connection)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads then writes cannot wait for the lock: take it up front.
        mode = "IMMEDIATE" if conn.get_execution_options().get("curriculum_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def enable_wal(
    db: sqlite3.Connection,
    timeout_s: float = SQLITE_BUSY_TIMEOUT_MS / 1000,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Put a SQLite file in WAL mode (once per file: a no-op after), retried until ``timeout_s`` has passed.

    The switch needs the file alone, and while another process opens or writes a fresh file (rigs or
    workers starting together) SQLite can refuse it at once, busy timeout or not ("database is locked").
    """
    deadline = clock() + timeout_s
    pause = 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            busy = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or clock() >= deadline:
                raise
        sleep(pause)
        pause = min(2 * pause, 0.05)


@contextmanager
def begin(engine: Any, *, write: bool) -> Iterator[sa.Connection]:
    """A transaction: SQLite's write lock up front for a write; one snapshot for a PostgreSQL read."""
    with engine.connect() as conn:
        conn.execution_options(curriculum_write=write)
        if not write and engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
