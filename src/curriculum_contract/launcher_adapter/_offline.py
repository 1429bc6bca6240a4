"""The rig's own cache of a shared store: each subject's last known starting point, and an outbox.

One SQLite file per (rig, shared store), standard library only, WAL with ``synchronous=FULL`` (a write
returns once it is on disk)::

    subjects  subject, start (the LaunchStart a new session of it would get: state, history, event, off),
              base (a digest of the store's starting point it was copied from), cached_at,
              last_session, last_input (so a relaunch of the last session starts where it started)
    outbox    seq, subject, session, kind ('session' | 'event'), payload (the record, as JSON),
              base (the store's starting point the decision was made from; NULL: follows the previous
              entry of its subject), state ('queued' | 'conflict' | 'pushed' | 'dropped'), queued_at,
              note, pushed_at

Every record a launch makes against a shared store is written here first (the commit point stands in
for the store's), then pushed; a pushed entry is kept (``pushed``) so a killed launch's journal can be
matched against it later, and pruned after ``KEEP_PUSHED_DAYS``. No password is ever stored: the file
is named by a digest of the store's URL *without* its password.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ._errors import StoreError
from ._store import SessionRecord, now
from ._store_schema import enable_wal

#: Where the rig keeps its cache of a shared store (a file path), instead of the default.
CACHE_ENVVAR = "CURRICULUM_CONTRACT_CACHE"
#: How long a pushed outbox entry is kept (to match a killed launch's journal against it).
KEEP_PUSHED_DAYS = 30
_TIMES = ("started_at", "finished_at", "session_time")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    subject TEXT PRIMARY KEY, start TEXT NOT NULL, base TEXT, cached_at TEXT NOT NULL,
    last_session TEXT, last_input TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, session TEXT, kind TEXT NOT NULL,
    payload TEXT NOT NULL, base TEXT, state TEXT NOT NULL, queued_at TEXT NOT NULL, note TEXT, pushed_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, subject, seq);
"""


def default_cache_path(url_without_password: str) -> Path:
    """``$CURRICULUM_CONTRACT_CACHE``, else ``~/.cache/curriculum-contract/rig-<digest of the URL>.sqlite``."""
    if explicit := os.environ.get(CACHE_ENVVAR):
        return Path(explicit).expanduser()
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(url_without_password.encode()).hexdigest()[:16]
    return root / "curriculum-contract" / f"rig-{digest}.sqlite"


def record_json(record: SessionRecord) -> str:
    return json.dumps(asdict(record), default=lambda value: value.isoformat())


def record_from_json(text: str) -> SessionRecord:
    data = json.loads(text)
    known = {f.name for f in fields(SessionRecord)}
    values = {k: v for k, v in data.items() if k in known}
    for key in _TIMES:
        if isinstance(values.get(key), str):
            values[key] = datetime.fromisoformat(values[key])
    values["warnings"] = tuple(values.get("warnings") or ())
    return SessionRecord(**values)


@dataclass(frozen=True)
class Entry:
    """One outbox entry."""

    seq: int
    subject: str
    session: str | None
    kind: str
    payload: str
    base: str | None
    state: str
    queued_at: str
    note: str | None

    def record(self) -> SessionRecord:
        return record_from_json(self.payload)

    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.payload))

    def describe(self) -> str:
        if self.kind == "session":
            data = json.loads(self.payload)
            stages = f"{data.get('stage_before')} -> {data.get('stage_after')}" if data["status"] == "ok" else "skipped"
            return f"outbox #{self.seq}: {self.subject} {self.session} ({stages}, decided {data['started_at']})"
        return f"outbox #{self.seq}: {self.subject} event {json.loads(self.payload)['kind']}"


class RigCache:
    """The cache file (see the module doc); every method is one transaction, on disk when it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                enable_wal(db)
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"rig cache {self.path} cannot be opened: {exc}") from exc
            with contextlib.suppress(OSError):
                os.chmod(self.path, 0o600)
            self._db = db
        return self._db

    @contextlib.contextmanager
    def _tx(self, action: str) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"rig cache {self.path}: could not {action}: {exc}") from exc

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- the subjects' starting points ------------------------------------------------------
    def remember(self, subject: str, start: dict[str, Any], base: str | None, *, last: tuple[str, Any] | None) -> None:
        """Cache ``subject``'s starting point (``base``: the store's, or None while it follows queued entries)."""
        session, state = last if last is not None else (None, None)
        with self._tx(f"cache the state of {subject!r}") as db:
            db.execute(
                "INSERT OR REPLACE INTO subjects VALUES (?, ?, ?, ?, ?, ?)",
                (subject, json.dumps(start), base, now().isoformat(), session, json.dumps(state)),
            )

    def cached(self, subject: str) -> tuple[dict[str, Any], str | None, str, str | None, Any] | None:
        """``(start, base, cached_at, last_session, last_input)`` of ``subject``, or None if never cached."""
        with self._tx(f"read the cached state of {subject!r}") as db:
            row = db.execute(
                "SELECT start, base, cached_at, last_session, last_input FROM subjects WHERE subject = ?", (subject,)
            ).fetchone()
        if row is None:
            return None
        return json.loads(row[0]), row[1], row[2], row[3], json.loads(row[4]) if row[4] else None

    # -- the outbox ---------------------------------------------------------------------------
    def enqueue(self, subject: str, session: str | None, kind: str, payload: str, base: str | None) -> int:
        """Queue a record (the durable commit point of a launch against a shared store); its number."""
        with self._tx(f"queue a record of {subject!r}") as db:
            cursor = db.execute(
                "INSERT INTO outbox (subject, session, kind, payload, base, state, queued_at) "
                "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                (subject, session, kind, payload, base, now().isoformat()),
            )
            return int(cursor.lastrowid or 0)

    def mark(self, seq: int, state: str, note: str | None = None) -> None:
        pushed = now().isoformat() if state in ("pushed", "dropped") else None
        with self._tx(f"mark outbox entry {seq} {state}") as db:
            db.execute("UPDATE outbox SET state = ?, note = ?, pushed_at = ? WHERE seq = ?", (state, note, pushed, seq))

    def set_base(self, seq: int, base: str) -> None:
        with self._tx(f"set the base of outbox entry {seq}") as db:
            db.execute("UPDATE outbox SET base = ? WHERE seq = ?", (base, seq))

    def forget(self, seq: int) -> None:
        """Remove an entry whose launch was rolled back (it never committed)."""
        with self._tx(f"remove outbox entry {seq}") as db:
            db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def pending(self, subject: str | None = None) -> list[Entry]:
        """The entries not pushed yet (queued or in conflict), oldest first."""
        return self._entries("state IN ('queued', 'conflict')", subject)

    def all_entries(self, subject: str | None = None) -> list[Entry]:
        return self._entries("1", subject)

    def _entries(self, where: str, subject: str | None) -> list[Entry]:
        query = f"SELECT seq, subject, session, kind, payload, base, state, queued_at, note FROM outbox WHERE {where}"
        args: tuple[str, ...] = ()
        if subject is not None:
            query, args = query + " AND subject = ?", (subject,)
        with self._tx("read the outbox") as db:
            return [Entry(*row) for row in db.execute(query + " ORDER BY seq", args)]

    def prune(self) -> None:
        cutoff = (now() - timedelta(days=KEEP_PUSHED_DAYS)).isoformat()
        with self._tx("prune the outbox") as db:
            db.execute("DELETE FROM outbox WHERE state IN ('pushed', 'dropped') AND pushed_at < ?", (cutoff,))
