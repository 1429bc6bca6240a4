"""``recompute``: re-decide a subject's sessions from the earliest affected one, in the order they ran.

A session recorded late, or corrected, marks its subject (``_session_order``); the decisions after it
were made without it. ``recompute`` builds one ``curriculum replay`` request (contract section 8) per
current session from there, in session-time order, from **recorded metrics** (no trials reloaded): the
first starts from the state the session started from (the previous decision's suggestion, or the
enrollment) with the history before it; each later one continues the chain. A session without metrics
(a skipped one) stays as it is and is not replayed. One process decides them all. On apply, one
transaction keeps the old rows (``superseded_by``), inserts the new decisions as the next generation
of the same sessions and records a ``recomputed`` event (which clears the marker); the next launch
starts from the new last decision. Computing only: the CLI (``_recompute_cli``) prints.
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
from ._errors import ContractViolation, InvalidArgument, ProcessFailed
from ._git import GitRunner, run_git
from ._locate import CurriculumLocation, locate_curriculum
from ._process import Runner, clean_environment, run_process
from ._session_order import recompute_marker
from ._store import HistoryStore, stage_name
from ._tools import DEFAULT_LOCK_WAIT_S, DEFAULT_TIMEOUT_S, Environment, curriculum_of, open_store


@dataclass(frozen=True)
class Step:
    """One session from the earliest affected one: what was recorded, and what the replay decided."""

    row_id: int
    session: str
    stage_before: str | None
    stage_after_old: str | None
    stage_after_new: str | None
    replayed: bool
    """False: no recorded metrics (a skipped session), kept as it is."""

    @property
    def changed(self) -> bool:
        return self.replayed and self.stage_after_old != self.stage_after_new


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
    if from_session is None:
        marker = recompute_marker(store.events(subject))
        if marker is None:
            return Recomputation(subject, None)  # nothing marked: nothing to do
        from_session = marker["session"]
    rows = sorted(store.session_rows(subject, superseded=False), key=lambda r: (r["session_time"], r["id"]))
    first = next((i for i, row in enumerate(rows) if row["session"] == from_session), None)
    if first is None:
        raise InvalidArgument(f"subject {subject!r} has no recorded session {from_session!r} in {store.where}")
    affected = rows[first:]
    if aind := [row["session"] for row in affected if row["dialect"] == "aind" or row["legacy"]]:
        raise InvalidArgument(
            f"cannot recompute {subject!r}: session {aind[0]} was decided through the AIND dialect, "
            "which has no `curriculum replay`"
        )
    state, history = store.starting_point(subject, session=from_session, session_time=affected[0]["session_time"])
    replayed = [row for row in affected if row["status"] == "ok" and row["metrics"] is not None]
    name, allow_dirty, offline = how
    location = locate_curriculum(curriculum_dir, allow_dirty=allow_dirty, git=tools[2])
    name = name or curriculum_of(state)
    results = _replay(location, subject, replayed, (state, history, name), offline, timeout_s, progress, tools)
    steps, decisions, before = [], [], stage_name(state)
    by_id = dict(zip((row["id"] for row in replayed), results, strict=True))
    for row in affected:
        suggestion = by_id.get(row["id"])
        if suggestion is None:
            steps.append(Step(row["id"], row["session"], row["stage_before"], row["stage_after"], None, False))
            continue
        after = stage_name(suggestion["trainer_state"])
        steps.append(Step(row["id"], row["session"], before, row["stage_after"], after, True))
        decisions.append((row["id"], _values(row, suggestion, before, location, state)))
        state, before = suggestion["trainer_state"], after
    result = Recomputation(subject, from_session, steps, next_stage=before)
    if dry_run:
        return result
    detail = {"from": from_session, "replayed": len(decisions), "changed": sum(s.changed for s in steps),
              "curriculum_commit": location.provenance.commit}  # fmt: skip
    new_ids = store.record_recomputation(subject, decisions, detail=detail)
    return Recomputation(subject, from_session, steps, applied=True, new_ids=new_ids, next_stage=before)


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
        "curriculum_version": prov.version, "curriculum_commit": prov.commit, "provenance": prov.as_dict(),
    }  # fmt: skip


def _replay(
    location: CurriculumLocation, subject: str, rows: list[dict[str, Any]],
    start: tuple[dict[str, Any] | None, dict[str, Any], str | None], offline: bool, timeout_s: float,
    progress: Callable[[str], None] | None,
    tools: tuple[Environment, Runner, GitRunner],
) -> list[dict[str, Any]]:  # fmt: skip
    """One ``curriculum replay`` process for ``rows``: their suggestions, in order."""
    if not rows:
        return []
    state, history, name = start
    requests = []
    for number, row in enumerate(rows):
        request = {"session": row["session"], "subject_id": subject, "metrics": row["metrics"],
                   "date": row["session_time"].isoformat() if row["session_time"] else None}  # fmt: skip
        if number == 0:  # the chain's start; every later line continues from the decision before it
            request.update(trainer_state=state, history=history)
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
