"""The store's schema version on open: current goes on, newer is refused, older is upgraded (Alembic).

Opening a store reads ``store_meta.schema_version`` (no Alembic import when it is current). An empty
database gets the newest schema. An older store is upgraded in place, in one transaction, when the
caller allows it: a SQLite file (one rig's own store) is upgraded by whichever command opens it, after a
copy of it is kept beside it; a shared server only by ``curriculum-contract store upgrade``, so that one
rig's newer release never changes the store under the other rigs without the lab deciding it.
Upgrades of one store are serialized: SQLite's write lock, a PostgreSQL transaction-level advisory lock.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ._errors import StoreError
from ._store_schema import SCHEMA_VERSION, begin, import_sqlalchemy

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("_migrations")
#: ``pg_advisory_xact_lock`` key of schema changes (any constant no subject lock can take: those are
#: in the two-key space, see ``_store_pg``).
SCHEMA_LOCK_KEY = 0x63632D736368656D  # "cc-schem"


def revision(version: int) -> str:
    return f"schema_{version}"


def too_new(where: str, version: int) -> StoreError:
    return StoreError(
        f"history store {where} has schema version {version}, newer than this curriculum-contract's "
        f"{SCHEMA_VERSION}: upgrade curriculum-contract on this rig (the store is left as it is)"
    )


def too_old(where: str, version: int, store_option: str) -> StoreError:
    return StoreError(
        f"history store {where} has schema version {version}, older than this curriculum-contract's "
        f"{SCHEMA_VERSION}: run `curriculum-contract store upgrade --store {store_option}` once "
        "(every rig then needs this release)"
    )


def stored_version(sa: Any, conn: Any) -> int | None:
    """The store's schema version; None for a database without the store's tables."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("sessions"):
        return None
    if not inspector.has_table("store_meta"):
        return 1
    row = conn.execute(sa.text("SELECT value FROM store_meta WHERE key = 'schema_version'")).first()
    try:
        return int(row[0]) if row is not None else 1
    except ValueError:
        raise StoreError(f"store_meta.schema_version is {row[0]!r}, not a number") from None


def schema_version(engine: Any) -> int | None:
    """The schema version of the store behind ``engine`` (None: no store there yet)."""
    sa = import_sqlalchemy()
    with begin(engine, write=False) as conn:
        return stored_version(sa, conn)


def prepare(
    engine: Any, where: str, *, upgrade: bool, store_option: str, sqlite_file: Path | None = None
) -> int | None:
    """Make the store current: create an empty one, upgrade an older one if ``upgrade``, refuse a newer one.

    Returns the version it had (None: created). A SQLite file is copied first (:func:`backup_path`).
    """
    sa = import_sqlalchemy()
    version = schema_version(engine)
    if version == SCHEMA_VERSION:
        return version
    if version is not None and version > SCHEMA_VERSION:
        raise too_new(where, version)
    if version is not None and not upgrade:
        raise too_old(where, version, store_option)
    with begin(engine, write=True) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
        version = stored_version(sa, conn)  # again, under the lock: another process may have done it
        if version is not None and version >= SCHEMA_VERSION:
            if version > SCHEMA_VERSION:
                raise too_new(where, version)
            return version
        if version is not None and sqlite_file is not None:
            _copy_sqlite(sqlite_file, backup_path(sqlite_file, version))
        _migrate(sa, conn, version)
    if version is not None:
        logger.info("history store %s upgraded from schema version %s to %s", where, version, SCHEMA_VERSION)
    return version


def _migrate(sa: Any, conn: Any, version: int | None) -> None:
    try:
        from alembic import command
        from alembic.config import Config
    except ImportError:
        from ._store_schema import INSTALL_HINT

        raise StoreError(f"creating or upgrading the history store needs Alembic: {INSTALL_HINT}") from None
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    if version is not None and not sa.inspect(conn).has_table("alembic_version"):
        command.stamp(config, revision(version))  # written by 0.2.0, before Alembic: its tables are schema 1
    command.upgrade(config, revision(SCHEMA_VERSION))


def backup_path(sqlite_file: Path, version: int) -> Path:
    """Where a SQLite store's copy goes before its upgrade from ``version``."""
    return sqlite_file.with_name(f"{sqlite_file.name}.schema-{version}.bak")


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of the store (SQLite's backup API: our transaction holds the write lock, WAL lets us read)."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
