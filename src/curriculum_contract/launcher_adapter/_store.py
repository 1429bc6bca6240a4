"""The history store: enrollments and launched sessions, through SQLAlchemy Core.

A plain path means a SQLite file there (one rig); a ``postgresql+psycopg://`` URL a server every rig of
a lab shares (docs/store.md). Four tables, their schema versioned and upgraded with Alembic
(``_store_migrate``)::

    store_meta   key, value                      (schema_version)
    enrollments  one row per ``enroll``: subject, curriculum, stage, trainer_state, created_at
    sessions     one row per (subject, session): what the curriculum said, or why it was skipped
    events       what changed a subject's course besides a session: a re-enrollment (the old state
                 kept), an overridden subject mismatch, a recovered launch

A repeated launch for the same session updates its row in one transaction: **the latest attempt
wins** (``attempts`` counts them) and the row keeps its id. A subject's sessions are in the order they
ran (``session_time``, then id), not the order they arrived. ``recompute`` keeps the rows it replaces
(``superseded_by``): only a session's current row (its newest ``generation``) counts.

SQLite runs in WAL mode with a busy timeout and takes its write lock up front (``BEGIN IMMEDIATE``), so
launches for different subjects from several processes queue instead of
failing. The launch-time reads of a SQLite store use the standard library (``_store_reads``);
SQLAlchemy (and pandas, for :meth:`HistoryStore.history`) are imported on first use. On PostgreSQL
the per-subject lock is an advisory lock (``_store_pg``). The reads are in ``_store_queries``, the
writes in ``_store_writes``.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from ._errors import StoreError, StoreUnreachable
from ._json import loads_column
from ._lock import store_lock_dir, subject_lock
from ._messages import store_cannot_open
from ._store_pg import advisory_subject_lock, is_unreachable, split_password, with_password
from ._store_queries import StoreQueries, json_as_text, json_columns
from ._store_reads import sqlite_file
from ._store_schema import SCHEMA_VERSION, begin, configure_sqlite, import_sqlalchemy
from ._store_writes import SessionRecord, StoreWrites, now, stage_name

__all__ = ["HistoryStore", "SessionRecord", "json_as_text", "now", "stage_name", "store_url"]
_json_columns = json_columns  # the name the JSON-column tests import


def store_url(value: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for ``value``: a URL is kept, a plain path becomes a SQLite file there."""
    text = os.fspath(value)
    if "://" in text:
        return text
    return "sqlite:///" + Path(text).expanduser().resolve().as_posix()


