"""Where every subject stands, gathered from the history store's public reads only.

``HistoryStore.subjects``, ``session_rows``, ``events`` and ``enrollment_state`` give everything: the stage a
subject starts its next session in, its sessions with their decisions and skips, its events. Nothing here
writes, and nothing depends on how the store keeps its rows. The clock is injected, so "days on stage" is
testable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ._decision import Decision, read_decision
from ._events import EventView, describe_event, without_cleared_markers

Clock = Callable[[], datetime]
#: How many metrics the overview shows per subject (the subject page shows the criteria's and more).
KEY_METRICS = 5
#: Names of psychometric parameters the plot always shows, where the curriculum records them.
PSYCHOMETRIC = ("bias", "threshold", "lapse_low", "lapse_high")


class StoreReads(Protocol):
    """The read methods of ``HistoryStore`` this module uses (tests may pass any object that has them)."""

    def subjects(self) -> list[str]: ...
    def session_rows(self, subject: str | None = None, *, superseded: bool = True) -> list[dict[str, Any]]: ...
    def events(self, subject: str | None = None) -> list[dict[str, Any]]: ...
    def enrollment_state(self, subject: str) -> dict[str, Any] | None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionView:
    """One launched session: what the curriculum decided, or why it was skipped."""

    index: int
    session: str
    status: str
    reason: str | None
    started_at: datetime | None
    finished_at: datetime | None
    stage_before: str | None
    stage_after: str | None
    metrics: Mapping[str, Any]
    decision: Decision | None
    warnings: tuple[str, ...]
    attempts: int

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class SubjectStatus:
    """Where one subject stands now, and how it got there."""

    subject: str
    stage: str | None
    curriculum: str | None
    stages: tuple[str, ...]
    on_stage_since: datetime | None
    days_on_stage: int | None
    sessions_on_stage: int
    sessions: tuple[SessionView, ...]
    events: tuple[EventView, ...]
    key_metrics: tuple[str, ...]
    pending_conflicts: tuple[Any, ...] | None = None
    curriculum_stages: tuple[str, ...] = ()
    """The stages of the subject's current curriculum graph, in its order (``stages`` adds those only history ran)."""

    @property
    def last(self) -> SessionView | None:
        return self.sessions[-1] if self.sessions else None

    @property
    def last_decision(self) -> SessionView | None:
        """The last session the curriculum decided on (skips decide nothing)."""
        return next((s for s in reversed(self.sessions) if s.ok), None)

    @property
    def skips(self) -> tuple[SessionView, ...]:
        return tuple(s for s in self.sessions if not s.ok)

    @property
    def stage_position(self) -> str | None:
        """``2 of 4``: the stage's place in the current curriculum's own order, when the trainer state tells it.

        Only the stages of that graph count: a migrated subject's old stages are not the curriculum's.
        """
        if self.stage in self.curriculum_stages:
            return f"{self.curriculum_stages.index(self.stage) + 1} of {len(self.curriculum_stages)}"
        return None


@dataclass(frozen=True)
class LabStatus:
    """Every subject of one store, as of ``generated_at``."""

    store: str
    generated_at: datetime
    subjects: tuple[SubjectStatus, ...]


def _stage_of(state: Mapping[str, Any] | None) -> str | None:
    stage = (state or {}).get("stage")
    return stage.get("name") if isinstance(stage, Mapping) and isinstance(stage.get("name"), str) else None


def _curriculum_stages(state: Mapping[str, Any] | None) -> list[str]:
    """The curriculum's stages in its own order: a trainer state embeds the curriculum's graph."""
    graph = ((state or {}).get("curriculum") or {}).get("graph") or {}
    nodes = graph.get("nodes") if isinstance(graph, Mapping) else None
    if not isinstance(nodes, Mapping):
        return []
    keys = sorted(nodes, key=lambda key: (0, int(key)) if str(key).isdigit() else (1, str(key)))
    return [str(nodes[key]["name"]) for key in keys if isinstance(nodes[key], Mapping) and "name" in nodes[key]]


def _session(index: int, row: Mapping[str, Any]) -> SessionView:
    ok = row.get("status") == "ok"
    return SessionView(
        index=index,
        session=str(row.get("session")),
        status=str(row.get("status")),
        reason=row.get("reason"),
        started_at=row.get("started_at"),
        finished_at=row.get("finished_at"),
        stage_before=row.get("stage_before"),
        stage_after=row.get("stage_after"),
        metrics=dict(row.get("metrics") or {}),
        decision=read_decision(row.get("suggestion"), row.get("stage_before"), row.get("stage_after")) if ok else None,
        warnings=tuple(row.get("warnings") or ()),
        attempts=int(row.get("attempts") or 1),
    )


