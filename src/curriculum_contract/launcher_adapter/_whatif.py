"""``whatif``: what a changed curriculum would have done to the subjects already trained with it.

Both versions, the candidate (``--curriculum DIR``, its working tree) and the reference (``--against``: a git
revision of DIR's repository, default ``HEAD``, or another checkout; ``_versions``), decide the same
requests through ``curriculum replay`` (contract section 8) in their own environments: each subject's current
session rows, in the order they ran, from their **recorded metrics**; one chain per subject starting from the
state its first session started from (the enrollment), nothing afterwards, so each version's decisions feed
its next ones as on a rig. A version of another major version than the stored state starts the subject from
its own enrollment instead. Sessions without metrics (skipped launches) are left out and counted. The two
replays are compared with each other, not with the store, whose decisions may come from a third version
(whether the reference agrees with the store is reported as a sanity check). Computing only: ``_whatif_cli``
prints. Nothing is written to the store.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ._arguments import checked_path, checked_text
from ._bootstrap import ensure_environment
from ._errors import ContractViolation, InvalidArgument, ProcessFailed, SubjectNotEnrolled
from ._locate import locate_curriculum
from ._process import Runner, clean_environment, run_process
from ._store import HistoryStore, stage_name
from ._tools import DEFAULT_TIMEOUT_S, Environment, curriculum_of, open_store
from ._versions import other_version, working_tree_label

#: ``version`` of the JSON document ``whatif --json`` prints.
REPORT_VERSION = 1
Verdict = Literal["later", "earlier", "never", "same"]
_MIGRATION_EXIT = 3  # the SDK's InputError family: MigrationRequired says "stage migration"


@dataclass(frozen=True)
class Decision:
    """What one version decided after one session: the stage it suggests next, or why it decided nothing."""

    stage: str | None
    summary: str
    policies: tuple[str, ...] = ()
    before: str | None = None
    """The stage the session was decided in (a version starting from its own enrollment has its own)."""

    @property
    def decided(self) -> bool:
        return self.stage is not None


@dataclass(frozen=True)
class Step:
    """One replayed session: as recorded, and as each version decided it. ``index`` counts replayed sessions."""

    index: int
    session: str
    date: datetime | None
    recorded: str | None
    reference: Decision
    candidate: Decision

    @property
    def differs(self) -> bool:
        ref, cand = self.reference, self.candidate
        return (ref.stage, ref.policies, ref.decided) != (cand.stage, cand.policies, cand.decided)


@dataclass(frozen=True)
class Reached:
    """When a stage was first reached: 0 at the start, ``n`` after replayed session ``n``, None never."""

    stage: str
    reference: int | None
    candidate: int | None


@dataclass(frozen=True)
class SubjectWhatIf:
    """One subject's two trajectories over its recorded sessions."""

    subject: str
    start: str | None
    steps: tuple[Step, ...]
    skipped: int
    notes: tuple[str, ...] = ()

    def _trajectory(self, which: str) -> list[str | None]:
        first = getattr(self.steps[0], which).before if self.steps else None
        return [first or self.start, *(getattr(step, which).stage for step in self.steps)]

    @property
    def reached(self) -> list[Reached]:
        """Every stage either version reached, in the order the reference reached them (then the candidate's)."""
        ref, cand = self._trajectory("reference"), self._trajectory("candidate")
        order = list(dict.fromkeys(s for s in [*ref, *cand] if s is not None))
        return [Reached(s, ref.index(s) if s in ref else None, cand.index(s) if s in cand else None) for s in order]

    @property
    def verdict(self) -> Verdict:
        """Whether the candidate reaches the reference's furthest stage later, earlier, never, or with it."""
        reached = self.reached
        progressed = [r for r in reached if r.reference]
        if not progressed:  # the reference never left the start: the candidate either moves on or does not
            return "earlier" if any(r.candidate for r in reached if r.reference is None) else "same"
        target = max(progressed, key=lambda r: r.reference or 0)
        if target.candidate is None:
            return "never"
        assert target.reference is not None
        if target.candidate == target.reference:
            return "same"
        return "later" if target.candidate > target.reference else "earlier"

    @property
    def differing(self) -> list[Step]:
        return [step for step in self.steps if step.differs]

    def undecided(self, which: Literal["reference", "candidate"]) -> list[Step]:
        """The sessions that version could not decide (its error, or a failed line before it in the chain)."""
        return [step for step in self.steps if not getattr(step, which).decided]

    @property
    def recorded_mismatches(self) -> int:
        """Sessions where the reference's replay does not decide what the store recorded."""
        return sum(step.recorded != step.reference.stage for step in self.steps)


