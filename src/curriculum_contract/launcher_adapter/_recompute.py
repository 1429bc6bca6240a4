"""``recompute``: re-decide a subject's sessions from the earliest affected one, in the order they ran.

A session recorded late, or corrected, marks its subject (``_session_order``); the decisions after it
were made without it. ``recompute`` builds one ``curriculum replay`` request (contract section 8) per
current session from there, in session-time order, from **recorded metrics** (no trials reloaded): the
first starts from the state the session started from (the store's starting point for it) with the
history before it; each later one continues the chain, unless state-setting events (an override, an
on-curriculum, a stage migration...: ``detail["trainer_state"]``) arrived between the session before it
and it (by arrival: ``created_at`` after that session's ``started_at``, before its own; never compared
with ``session_time``, which a simulation dates): then it starts from the latest of them (the request's
explicit ``trainer_state``). A session the latest of them took off the curriculum, and a session without
metrics (a skipped one), stays as it is and is not replayed. A decision changed when its stage or its
task parameters did. One process decides them all. On apply, one transaction keeps the old rows
(``superseded_by``), inserts the new decisions as the next generation of the same sessions (with the
version the replay reported and the checkout that replayed them) and records a ``recomputed`` event
(which clears the marker); the next launch starts from the new last decision. Computing only: the CLI
(``_recompute_cli``) prints.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._bootstrap import ensure_environment
from ._errors import ContractViolation, InvalidArgument, ProcessFailed, SubjectNotEnrolled
from ._git import GitRunner, run_git
from ._locate import CurriculumLocation, locate_curriculum
from ._messages import not_enrolled
from ._process import Runner, clean_environment, run_process
from ._session_order import recompute_marker
from ._store import HistoryStore, stage_name
from ._store_reads import sets_state
from ._tools import DEFAULT_LOCK_WAIT_S, DEFAULT_TIMEOUT_S, Environment, curriculum_of, open_store

#: Why a session is not replayed (``Step.held``).
NO_METRICS, OFF_CURRICULUM = "no metrics", "off the curriculum"


@dataclass(frozen=True)
class Step:
    """One session from the earliest affected one: what was recorded, and what the replay decided."""

    row_id: int
    session: str
    stage_before: str | None
    stage_after_old: str | None
    stage_after_new: str | None
    replayed: bool
    """False: kept as it is (``held`` says why)."""
    held: str | None = None
    """Why it is not replayed: :data:`NO_METRICS` (a skipped session) or :data:`OFF_CURRICULUM`."""
    event: dict[str, Any] | None = None
    """The state-setting event it was replayed from, or the off-curriculum event that held it."""
    parameters: tuple[tuple[str, Any, Any], ...] = ()
    """The task parameters the recomputed decision sets differently: ``(name, recorded, recomputed)``."""

    @property
    def changed(self) -> bool:
        """A different stage, or the same stage with different task parameters."""
        return self.replayed and (self.stage_after_old != self.stage_after_new or bool(self.parameters))


@dataclass(frozen=True)
class Recomputation:
    """The trajectory before and after; ``new_ids`` the rows recorded (empty for a dry run)."""

    subject: str
    from_session: str | None
    steps: list[Step] = field(default_factory=list)
    applied: bool = False
    new_ids: list[int] = field(default_factory=list)
    next_stage: str | None = None


def recompute(
    curriculum_dir: str | os.PathLike[str],
    subject: str,
    *,
    store: HistoryStore | str | os.PathLike[str],
    from_session: str | None = None,
    dry_run: bool = False,
    name: str | None = None,
    allow_dirty: bool = False,
    offline: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    progress: Callable[[str], None] | None = None,
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> Recomputation:
    """Replay ``subject``'s decisions from ``from_session`` (default: the earliest marked one); record unless dry.

    ``name``: one curriculum of a package that holds several (else the subject's state names it).
    """
    history_store = open_store(store)
    try:
        with history_store.subject_lock(subject, wait_s=lock_wait_s):  # no launch of the subject meanwhile
            return _recompute(
                Path(curriculum_dir), subject, history_store, from_session, dry_run, (name, allow_dirty, offline),
                timeout_s, progress, (environment, runner, git),
            )  # fmt: skip
    finally:
        if history_store is not store:
            history_store.close()


def _recompute(
    curriculum_dir: Path, subject: str, store: HistoryStore, from_session: str | None, dry_run: bool,
    how: tuple[str | None, bool, bool], timeout_s: float, progress: Callable[[str], None] | None,
    tools: tuple[Environment, Runner, GitRunner],
) -> Recomputation:  # fmt: skip
    rows = sorted(store.session_rows(subject, superseded=False), key=lambda r: (r["session_time"], r["id"]))
    if not rows and store.enrollment_state(subject) is None:
        raise SubjectNotEnrolled(f"recompute: {not_enrolled(subject, store.where)}")
    if from_session is None:
        marker = recompute_marker(store.events(subject))
        if marker is None:
            return Recomputation(subject, None)  # nothing marked: nothing to do
        from_session = marker["session"]
    first = next((i for i, row in enumerate(rows) if row["session"] == from_session), None)
    if first is None:
        raise InvalidArgument(f"subject {subject!r} has no recorded session {from_session!r} in {store.where}")
    affected = rows[first:]
    if aind := [row["session"] for row in affected if row["dialect"] == "aind" or row["legacy"]]:
        raise InvalidArgument(
            f"cannot recompute {subject!r}: session {aind[0]} was decided through the AIND dialect, "
            "which has no `curriculum replay`"
        )
    plan = plan_replay(affected, store.events(subject))
    replayed = [p for p in plan if p.held is None]
    start = replayed[0].row if replayed else affected[0]
    state, history = store.starting_point(subject, session=start["session"], session_time=start["session_time"])
    name, allow_dirty, offline = how
    location = locate_curriculum(curriculum_dir, allow_dirty=allow_dirty, git=tools[2])
    name = name or curriculum_of(state)
    results = _replay(location, subject, replayed, (state, history, name), offline, timeout_s, progress, tools)
    steps: list[Step] = []
    decisions: list[tuple[int, dict[str, Any]]] = []
    by_id = dict(zip((p.row["id"] for p in replayed), results, strict=True))
    for planned in plan:
        row = planned.row
        suggestion = by_id.get(row["id"])
        if suggestion is None:
            steps.append(Step(row["id"], row["session"], row["stage_before"], row["stage_after"], None, False,
                              planned.held, planned.event))  # fmt: skip
            if planned.held == OFF_CURRICULUM and row["status"] == "ok" and row["trainer_state"]:
                state = row["trainer_state"]  # kept as recorded: what the session after it started from
            continue
        if planned.state is not None:
            state = planned.state
        before, after = stage_name(state), stage_name(suggestion["trainer_state"])
        parameters = changed_parameters(row["trainer_state"], suggestion["trainer_state"])
        steps.append(Step(row["id"], row["session"], before, row["stage_after"], after, True, None, planned.event,
                          parameters))  # fmt: skip
        decisions.append((row["id"], _values(row, suggestion, before, location, state)))
        state = suggestion["trainer_state"]
    next_stage = stage_name(state)
    result = Recomputation(subject, from_session, steps, next_stage=next_stage)
    if dry_run:
        return result
    detail = {"from": from_session, "replayed": len(decisions), "changed": sum(s.changed for s in steps),
              "curriculum_commit": location.provenance.commit}  # fmt: skip
    new_ids = store.record_recomputation(subject, decisions, detail=detail)
    return Recomputation(subject, from_session, steps, applied=True, new_ids=new_ids, next_stage=next_stage)


@dataclass(frozen=True)
class Planned:
    """One affected session: replayed (from ``state`` if given, else the chain) or ``held`` as recorded."""

    row: dict[str, Any]
    held: str | None = None
    state: dict[str, Any] | None = None
    """The explicit ``trainer_state`` of its replay request; None: the chain (the first: the starting point)."""
    event: dict[str, Any] | None = None


def plan_replay(affected: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[Planned]:
    """What to do with each of ``affected`` (session order), given the subject's ``events`` (oldest first).

    After the first replayed session, a session preceded by state-setting events (recorded after the
    previous deciding session's ``started_at``, before its own) starts from the latest of them; when that
    one took the subject off the curriculum (a null state) the session is held as recorded.
    """
    setting = [e for e in events if sets_state(e) and e.get("created_at") is not None]
    plan: list[Planned] = []
    previous: dict[str, Any] | None = None  # the last session the chain continues from
    kept: dict[str, Any] | None = None  # a held session's recorded state, the next replay's start
    for row in affected:
        latest = _latest_between(setting, previous, row) if previous is not None else None
        if latest is not None and latest["detail"]["trainer_state"] is None:
            plan.append(Planned(row, OFF_CURRICULUM, event=latest))
            if row["status"] == "ok" and row["trainer_state"]:
                previous, kept = row, row["trainer_state"]
            continue
        if row["status"] != "ok" or row["metrics"] is None:
            plan.append(Planned(row, NO_METRICS))
            continue
        if latest is not None:
            plan.append(Planned(row, state=dict(latest["detail"]["trainer_state"]), event=latest))
        else:
            plan.append(Planned(row, state=kept))
        previous, kept = row, None
    return plan


def _latest_between(
    setting: list[dict[str, Any]], previous: dict[str, Any], row: dict[str, Any]
) -> dict[str, Any] | None:
    """The latest of ``setting`` that arrived after ``previous`` was launched and before ``row`` was."""
    after, before = previous["started_at"], row["started_at"]
    if after is None or before is None:
        return None
    between = [e for e in setting if after < e["created_at"] < before]
    return max(between, key=lambda e: (e["created_at"], e["id"]), default=None)


def changed_parameters(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[tuple[str, Any, Any], ...]:
    """The task parameters (and the task) that differ between two trainer states' stages, sorted by name."""

    def task(state: dict[str, Any] | None) -> dict[str, Any]:
        value = ((state or {}).get("stage") or {}).get("task")
        return value if isinstance(value, dict) else {}

    before, after = task(old), task(new)
    changes = [("task", before.get("name"), after.get("name"))] if before.get("name") != after.get("name") else []
    old_parameters, new_parameters = before.get("task_parameters") or {}, after.get("task_parameters") or {}
    for key in sorted(set(old_parameters) | set(new_parameters)):
        if old_parameters.get(key) != new_parameters.get(key):
            changes.append((key, old_parameters.get(key), new_parameters.get(key)))
    return tuple(changes)


def _values(
    row: dict[str, Any], suggestion: dict[str, Any], before: str | None, location: CurriculumLocation,
    input_state: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """The new generation's columns (the rest is copied from the row it supersedes)."""
    prov = location.provenance
    return {
        "status": "ok", "reason": None, "stage_before": before,
        "stage_after": stage_name(suggestion["trainer_state"]), "suggestion": suggestion,
        "trainer_state": suggestion["trainer_state"], "input_trainer_state": input_state,
        "warnings": [f"recomputed from session {row['session']}'s recorded metrics", *suggestion.get("warnings", [])],
        "curriculum_name": suggestion.get("curriculum_name") or row["curriculum_name"],
        "curriculum_version": suggestion.get("version") or prov.version,  # as a launch records it
        "curriculum_commit": prov.commit, "provenance": prov.as_dict(),
    }  # fmt: skip


def _replay(
    location: CurriculumLocation, subject: str, planned: list[Planned],
    start: tuple[dict[str, Any] | None, dict[str, Any], str | None], offline: bool, timeout_s: float,
    progress: Callable[[str], None] | None,
    tools: tuple[Environment, Runner, GitRunner],
) -> list[dict[str, Any]]:  # fmt: skip
    """One ``curriculum replay`` process for the ``planned`` sessions: their suggestions, in order."""
    if not planned:
        return []
    rows = [p.row for p in planned]
    state, history, name = start
    requests = []
    for number, (row, how) in enumerate(zip(rows, planned, strict=True)):
        request = {"session": row["session"], "subject_id": subject, "metrics": row["metrics"],
                   "date": row["session_time"].isoformat() if row["session_time"] else None}  # fmt: skip
        if number == 0:  # the chain's start; every later line continues from the decision before it...
            request.update(trainer_state=state, history=history)
        elif how.state is not None:  # ...unless an override (or a held session) set the state between
            request.update(trainer_state=how.state)
        requests.append(json.dumps(request))
    executable = tools[0](location, offline=offline, progress=progress)
    with tempfile.TemporaryDirectory(prefix="curriculum-contract-recompute-") as work:
        requests_file = Path(work) / "requests.jsonl"
        requests_file.write_text("\n".join(requests) + "\n", encoding="utf-8")
        argv = [str(executable), "replay", "--input", str(requests_file), *(["--curriculum", name] if name else [])]
        result = tools[1](argv, cwd=location.project_dir, timeout_s=timeout_s, env=clean_environment())
    if result.exit_code != 0:
        raise ProcessFailed.from_result(result)
    return _suggestions(result.stdout, rows, str(executable))


def _suggestions(stdout: str | bytes, rows: list[dict[str, Any]], program: str) -> list[dict[str, Any]]:
    text = stdout.decode("utf-8", "replace") if isinstance(stdout, bytes) else stdout
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != len(rows):
        raise ContractViolation(f"{program} replay printed {len(lines)} result line(s) for {len(rows)} request(s)")
    suggestions = []
    for row, line in zip(rows, lines, strict=True):
        try:
            document = json.loads(line)
            suggestion = document["suggestion"]
            if document.get("session") != row["session"] or not isinstance(suggestion["trainer_state"], dict):
                raise ValueError(f"session {document.get('session')!r}, expected {row['session']!r}")
        except (ValueError, KeyError, TypeError) as error:
            raise ContractViolation(
                f"{program} replay: the result for session {row['session']} is not a decision: {error}"
            ) from None
        suggestions.append(suggestion)
    return suggestions
