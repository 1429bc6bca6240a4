"""Push a rig's outbox to the shared store; detect, report and resolve conflicts (never overwrite).

Entries are pushed in order, per subject under its lock (the rig's file and the server's advisory lock).
An ``ok`` decision carries its *base*: a digest of the starting point it was decided from. If the
store's starting point for the subject is no longer that (the subject ran elsewhere, was re-enrolled or
overridden meanwhile), the entry is not pushed: it is marked ``conflict``, an ``offline-conflict`` event
tells the lab (the status page lists it: :func:`pending_conflicts`), the subject's later entries wait
behind it and a launch of the subject on this rig is refused (:func:`in_conflict`: ``SubjectInConflict``,
nothing run) until ``curriculum-contract sync --resolve SUBJECT --keep remote|local``:

- ``remote``: the queued decisions are dropped; an ``offline-conflict-resolved`` event keeps each of them
  whole in its detail;
- ``local``: they are pushed, and the event sets the subject's state to the last of them (the store's
  own state-setting rule), naming the starting point it supersedes.

Pushing is idempotent: a record already in the store (same session, same ``started_at``) is not written twice.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._errors import InvalidArgument, SubjectInConflict
from ._offline import Entry
from ._store import HistoryStore

if TYPE_CHECKING:
    from ._rig_store import RigStore

CONFLICT = "offline-conflict"
RESOLVED = "offline-conflict-resolved"


@dataclass
class SyncReport:
    """What one push did: entries pushed, in conflict, waiting behind a conflict."""

    pushed: list[Entry] = field(default_factory=list)
    pushed_ids: dict[int, int] = field(default_factory=dict)
    conflicts: list[tuple[Entry, str]] = field(default_factory=list)
    blocked: list[Entry] = field(default_factory=list)

    def warnings(self) -> list[str]:
        lines = [f"pushed {len(self.pushed)} queued record(s) to the store"] if self.pushed else []
        return lines + [f"conflict: {why}" for _, why in self.conflicts]


def rig_name(store: RigStore) -> str:
    return f"{socket.gethostname()}:{store.rig.path}"


def _already_there(store: RigStore, entry: Entry) -> int | None:
    """The store's row id of the entry's record, if an earlier push wrote it (then killed before marking)."""
    from ._store_schema import aware, import_sqlalchemy, tables

    sa, s = import_sqlalchemy(), tables()["sessions"]
    record = entry.record()
    query = sa.select(s.c.id, s.c.started_at, s.c.status).where((s.c.subject == record.subject) &
                                                                 (s.c.session == record.session))  # fmt: skip
    with store._connect(f"read session {record.session!r} of {record.subject!r}", write=False) as conn:
        for row in conn.execute(query):
            if aware(row.started_at) == record.started_at and row.status == record.status:
                return int(row.id)
    return None


def push(store: RigStore, *, subject: str | None = None, upto: int | None = None) -> SyncReport:
    """Push the pending entries (of ``subject``; up to entry ``upto``); raises ``StoreUnreachable``."""
    from contextlib import nullcontext

    report = SyncReport()
    pending = [e for e in store.rig.pending(subject) if upto is None or e.seq <= upto]
    for name in dict.fromkeys(e.subject for e in pending):
        lock = nullcontext() if store.holds(name) else store.subject_lock(name, wait_s=60)
        with lock:
            if store.offline:  # the lock found the server gone
                raise store.unreachable  # type: ignore[misc]
            _push_subject(store, [e for e in pending if e.subject == name], report)
    store.rig.prune()
    return report


def _push_subject(store: RigStore, entries: list[Entry], report: SyncReport) -> None:
    from ._rig_store import NO_CHECK, base_of

    blocked = False
    pushed_ok: Any = None
    for entry in entries:
        if blocked:
            report.blocked.append(entry)
            continue
        if entry.kind == "event":
            event = entry.event()
            row_id = HistoryStore.record_event(store, entry.subject, event["kind"], session=event["session"],
                                               reason=event["reason"], detail=event["detail"])  # fmt: skip
            _pushed(store, entry, row_id, report)
            continue
        record = entry.record()
        if (row_id := _already_there(store, entry)) is not None:
            _pushed(store, entry, row_id, report)
            continue
        if record.status == "ok" and entry.base != NO_CHECK:
            now_base = base_of(store.remote_start(entry.subject))
            if entry.base is not None and entry.base != now_base:
                why = (f"{entry.describe()} was decided from a state of {entry.subject} the store no longer holds "
                       f"({entry.subject} ran elsewhere meanwhile): not pushed; run `curriculum-contract sync "
                       f"--resolve {entry.subject} --keep remote|local`")  # fmt: skip
                if entry.state != "conflict":
                    store.rig.mark(entry.seq, "conflict", why)
                    detail = {"conflict": f"{rig_name(store)}#{entry.seq}", "rig": rig_name(store),
                              "record": json.loads(entry.payload)}  # fmt: skip
                    HistoryStore.record_event(store, entry.subject, CONFLICT, session=entry.session, reason=why,
                                              detail=detail)  # fmt: skip
                report.conflicts.append((entry, why))
                blocked = True
                continue
        row_id = HistoryStore.record_session(store, record)
        _pushed(store, entry, row_id, report)
        if record.status == "ok":
            pushed_ok = record
            follows = next((e for e in entries if e.seq > entry.seq and e.kind == "session" and e.base is None), None)
            if follows is not None:  # decided from this one: its base is the store's starting point now
                base = base_of(store.remote_start(entry.subject))
                store.rig.set_base(follows.seq, base)
                entries = [replace(e, base=base) if e.seq == follows.seq else e for e in entries]
    if pushed_ok is not None or not blocked:
        last = (pushed_ok.session, pushed_ok.input_trainer_state) if pushed_ok is not None else None
        store.cache_start(entries[0].subject, last=last)


def _pushed(store: RigStore, entry: Entry, row_id: int, report: SyncReport) -> None:
    store.rig.mark(entry.seq, "pushed")
    report.pushed.append(entry)
    report.pushed_ids[entry.seq] = row_id


def resolve(store: RigStore, subject: str, keep: str) -> list[str]:
    """Resolve ``subject``'s conflict explicitly (see the module doc); one line per entry settled."""
    if keep not in ("remote", "local"):
        raise InvalidArgument(f"--keep must be 'remote' or 'local', not {keep!r}")
    entries = store.rig.pending(subject)
    if not any(e.state == "conflict" for e in entries):
        raise InvalidArgument(f"subject {subject!r} has no conflict in this rig's outbox ({store.rig.path})")
    lines: list[str] = []
    with store.subject_lock(subject, wait_s=60):
        if store.offline:
            raise store.unreachable  # type: ignore[misc]
        superseded = store.remote_start(subject)
        decisions = [e for e in entries if e.kind == "session" and e.record().status == "ok"]
        conflict_ids = [f"{rig_name(store)}#{e.seq}" for e in entries if e.state == "conflict"]
        if keep == "remote":
            for entry in decisions:
                store.rig.mark(entry.seq, "dropped", "conflict resolved: the store's state kept")
                lines.append(f"dropped {entry.describe()}")
            detail = {"keep": "remote", "conflicts": conflict_ids, "rig": rig_name(store),
                      "dropped": [json.loads(e.payload) for e in decisions]}  # fmt: skip
            reason = f"offline decision(s) of {rig_name(store)} dropped: the store's state kept"
        else:
            last = None
            for entry in decisions:
                HistoryStore.record_session(store, entry.record())
                store.rig.mark(entry.seq, "pushed", "conflict resolved: this rig's decision kept")
                last = entry.record()
                lines.append(f"pushed {entry.describe()} over the store's state")
            assert last is not None
            stage = (superseded.state or {}).get("stage") or {}
            sessions = [s.get("session") for s in superseded.history.get("sessions", [])]
            detail = {"keep": "local", "conflicts": conflict_ids, "rig": rig_name(store),
                      "superseded": {"state": superseded.state, "stage": stage.get("name"), "sessions": sessions[-3:]},
                      "trainer_state": dict(last.trainer_state or {})}  # fmt: skip
            reason = f"offline decision of {rig_name(store)} ({last.session}) kept over the store's state"
        HistoryStore.record_event(store, subject, RESOLVED, reason=reason, detail=detail)
        report = push(store, subject=subject)  # the skips and events that waited behind the conflict
        lines += [f"pushed {e.describe()}" for e in report.pushed]
        store.cache_start(subject)
    return lines


