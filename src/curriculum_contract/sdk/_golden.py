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
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_text_atomic
from ._golden_manifest import (
    DEFAULT_TOLERANCE,
    MANIFEST_FILE,
    RecordedSession,
    Tolerance,
    decision_changes,
    decision_record,
    manifest_entry,
    read_manifest,
    value_difference,
)
from ._layout import history_path, trainer_state_path
from ._session import ReplayStep, replay_steps
from ._spec import CurriculumSpec


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
                what += decision_changes(entry.decision, decision_record(step.suggestion))
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
                difference = value_difference(entry.metrics.get(name), now.get(name), name, self.tolerance_for(name))
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
            if name in recorded and value_difference(recorded[name], value, name, self.tolerance_for(name)) is None
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
        difference = value_difference(recorded, expected, where, self.tolerance_for(key), skip_undefined=in_metrics)
        return None if difference is None else difference.replace(", got ", ", fed ")


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