@dataclass(frozen=True)
class WhatIf:
    """The comparison: which versions, from which store, one entry per subject."""

    reference: str
    candidate: str
    store: str
    subjects: tuple[SubjectWhatIf, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        out = {verdict: 0 for verdict in ("later", "earlier", "never", "same")}
        for subject in self.subjects:
            out[subject.verdict] += 1
        return out


@dataclass
class _Chain:
    subject: str
    rows: list[dict[str, Any]]
    start: dict[str, Any] | None
    skipped: int


def whatif(
    curriculum_dir: str | os.PathLike[str],
    *,
    store: HistoryStore | str | os.PathLike[str],
    against: str = "HEAD",
    subjects: Sequence[str] = (),
    name: str | None = None,
    offline: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
) -> WhatIf:
    """Replay ``subjects`` (default: every subject of the store's one curriculum, or of ``name``) through both."""
    checkout = checked_path(curriculum_dir, "curriculum directory").expanduser().resolve()
    history_store = open_store(store)
    try:
        chains = _chains(history_store, [checked_text(s, "subject id") for s in subjects], name)
        where = history_store.where
    finally:
        if history_store is not store:
            history_store.close()
    program = name or next((curriculum_of(c.start) for c in chains if curriculum_of(c.start)), None)
    how = (program, offline, timeout_s, progress, environment, runner)
    with tempfile.TemporaryDirectory(prefix="curriculum-whatif-") as scratch:
        other, label = other_version(checkout, against, Path(scratch), option="--against")
        reference = _replay_version(other, label, chains, how)
    candidate_label = working_tree_label(checkout)
    candidate = _replay_version(checkout, candidate_label, chains, how)
    results = []
    for chain in chains:
        (ref, ref_note), (cand, cand_note) = reference[chain.subject], candidate[chain.subject]
        steps = tuple(
            Step(i, row["session"], row["session_time"], row["stage_after"], r, c)
            for i, (row, r, c) in enumerate(zip(chain.rows, ref, cand, strict=True), start=1)
        )
        notes = tuple(note for note in (ref_note and f"reference: {ref_note}", cand_note and f"candidate: {cand_note}")
                      if note)  # fmt: skip
        results.append(SubjectWhatIf(chain.subject, stage_name(chain.start), steps, chain.skipped, notes))
    return WhatIf(label, candidate_label, where, tuple(results))


def _chains(store: HistoryStore, subjects: list[str], name: str | None) -> list[_Chain]:
    """Each subject's replayable rows (ok, with metrics) in session order, and the state it started from."""
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for row in store.iter_session_rows(subjects[0] if len(subjects) == 1 else None, superseded=False):
        if subjects and row["subject"] not in subjects:
            continue
        if name is not None and row["curriculum_name"] not in (name, None):  # a skipped launch names none
            continue
        by_subject.setdefault(row["subject"], []).append(row)
    missing = [s for s in subjects if s not in by_subject]
    if missing:
        raise SubjectNotEnrolled(f"whatif: subject {missing[0]!r} has no recorded session in {store.where}")
    names = sorted({r["curriculum_name"] for rows in by_subject.values() for r in rows if r["curriculum_name"]})
    if not subjects and name is None and len(names) > 1:
        raise InvalidArgument(
            f"whatif: {store.where} holds subjects of {len(names)} curricula ({', '.join(names)}): "
            "give --name NAME or --subject ID"
        )
    chains = []
    for subject in subjects or sorted(by_subject):
        rows = sorted(by_subject[subject], key=lambda r: (r["session_time"] or r["started_at"], r["id"]))
        kept = [row for row in rows if row["status"] == "ok" and row["metrics"] is not None]
        first = rows[0]
        start = first["input_trainer_state"]
        if start is None:
            start, _ = store.starting_point(subject, session=first["session"], session_time=first["session_time"])
        chains.append(_Chain(subject, kept, start, len(rows) - len(kept)))
    return chains


_How = tuple[str | None, bool, float, Callable[[str], None] | None, Environment, Runner]


def _replay_version(
    checkout: Path, label: str, chains: list[_Chain], how: _How
) -> dict[str, tuple[list[Decision], str | None]]:
    """Every chain through one version's ``curriculum replay``: per subject its decisions and a note."""
    program, offline, timeout_s, progress, environment, runner = how
    location = locate_curriculum(checkout, allow_dirty=True)
    executable = environment(location, offline=offline, progress=progress)

    def run(selected: list[_Chain], with_state: bool) -> dict[str, list[Decision]]:
        requests = [_request(chain, i, with_state) for chain in selected for i in range(len(chain.rows))]
        if not requests:
            return {chain.subject: [] for chain in selected}
        with tempfile.TemporaryDirectory(prefix="curriculum-whatif-") as work:
            path = Path(work) / "requests.jsonl"
            path.write_text("\n".join(requests) + "\n", encoding="utf-8")
            argv = [str(executable), "replay", "--input", str(path), *(["--curriculum", program] if program else [])]
            result = runner(argv, cwd=location.project_dir, timeout_s=timeout_s, env=clean_environment())
        lines = [line for line in result.stdout.decode("utf-8", "replace").splitlines() if line.strip()]
        if not lines and result.exit_code == 2 and "replay" in result.stderr.decode("utf-8", "replace"):
            return _one_by_one(executable, location.project_dir, selected, with_state, how)  # no such command
        if not lines and result.exit_code != 0:
            failed = ProcessFailed.from_result(result)
            raise ProcessFailed(
                f"whatif: {label}: `curriculum replay` decided nothing ({failed}); a curriculum on contract 1.0 "
                "or the AIND dialect has no batch replay: update its curriculum-contract dependency",
                argv=argv, child_exit_code=result.exit_code, stderr_tail=failed.stderr_tail,
            )  # fmt: skip
        if len(lines) != len(requests):
            raise ContractViolation(
                f"whatif: {label}: `curriculum replay` printed {len(lines)} line(s) for {len(requests)} request(s)"
            )
        decisions = iter(_decision(line, label) for line in lines)
        return {chain.subject: [next(decisions) for _ in chain.rows] for chain in selected}

    out = {subject: (decisions, None) for subject, decisions in run(chains, True).items()}
    other_major = [chain for chain in chains if _needs_migration(out[chain.subject][0])]
    if other_major:  # the stored state is of another major version: this version's own enrollment instead
        note = "started from its own enrollment (the stored state is of another major version)"
        out.update({subject: (decisions, note) for subject, decisions in run(other_major, False).items()})
    return out


def _one_by_one(
    executable: Path, cwd: Path, selected: list[_Chain], with_state: bool, how: _How
) -> dict[str, list[Decision]]:
    from ._whatif_fallback import NOTE, decide_one_by_one

    program, _offline, timeout_s, _progress, _environment, runner = how
    out = {}
    for chain in selected:
        start = chain.start if with_state else None
        decided = decide_one_by_one(executable, cwd, chain.rows, start, program=program, runner=runner,
                                    timeout_s=timeout_s)  # fmt: skip
        out[chain.subject] = [Decision(stage, f"{summary} [{NOTE}]" if stage else summary, (), before)
                              for stage, summary, before in decided]  # fmt: skip
    return out


def _request(chain: _Chain, index: int, with_state: bool) -> str:
    row = chain.rows[index]
    when = row["session_time"] or row["started_at"]
    request: dict[str, Any] = {"session": row["session"], "subject_id": chain.subject, "metrics": row["metrics"],
                               "date": when.isoformat() if when else None}  # fmt: skip
    if index == 0 and with_state and chain.start is not None:
        request["trainer_state"] = chain.start  # every later line continues from this version's own decision
    return json.dumps(request)


def _decision(line: str, label: str) -> Decision:
    try:
        document = json.loads(line)
        error, suggestion = document.get("error"), document.get("suggestion")
        if error is not None:
            return Decision(None, f"not decided (exit {error['exit_code']}): {error['reason']}")
        decision = suggestion["decision"]
        policies = tuple(str(p) for p in decision.get("policies") or ())
        return Decision(stage_name(suggestion["trainer_state"]), str(decision["summary"]), policies,
                        decision.get("stage_before"))  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ContractViolation(f"whatif: {label}: a `curriculum replay` line is not a result: {exc!r}") from None


def _needs_migration(decisions: list[Decision]) -> bool:
    first = decisions[0].summary if decisions else ""
    return first.startswith(f"not decided (exit {_MIGRATION_EXIT})") and "stage migration" in first