def in_conflict(subject: str, entries: list[Entry]) -> SubjectInConflict | None:
    """The refusal of a launch of ``subject`` when its pending ``entries`` hold a conflict, else None."""
    import shlex

    if not any(e.state == "conflict" for e in entries):
        return None
    decisions = [e for e in entries if e.kind == "session" and e.record().status == "ok"]
    times = [e.record().started_at.isoformat(timespec="seconds") for e in decisions]
    shown = ", ".join(times[:3]) + (f" and {len(times) - 3} more" if len(times) > 3 else "")
    return SubjectInConflict(
        f"subject {subject} has an unresolved offline conflict on this rig ({len(decisions)} queued decision(s) "
        f"from {shown}): resolve it with `curriculum-contract sync --resolve {shlex.quote(subject)} "
        "--keep remote|local`",
        subject=subject,
        decisions=[e.describe() for e in decisions],
    )


def pending_conflicts(store: HistoryStore, subject: str) -> list[str]:
    """The subject's offline-rig conflicts no ``sync --resolve`` settled yet, one line each (status page)."""
    events = store.events(subject)
    settled = {c for e in events if e["kind"] == RESOLVED for c in (e["detail"] or {}).get("conflicts", [])}
    return [str(e["reason"]) for e in events
            if e["kind"] == CONFLICT and (e["detail"] or {}).get("conflict") not in settled]  # fmt: skip


__all__ = ["SyncReport", "in_conflict", "pending_conflicts", "push", "resolve"]