class HistoryStore(StoreWrites, StoreQueries):
    """Enrollments and session records of subjects; safe to share between processes and rigs.

    ``upgrade``: upgrade a store of an older schema version on open. By default a SQLite file is (a
    copy kept beside it), a server's store is refused until ``curriculum-contract store upgrade``.
    """

    def __init__(self, url: str | os.PathLike[str], *, upgrade: bool | None = None) -> None:
        #: The store's URL without its password: safe to print, log and write into journals.
        self.url, self._password = split_password(store_url(url))
        self._sqlite_file = sqlite_file(self.url)
        self._upgrade = self._sqlite_file is not None if upgrade is None else upgrade
        self._engine: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HistoryStore({self.where!r})"

    @property
    def sqlite_file(self) -> Path | None:
        """The database file of a SQLite store, else None."""
        return self._sqlite_file

    @property
    def where(self) -> str:
        """The store's location for messages: the SQLite file, or the URL without its password."""
        if self.url.startswith("sqlite:///"):
            return self.url[len("sqlite:///") :]
        return self.url.split("@", 1)[-1] if "@" in self.url else self.url

    # -- connection -------------------------------------------------------------------------
    def _error(self, action: str, exc: BaseException) -> StoreError:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        if self._password:  # a driver's message may quote the URL it was given
            from urllib.parse import unquote

            for secret in {self._password, unquote(self._password)}:
                detail = detail.replace(secret, "***")
        kind = StoreUnreachable if is_unreachable(exc) else StoreError  # offline rigs: _rig_store decides offline
        if action == "open it":
            return kind(store_cannot_open(self.where, detail))
        return kind(f"history store {self.where}: could not {action}: {detail}")

    def _decoded(self, table: Any, row: Any) -> dict[str, Any]:
        """``row`` (selected with :func:`json_as_text`) as a dict, every JSON column decoded (``StoreError``)."""
        values = dict(row._mapping)
        for name in json_columns(table).intersection(values):
            values[name] = loads_column(
                values[name], where=self.where, table=table.name, row=values.get("id", "?"), column=name
            )
        return values

    def _engine_ready(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
                # A store dropped without close() still closes its pooled connections (a server counts them).
                self._release = weakref.finalize(self, self._engine.dispose)
            return self._engine

    def _new_engine(self, **options: Any) -> Any:
        sa = import_sqlalchemy()
        try:
            engine = sa.create_engine(with_password(self.url, self._password), **options)
        except Exception as exc:  # bad URL, missing driver (the message may quote the URL: masked)
            raise self._error("open it", exc) from None
        if engine.dialect.name == "sqlite":
            configure_sqlite(sa, engine)
        return engine

    def _prepared(self, engine: Any, *, upgrade: bool) -> int | None:
        """``_store_migrate.prepare`` on ``engine``; disposes of it on failure."""
        from ._store_migrate import prepare

        try:
            option = self.where if self._sqlite_file is not None else self.url
            return prepare(engine, self.where, upgrade=upgrade, store_option=option, sqlite_file=self._sqlite_file)
        except StoreError:
            engine.dispose()
            raise
        except Exception as exc:
            engine.dispose()
            raise self._error("open it", exc) from exc

    def _create_engine(self) -> Any:
        engine = self._new_engine(pool_pre_ping=self._sqlite_file is None)
        self._prepared(engine, upgrade=self._upgrade)
        return engine

    def schema_version(self) -> int | None:
        """The store's schema version (None: nothing there yet), without creating or upgrading it."""
        from ._store_migrate import schema_version

        if self._sqlite_file is not None and not self._sqlite_file.is_file():
            return None
        engine = self._new_engine()
        try:
            return schema_version(engine)
        except StoreError:
            raise
        except Exception as exc:
            raise self._error("open it", exc) from exc
        finally:
            engine.dispose()

    def upgrade(self) -> tuple[int | None, int]:
        """Bring the store to this release's schema in place (creating it if empty): (version before, after)."""
        self.close()
        engine = self._new_engine()
        before = self._prepared(engine, upgrade=True)
        engine.dispose()
        return before, SCHEMA_VERSION

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
                raise self._error(action, exc) from exc  # record_session retries on an IntegrityError cause
            raise

    def close(self) -> None:
        """Release pooled connections."""
        with self._lock:
            if self._engine is not None:
                self._release()
                self._engine = None

    def pending_conflicts(self, subject: str) -> list[str]:
        """Offline rigs' queued decisions of ``subject`` that conflict and are not resolved yet (``_sync``)."""
        from ._sync import pending_conflicts

        return pending_conflicts(self, subject)

    def subject_lock(self, subject: str, *, wait_s: float) -> AbstractContextManager[None]:
        """Hold ``subject`` for a "read history, run, record" (``SubjectBusy`` past ``wait_s``).

        A SQLite store locks a file per subject in ``<store>.locks/``; a PostgreSQL store takes an
        advisory lock on the server, so launchers on different rigs serialize too. Other URLs: none.
        """
        lock_dir = store_lock_dir(self._sqlite_file)
        if lock_dir is not None:
            return subject_lock(lock_dir, subject, wait_s=wait_s)
        engine = self._engine_ready()
        if engine.dialect.name == "postgresql":
            return advisory_subject_lock(engine, self.where, subject, wait_s=wait_s, error=self._error)
        return nullcontext()
