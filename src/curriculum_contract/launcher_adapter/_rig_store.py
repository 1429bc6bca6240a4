"""A shared store seen from one rig: every record goes through the rig's outbox, and launches go on offline.

``RigStore`` is a :class:`HistoryStore` for a server URL (``launch`` wraps one itself: ``rig_store``).
Each record a launch makes is written to the rig's cache file first (``_offline``: on disk, the commit
point of the launch's "outputs and record, both or neither"), then pushed to the server (``_sync``).
When the server cannot be connected to (``StoreUnreachable``: refused, timed out; never bad credentials
or a newer schema) the launch goes on: it starts from the subject's starting point cached by the last
launch or sync that reached the server, serializes on a lock file beside the cache, and its records
stay queued until a later launch or ``curriculum-contract sync`` pushes them. A queued decision whose
subject ran elsewhere meanwhile is a conflict (``_sync``), never written over the other one; until it is
resolved, a launch of that subject on this rig is refused before anything runs (``SubjectInConflict``).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ._errors import StoreUnreachable, SubjectNotEnrolled
from ._lock import subject_lock
from ._offline import RigCache, default_cache_path, record_json
from ._store import HistoryStore, SessionRecord
from ._store_pg import with_password
from ._store_queries import LaunchStart

#: Seconds to wait for the server before a launch decides offline (env, else ``DEFAULT_CONNECT_TIMEOUT_S``).
CONNECT_TIMEOUT_ENVVAR = "CURRICULUM_CONTRACT_CONNECT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
#: An outbox entry's base meaning "not decided from a starting point: push without a check".
NO_CHECK = "-"


def rig_store(store: HistoryStore, *, cache: str | os.PathLike[str] | None = None) -> HistoryStore:
    """``store`` as a :class:`RigStore` when it is a server's (a SQLite file is on the rig already)."""
    if isinstance(store, RigStore) or store.sqlite_file is not None or store.url.startswith("sqlite"):
        return store
    return RigStore(with_password(store.url, store._password), cache=cache)


def _start_json(start: LaunchStart) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(start), default=lambda value: value.isoformat()))


def _start_from(data: Mapping[str, Any]) -> LaunchStart:
    def event(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("created_at"), str):
            return {**value, "created_at": datetime.fromisoformat(value["created_at"])}
        return value

    return LaunchStart(data["state"], data["history"], event(data.get("event")), event(data.get("off")))


def base_of(start: LaunchStart) -> str:
    """A digest of the starting point a new session gets: its state, its source event and its sessions."""
    import hashlib

    data = _start_json(start)
    key = {"state": data["state"], "event": (data["event"] or {}).get("id"), "off": (data["off"] or {}).get("id"),
           "sessions": data["history"].get("sessions")}  # fmt: skip
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


