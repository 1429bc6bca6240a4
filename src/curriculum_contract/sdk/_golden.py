"""The golden replay of a curriculum repository: its sample sessions replayed from enrollment.

``tests/data/replay.json`` records, oldest first, each sample session with what the curriculum decided after
it: the stage, every transition evaluated (fired or not, and which of its conditions held), the policies
applied, and the session's metrics. Each session's folder also holds the inputs a launcher would have placed
before its run. A replay is checked in two parts that fail differently:

- **progress**: stages and decisions must match exactly. A difference means the curriculum now treats
  subjects differently; if that is intended, the failure prints the one command that accepts it.
- **numbers**: metrics must match within a tolerance (``DEFAULT_TOLERANCE``, overridable per metric);
  drift within it is no failure, so the samples replay on any machine. Values reported as undefined
  (null or NaN, on either side) are not compared: an undefined value decides nothing.
"""

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_text_atomic
from ._contract import Suggestion
from ._layout import history_path, trainer_state_path
from ._session import ReplayStep, replay_steps
from ._spec import CurriculumSpec

#: The golden replay's manifest, in the sample sessions' folder.
MANIFEST_FILE = "replay.json"


@dataclass(frozen=True)
class Tolerance:
    """Two numbers agree when ``|a - b| <= max(rel * max(|a|, |b|), abs)`` (``math.isclose``)."""

    rel: float = 1e-4
    abs: float = 1e-5

    def agrees(self, a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=self.rel, abs_tol=self.abs)

    def __str__(self) -> str:
        return f"rel {self.rel:g}, abs {self.abs:g}"


#: The SDK's psychometric fit reproduces identified parameters to 1e-6 (relative) on any machine; the
#: margin covers metrics derived from fitted values and rounded for the history.
DEFAULT_TOLERANCE = Tolerance()


@dataclass(frozen=True)
class RecordedSession:
    """One entry of ``replay.json``: a sample session and what the curriculum decided after it."""

    session: str
    stage_after: str
    stage: str | None = None
    """The stage the session ran in."""
    decision: Mapping[str, Any] | None = None
    """Transitions and policies (``decision_record``); None in a manifest that records stages only."""
    metrics: Mapping[str, Any] | None = None
    """The session's metrics as JSON values; None in a manifest that records stages only."""


def decision_record(suggestion: Suggestion) -> dict[str, Any]:
    """What a decision is made of, without its prose: each evaluated rule, whether it fired, which
    conditions held, and the policies applied. Compared exactly."""
    decision = suggestion.decision
    rules = [
        {
            "rule": report.name.rsplit(".", 1)[-1],
            "evaluated": report.evaluated,
            "fired": report.fired,
            "conditions": [condition.passed for condition in report.conditions],
        }
        for report in [*decision.transitions, *decision.policy_transitions]
    ]
    policies = [report.name.rsplit(".", 1)[-1] for report in decision.policies if report.fired]
    return {"rules": rules, "policies": policies}


def manifest_entry(session: str, stage: str, suggestion: Suggestion) -> dict[str, Any]:
    """The ``replay.json`` entry of one session that ran in ``stage`` and got ``suggestion``."""
    return {
        "session": session,
        "stage": stage,
        "stage_after": suggestion.trainer_state.stage.name,
        "decision": decision_record(suggestion),
        "metrics": json.loads(suggestion.metrics.model_dump_json()),
    }