def on_stage(stage: str | None, sessions: Sequence[SessionView], reset: datetime | None) -> tuple[datetime | None, int]:
    """Since when the subject is on ``stage`` (and how many sessions it ran there).

    The start is the end of the session that moved it there; a subject that never moved is on its stage
    since its first session there; a re-enrollment (``reset``) starts the count again.
    """
    since, count = None, 0
    for view in reversed([s for s in sessions if s.ok]):
        if reset is not None and view.started_at is not None and view.started_at < reset:
            break
        if view.stage_before == stage:
            since, count = view.started_at, count + 1
            continue
        if view.stage_after == stage:
            since = view.finished_at
        break
    if since is None and count == 0:
        since = reset
    return since, count


def _key_metrics(sessions: Sequence[SessionView]) -> tuple[str, ...]:
    """The metrics the last decision's criteria compared, then the other scalar ones, in that order."""
    last = next((s for s in reversed(sessions) if s.ok), None)
    if last is None:
        return ()
    names: list[str] = []
    for transition in last.decision.transitions if last.decision else ():
        for condition in transition.conditions:
            if condition.metric not in names and condition.metric in last.metrics:
                names.append(condition.metric)
    scalar = [k for k, v in last.metrics.items() if v is None or isinstance(v, int | float | str)]
    return tuple(names + [k for k in scalar if k not in names])


def _in_session_order(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """By ``session_time`` (else ``started_at``: a store before schema 3), then id; rows without a time as given."""

    def ran_at(row: Mapping[str, Any]) -> Any:
        return row.get("session_time") or row.get("started_at")

    if any(ran_at(row) is None for row in rows):
        return list(rows)
    return sorted(rows, key=lambda row: (ran_at(row), row.get("id") or 0))


def subject_status(
    subject: str,
    rows: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    state: Mapping[str, Any] | None,
    *,
    now: datetime,
    conflicts: Sequence[Any] | None = None,
) -> SubjectStatus:
    """One subject's status from its rows (computing, no reading: the store calls are in :func:`gather_lab`).

    The sessions are in the subject's order, by when they ran (``session_time``, then id), not as recorded.
    """
    rows = _in_session_order(rows)
    sessions = tuple(_session(i + 1, row) for i, row in enumerate(rows))
    last_ok = next((s for s in reversed(sessions) if s.ok), None)
    stage = _stage_of(state) or (last_ok.stage_after if last_ok else None)
    resets = [e["created_at"] for e in events if e.get("kind") == "re-enrollment" and e.get("created_at")]
    since, count = on_stage(stage, sessions, max(resets) if resets else None)
    graph = tuple(_curriculum_stages(state))
    stages = list(graph)
    for view in sessions:
        for name in (view.stage_before, view.stage_after):
            if name is not None and name not in stages:
                stages.append(name)
    curriculum = ((state or {}).get("curriculum") or {}).get("name")
    if not isinstance(curriculum, str) and rows:
        curriculum = rows[-1].get("curriculum_name")
    return SubjectStatus(
        subject=subject,
        stage=stage,
        curriculum=curriculum if isinstance(curriculum, str) else None,
        stages=tuple(stages),
        on_stage_since=since,
        days_on_stage=max(0, (now - since).days) if since is not None else None,
        sessions_on_stage=count,
        sessions=sessions,
        events=tuple(describe_event(e) for e in without_cleared_markers(events)),
        key_metrics=_key_metrics(sessions),
        pending_conflicts=tuple(conflicts) if conflicts is not None else None,
        curriculum_stages=graph,
    )


def _conflicts(store: object, subject: str) -> list[Any] | None:
    """Pending offline-rig conflicts, when the store can tell them (none can yet: the section stays hidden)."""
    provider = getattr(store, "pending_conflicts", None)
    return list(provider(subject)) if callable(provider) else None


def gather_subject(store: StoreReads, subject: str, *, clock: Clock = utc_now) -> SubjectStatus | None:
    """One subject's status, or None when the store does not know it."""
    # current rows only: the decisions a ``recompute`` replaced are history, not where the subject stands
    rows, events = store.session_rows(subject, superseded=False), store.events(subject)
    state = store.enrollment_state(subject)
    if not rows and not events and state is None:
        return None
    return subject_status(subject, rows, events, state, now=clock(), conflicts=_conflicts(store, subject))


def gather_lab(store: StoreReads, *, where: str = "", clock: Clock = utc_now) -> LabStatus:
    """Every subject the store knows, from one read of the sessions and one of the events."""
    now = clock()
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in store.session_rows(superseded=False):
        rows.setdefault(row["subject"], []).append(row)
    events: dict[str, list[dict[str, Any]]] = {}
    for event in store.events():
        events.setdefault(event["subject"], []).append(event)
    subjects = tuple(
        subject_status(
            subject,
            rows.get(subject, []),
            events.get(subject, []),
            store.enrollment_state(subject),
            now=now,
            conflicts=_conflicts(store, subject),
        )
        for subject in store.subjects()
    )
    return LabStatus(store=where, generated_at=now, subjects=subjects)