class RigStore(HistoryStore):
    """A server's store through this rig's cache and outbox (see the module doc)."""

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        cache: str | os.PathLike[str] | None = None,
        connect_timeout_s: float | None = None,
        upgrade: bool | None = None,
    ) -> None:
        super().__init__(url, upgrade=upgrade)
        self.rig = RigCache(Path(cache) if cache is not None else default_cache_path(self.url))
        timeout = connect_timeout_s or float(os.environ.get(CONNECT_TIMEOUT_ENVVAR) or DEFAULT_CONNECT_TIMEOUT_S)
        self.connect_timeout_s = timeout
        #: Set when the server could not be reached: the rest of this launch is offline.
        self.unreachable: StoreUnreachable | None = None
        #: One line per thing this store did differently from a plain store (offline, queued, conflicts).
        self.notes: list[str] = []
        #: What became of the last record: ``recorded``, ``queued`` (in the outbox) or ``conflict``.
        self.last_status = "recorded"
        self._cached_at: str | None = None
        self._bases: dict[str, str | None] = {}
        self._held: set[str] = set()
        #: The lines this launch already warned with (a conflict is reported once per launch).
        self._reported: set[str] = set()

    @property
    def offline(self) -> bool:
        return self.unreachable is not None

    def go_offline(self, error: StoreUnreachable) -> None:
        if self.unreachable is None:
            self.unreachable = error
            super().close()

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    def close(self) -> None:
        super().close()
        self.rig.close()

    def _new_engine(self, **options: Any) -> Any:
        if self.url.startswith("postgresql"):  # libpq's own wait (integer seconds, at least 2)
            options.setdefault("connect_args", {"connect_timeout": max(2, round(self.connect_timeout_s))})
        return super()._new_engine(**options)

    # -- a launch ---------------------------------------------------------------------------
    def before_launch(self, subject: str | None = None) -> list[str]:
        """Push what earlier launches queued (every launch does, first); the lines to warn with.

        Raises ``SubjectInConflict`` when ``subject`` has an unresolved conflict in this rig's outbox
        (online or not): its launch would decide from a state the store does not hold, or queue behind it.
        """
        from ._sync import push

        lines: list[str] = []
        if not self.offline:
            try:
                lines = push(self).warnings()
            except StoreUnreachable as error:
                self.go_offline(error)
        self._reported = set(lines)  # a new launch: each line said once in it
        if subject is not None:
            self.refuse_in_conflict(subject, lines)
        return lines

    def refuse_in_conflict(self, subject: str, notes: Sequence[str] = ()) -> None:
        """Raise ``SubjectInConflict`` if ``subject`` has an unresolved conflict in this rig's outbox."""
        from ._sync import in_conflict

        if (error := in_conflict(subject, self.rig.pending(subject))) is not None:
            for line in notes:
                error.add_note(line)
            raise error

    @contextmanager
    def subject_lock(self, subject: str, *, wait_s: float) -> Iterator[None]:
        """The rig's own lock file for ``subject`` (offline launches too), then the server's advisory lock."""
        with ExitStack() as stack:
            lock_dir = self.rig.path.with_name(self.rig.path.name + ".locks")
            lock_dir.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(subject_lock(lock_dir, subject, wait_s=wait_s))
            if not self.offline and subject not in self._held:
                try:
                    stack.enter_context(super().subject_lock(subject, wait_s=wait_s))
                except StoreUnreachable as error:
                    self.go_offline(error)
            self._held.add(subject)
            try:
                yield
            finally:
                self._held.discard(subject)

    def holds(self, subject: str) -> bool:
        return subject in self._held

    def remote_start(self, subject: str) -> LaunchStart:
        """The store's starting point for a new session of ``subject`` (raises ``StoreUnreachable``)."""
        return HistoryStore.launch_start(self, subject, session="", session_time=None)

    def launch_start(self, subject: str, *, session: str, session_time: datetime | None = None) -> LaunchStart:
        """Under the subject's lock: push its entries queued since ``before_launch``, refuse it in conflict."""
        if not self.offline and self.rig.pending(subject):  # another launch of this rig queued one meanwhile
            from ._sync import push

            try:
                self._warn(push(self, subject=subject).warnings())
            except StoreUnreachable as error:
                self.go_offline(error)
        self.refuse_in_conflict(subject)
        if not self.offline:
            try:
                start = super().launch_start(subject, session=session, session_time=session_time)
                self._bases[subject] = base_of(self.remote_start(subject))
                return start
            except StoreUnreachable as error:
                self.go_offline(error)
        return self._cached_start(subject, session)

    def _cached_start(self, subject: str, session: str) -> LaunchStart:
        cached = self.rig.cached(subject)
        assert self.unreachable is not None
        if cached is None:
            raise SubjectNotEnrolled(
                f"subject {subject!r} is not in this rig's cache of {self.where} and the store is unreachable "
                f"({self.unreachable}): not launched (a launch or `curriculum-contract sync` that reaches the "
                "store caches it)"
            )
        data, base, cached_at, last_session, last_input = cached
        start = _start_from(data)
        if session == last_session and last_input is not None:  # a relaunch starts where that session started
            sessions = [s for s in start.history.get("sessions", []) if s.get("session") != session]
            start = LaunchStart(last_input, {**start.history, "sessions": sessions, "first_session": not sessions},
                                None, None)  # fmt: skip
        self._bases[subject] = base
        self._cached_at = cached_at
        return start

    def cache_start(self, subject: str, *, last: tuple[str, Any] | None = None) -> None:
        """Cache the store's starting point of ``subject``, with its still-queued decisions applied on top."""
        start = self.remote_start(subject)
        self.rig.remember(subject, _start_json(start), base_of(start), last=last)
        for entry in self.rig.pending(subject):
            if entry.kind == "session" and (record := entry.record()).status == "ok":
                self.apply_locally(record)

    def apply_locally(self, record: SessionRecord) -> None:
        """Advance the cached starting point by a queued ``ok`` decision (the next offline launch starts there)."""
        cached = self.rig.cached(record.subject)
        history = dict(cached[0]["history"]) if cached is not None else {"subject_id": record.subject}
        sessions = [s for s in history.get("sessions", []) if s.get("session") != record.session]
        sessions.append({"session": record.session, "stage": record.stage_before, "metrics": dict(record.metrics or {}),
                         "suggested_stage": record.stage_after, "date": record.started_at.isoformat()})  # fmt: skip
        history.update(sessions=sessions, first_session=False, curriculum_name=record.curriculum_name)
        start = {"state": dict(record.trainer_state or {}), "history": history, "event": None, "off": None}
        self.rig.remember(record.subject, start, None, last=(record.session, record.input_trainer_state))

    # -- writes: the outbox first ---------------------------------------------------------------
    def record_session(self, record: SessionRecord) -> int:
        """Queue the record (on disk), then push it; an id, or minus its outbox number when it stays queued."""
        base = self._bases.get(record.subject, NO_CHECK) if record.status == "ok" else NO_CHECK
        seq = self.rig.enqueue(record.subject, record.session, "session", record_json(record), base)
        return self._pushed_or_queued(seq, record.subject, record)

    def record_event(
        self,
        subject: str,
        kind: str,
        *,
        session: str | None = None,
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        payload = json.dumps({"kind": kind, "session": session, "reason": reason,
                              "detail": dict(detail) if detail is not None else None})  # fmt: skip
        return self._pushed_or_queued(self.rig.enqueue(subject, session, "event", payload, NO_CHECK), subject, None)

    def _pushed_or_queued(self, seq: int, subject: str, record: SessionRecord | None) -> int:
        from ._errors import StoreError
        from ._sync import push

        if not self.offline:
            try:
                report = push(self, subject=subject, upto=seq)
            except StoreUnreachable as error:
                self.go_offline(error)
            except StoreError:
                self.rig.forget(seq)  # the launch rolls back: its record never was
                raise
            else:
                if (row_id := report.pushed_ids.get(seq)) is not None:
                    self.last_status = "recorded"
                    return row_id
                self.last_status = "conflict"
                self._warn(report.warnings())
                self.notes.append(
                    f"record queued behind a conflict ({len(self.rig.pending())} in outbox): resolve it with "
                    f"`curriculum-contract sync --resolve {shlex.quote(subject)} --keep remote|local`"
                )
                return -seq
        if record is not None and record.status == "ok":
            self.apply_locally(record)
        self.last_status = "queued"
        count = len(self.rig.pending())
        decided = f"decided from the state cached at {self._cached_at} on this rig; " if self._cached_at else ""
        self.notes.append(
            f"store unreachable: {decided}record queued ({count} in outbox); run `curriculum-contract sync`"
        )
        return -seq

    def _warn(self, lines: list[str]) -> None:
        """Add ``lines`` to the notes, each once per launch (``before_launch`` may have said it already)."""
        for line in lines:
            if line not in self._reported:
                self._reported.add(line)
                self.notes.append(line)

    # -- reads a launch's recovery makes ----------------------------------------------------------
    def session_rows(self, subject: str | None = None, **options: Any) -> list[dict[str, Any]]:
        """The store's rows, then this rig's records not pushed yet; offline, this rig's records only."""
        rows: list[dict[str, Any]] = []
        if not self.offline:
            try:
                rows = super().session_rows(subject, **options)
            except StoreUnreachable as error:
                self.go_offline(error)
        entries = self.rig.all_entries(subject) if self.offline else self.rig.pending(subject)
        for entry in entries:
            if entry.kind == "session" and entry.state != "dropped":
                rows.append({**asdict(entry.record()), "id": None, "attempts": 1, "queued": entry.state != "pushed"})
        return rows