@dataclass(frozen=True)
class GoldenReplay:
    """The recorded sample sessions of a curriculum repository, replayed from enrollment.

    ``regenerate`` is the command that rewrites the sample inputs; ``accept`` the one that also rewrites
    ``replay.json`` after an intended change of progress (default: ``regenerate`` with ``--accept``).
    ``tolerances`` overrides ``tolerance`` for the metrics it names.
    """

    data: Path
    regenerate: str
    recorded: tuple[RecordedSession, ...]
    accept: str = ""
    tolerance: Tolerance = DEFAULT_TOLERANCE
    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        data: str | os.PathLike[str],
        *,
        regenerate: str,
        accept: str | None = None,
        tolerance: Tolerance = DEFAULT_TOLERANCE,
        tolerances: Mapping[str, Tolerance] | None = None,
    ) -> "GoldenReplay":
        """Read ``<data>/replay.json``."""
        accept = accept if accept is not None else f"{regenerate} --accept"
        return cls(Path(data), regenerate, read_manifest(data), accept, tolerance, dict(tolerances or {}))

    @property
    def sessions(self) -> list[Path]:
        return [self.data / entry.session for entry in self.recorded]

    @property
    def expected_stages(self) -> list[str]:
        return [entry.stage_after for entry in self.recorded]

    def tolerance_for(self, metric: str) -> Tolerance:
        return self.tolerances.get(metric, self.tolerance)

    def run(self, spec: CurriculumSpec, *, opts: Mapping[str, str] | None = None) -> list[ReplayStep]:
        """Replay the sessions from enrollment, as a launcher would run them one after another."""
        return list(replay_steps(spec, self.sessions, opts=opts))

    def progress_changes(self, steps: Sequence[ReplayStep]) -> list[str]:
        """One line per session whose stage or decision differs from the record."""
        changes = []
        for entry, step in zip(self.recorded, steps, strict=True):
            stage = step.suggestion.trainer_state.stage.name
            what = []
            if stage != entry.stage_after:
                what.append(f"expected {entry.stage_after}, got {stage}")
            if entry.decision is not None:
                what += _decision_changes(entry.decision, decision_record(step.suggestion))
            if what:
                changes.append(f"  {entry.session}: {'; '.join(what)} ({step.suggestion.decision.summary})")
        return changes

    def metric_drifts(self, steps: Sequence[ReplayStep]) -> list[str]:
        """One line per metric that moved beyond its tolerance (undefined values are not compared)."""
        drifts = []
        for entry, step in zip(self.recorded, steps, strict=True):
            if entry.metrics is None:
                continue
            now = json.loads(step.suggestion.metrics.model_dump_json())
            for name in sorted(entry.metrics.keys() | now.keys()):
                difference = _difference(entry.metrics.get(name), now.get(name), name, self.tolerance_for(name))
                if difference is not None:
                    drifts.append(f"  {entry.session}: {difference} (tolerance {self.tolerance_for(name)})")
        return drifts

    def assert_progresses_as_recorded(self, steps: Sequence[ReplayStep]) -> None:
        """Stages and decisions exactly as recorded; the message says how to accept an intended change."""
        if len(steps) != len(self.recorded):
            raise AssertionError(
                f"replayed {len(steps)} sessions, {self.data / MANIFEST_FILE} records {len(self.recorded)}"
            )
        changes = self.progress_changes(steps)
        if changes:
            raise AssertionError(
                "progress changed: the subject no longer progresses as recorded in "
                f"{self.data / MANIFEST_FILE}:\n" + "\n".join(changes) + "\n"
                f"If the change is intended, accept it (rewrites replay.json and the sample inputs): `{self.accept}`"
            )

    def assert_metrics_as_recorded(self, steps: Sequence[ReplayStep]) -> None:
        """Metrics within tolerance of the record; drift within tolerance is not a failure."""
        drifts = self.metric_drifts(steps)
        if drifts:
            raise AssertionError(
                f"numbers drifted beyond tolerance from {self.data / MANIFEST_FILE}:\n" + "\n".join(drifts) + "\n"
                f"If the change is intended, accept it (rewrites replay.json and the sample inputs): `{self.accept}`"
            )

    def stale_inputs(self, steps: Sequence[ReplayStep]) -> list[tuple[Path, dict[str, Any], str]]:
        """The sample input files that differ from what the replay fed: path, fed document, first difference.

        A launcher also records the subject's id and each session's date, which a replay cannot know:
        those are not compared. Numbers are compared within tolerance, undefined values not at all.
        """
        stale = []
        for step in steps:
            state = json.loads(step.trainer_state.model_dump_json())
            history = json.loads(step.history.model_dump_json())
            for path, document, compared in (
                (trainer_state_path(step.directory), state, _as_is),
                (history_path(step.directory), history, _without_bookkeeping),
            ):
                try:
                    recorded = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as error:
                    stale.append((path, document, f"unreadable ({type(error).__name__}: {error})"))
                    continue
                difference = self._document_difference(compared(recorded), compared(document), "")
                if difference is not None:
                    stale.append((path, document, difference))
        return stale

    def assert_inputs_as_fed(self, steps: Sequence[ReplayStep]) -> None:
        """Each sample's ``curriculum/trainer_state.json`` and ``history.json`` are what the replay fed it,
        so ``curriculum run --path`` on one sample suggests what the replay does."""
        stale = self.stale_inputs(steps)
        if stale:
            lines = "\n".join(f"  {path}: {difference}" for path, _document, difference in stale)
            raise AssertionError(
                f"sample inputs are out of date with the curriculum; run `{self.regenerate}`:\n{lines}"
            )

    def refresh_inputs(self, steps: Sequence[ReplayStep]) -> list[Path]:
        """Rewrite the stale sample inputs with what the replay fed; return the files rewritten."""
        stale = self.stale_inputs(steps)
        for path, document, _difference in stale:
            write_text_atomic(path, json.dumps(document, indent=2) + "\n")
        return [path for path, _document, _difference in stale]

    def accept_replay(self, steps: Sequence[ReplayStep]) -> list[Path]:
        """Record the replay as the new expectation: ``replay.json`` (recorded numbers within tolerance are
        kept, so accepting on another machine changes nothing) and the stale sample inputs."""
        manifest_path = self.data / MANIFEST_FILE
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = []
        for entry, step in zip(self.recorded, steps, strict=True):
            new = manifest_entry(entry.session, step.trainer_state.stage.name, step.suggestion)
            new["metrics"] = self._keep_close(entry.metrics or {}, new["metrics"])
            entries.append(new)
        written = []
        if entries != manifest.get("sessions"):
            write_text_atomic(manifest_path, json.dumps({**manifest, "sessions": entries}, indent=2) + "\n")
            written.append(manifest_path)
        return written + self.refresh_inputs(steps)

    def _keep_close(self, recorded: Mapping[str, Any], now: dict[str, Any]) -> dict[str, Any]:
        return {
            name: recorded[name]
            if name in recorded and _difference(recorded[name], value, name, self.tolerance_for(name)) is None
            else value
            for name, value in now.items()
        }

    def _document_difference(self, recorded: Any, expected: Any, where: str) -> str | None:
        """Where two JSON documents first differ, or None (numbers within the tolerance of their key)."""
        if isinstance(recorded, dict) and isinstance(expected, dict):
            if recorded.keys() != expected.keys():
                only_recorded, only_fed = recorded.keys() - expected.keys(), expected.keys() - recorded.keys()
                return f"{where or 'document'}: keys only recorded {sorted(only_recorded)}, only fed {sorted(only_fed)}"
            found = (
                self._document_difference(recorded[k], expected[k], f"{where}.{k}" if where else k) for k in recorded
            )
            return next((d for d in found if d is not None), None)
        if isinstance(recorded, list) and isinstance(expected, list):
            if len(recorded) != len(expected):
                return f"{where}: {len(recorded)} items recorded, {len(expected)} fed"
            pairs = enumerate(zip(recorded, expected, strict=True))
            found = (self._document_difference(r, e, f"{where}[{i}]") for i, (r, e) in pairs)
            return next((d for d in found if d is not None), None)
        key = where.rsplit(".", 1)[-1]
        in_metrics = ".metrics." in f".{where}"  # only a metric is ever "undefined"
        difference = _difference(recorded, expected, where, self.tolerance_for(key), skip_undefined=in_metrics)
        return None if difference is None else difference.replace(", got ", ", fed ")


def _decision_changes(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between two ``decision_record``s, in words."""
    changes = []
    before = {rule["rule"]: rule for rule in recorded.get("rules", [])}
    after = {rule["rule"]: rule for rule in now.get("rules", [])}
    for name in [*before, *(n for n in after if n not in before)]:
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changes.append(f"rule {name} {'no longer evaluated' if new is None else 'newly evaluated'}")
        elif old["fired"] != new["fired"]:
            changes.append(f"{name} {'fired' if new['fired'] else 'did not fire'} (recorded: the opposite)")
        elif old != new:
            changes.append(f"{name} conditions held {new['conditions']} (recorded {old['conditions']})")
    if list(recorded.get("policies", [])) != list(now.get("policies", [])):
        changes.append(f"policies applied {now.get('policies')} (recorded {recorded.get('policies')})")
    return changes


def _difference(
    recorded: Any, now: Any, where: str, tolerance: Tolerance, *, skip_undefined: bool = True
) -> str | None:
    """``None`` when two JSON values agree: equal, numbers within ``tolerance``, both undefined, or (with
    ``skip_undefined``) either undefined."""
    if recorded == now or (_is_undefined(recorded) and _is_undefined(now)):
        return None
    if _is_number(recorded) and _is_number(now) and tolerance.agrees(recorded, now):
        return None
    if skip_undefined and (_is_undefined(recorded) or _is_undefined(now)) and (_is_number(recorded) or _is_number(now)):
        return None
    return f"{where}: recorded {recorded!r}, got {now!r}"


def read_manifest(data: str | os.PathLike[str]) -> tuple[RecordedSession, ...]:
    """The sessions ``<data>/replay.json`` lists, oldest first."""
    manifest = Path(data) / MANIFEST_FILE
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["sessions"]
        return tuple(_recorded(entry) for entry in entries)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{manifest}: not a golden replay manifest ({type(error).__name__}: {error})") from error


def _recorded(entry: Mapping[str, Any]) -> RecordedSession:
    session, stage_after, stage = entry["session"], entry["stage_after"], entry.get("stage")
    if not isinstance(session, str) or session in ("", ".", "..") or Path(session).name != session:
        raise ValueError(f"session {session!r} is not a folder name")
    if not isinstance(stage_after, str) or not isinstance(stage, str | None):
        raise ValueError(f"{session}: stage and stage_after must be stage names")
    decision, metrics = entry.get("decision"), entry.get("metrics")
    if not isinstance(decision, dict | None) or not isinstance(metrics, dict | None):
        raise ValueError(f"{session}: decision and metrics must be objects")
    return RecordedSession(session, stage_after, stage, decision, metrics)


def _as_is(document: Any) -> Any:
    return document


def _without_bookkeeping(history: Any) -> Any:
    """A history document without the subject's id and the sessions' dates (what only a launcher knows),
    nor its contract version (a 1.0 sample feeds the curriculum what a 1.1 replay does); no ``events``
    (1.1) is an empty list of them."""
    if not isinstance(history, dict) or not isinstance(history.get("sessions"), list):
        return history
    sessions = [{**entry, "date": None} if isinstance(entry, dict) else entry for entry in history["sessions"]]
    events = history.get("events") or []
    return {**history, "contract_version": None, "subject_id": None, "sessions": sessions, "events": events}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _is_undefined(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
