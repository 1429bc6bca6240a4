"""The golden replay of a curriculum repository: its sample sessions replayed from enrollment.

``tests/data/replay.json`` records, oldest first, the sessions and what the curriculum decided after each;
each session's folder holds the inputs a launcher would have placed before its run.
"""

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import write_text_atomic
from ._layout import history_path, trainer_state_path
from ._session import ReplayStep, replay_steps
from ._spec import CurriculumSpec

#: The golden replay's manifest, in the sample sessions' folder.
MANIFEST_FILE = "replay.json"


@dataclass(frozen=True)
class RecordedSession:
    """One entry of ``replay.json``: a sample session's folder and the stage suggested after it."""

    session: str
    stage_after: str
    stage: str | None = None
    """The stage the session ran in (informative: the replay checks ``stage_after``)."""


@dataclass(frozen=True)
class GoldenReplay:
    """The recorded sample sessions of a curriculum repository, replayed from enrollment.

    ``replay.json`` (``{"sessions": [{"session": <folder>, "stage_after": <stage>}, ...]}``, oldest
    first) records the stage the curriculum must suggest after each session; each session's folder
    also holds the inputs a launcher would have placed before its run. ``regenerate`` is the command
    that rewrites those inputs (or the whole samples): failures point the author at it.
    """

    data: Path
    regenerate: str
    recorded: tuple[RecordedSession, ...]

    @classmethod
    def load(cls, data: str | os.PathLike[str], *, regenerate: str) -> "GoldenReplay":
        """Read ``<data>/replay.json``."""
        return cls(Path(data), regenerate, read_manifest(data))

    @property
    def sessions(self) -> list[Path]:
        return [self.data / entry.session for entry in self.recorded]

    @property
    def expected_stages(self) -> list[str]:
        return [entry.stage_after for entry in self.recorded]

    def run(self, spec: CurriculumSpec, *, opts: Mapping[str, str] | None = None) -> list[ReplayStep]:
        """Replay the sessions from enrollment, as a launcher would run them one after another."""
        return list(replay_steps(spec, self.sessions, opts=opts))

    def assert_progresses_as_recorded(self, steps: Sequence[ReplayStep]) -> None:
        """Fail with one line per session (expected stage, suggested stage, the decision's summary)."""
        got = [step.suggestion.trainer_state.stage.name for step in steps]
        if got != self.expected_stages:
            table = "\n".join(
                f"  {entry.session}: expected {entry.stage_after}, got {stage}; {step.suggestion.decision.summary}"
                for entry, stage, step in zip(self.recorded, got, steps, strict=True)
            )
            raise AssertionError(f"the subject no longer progresses as recorded:\n{table}")

    def stale_inputs(self, steps: Sequence[ReplayStep]) -> list[tuple[Path, dict[str, Any], str]]:
        """The sample input files that differ from what the replay fed: path, fed document, first difference.

        A launcher also records the subject's id and each session's date, which a replay cannot know:
        those are not compared.
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
                difference = _difference(compared(recorded), compared(document), "")
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
    return RecordedSession(session, stage_after, stage)


def _as_is(document: Any) -> Any:
    return document


def _without_bookkeeping(history: Any) -> Any:
    """A history document without the subject's id and the sessions' dates (what only a launcher knows)."""
    if not isinstance(history, dict) or not isinstance(history.get("sessions"), list):
        return history
    sessions = [{**entry, "date": None} if isinstance(entry, dict) else entry for entry in history["sessions"]]
    return {**history, "subject_id": None, "sessions": sessions}


def _difference(recorded: Any, expected: Any, where: str) -> str | None:
    """Where two JSON documents first differ, or None: floats equal to 1e-6 (metrics may come from a
    numerical fit, which differs in the last digits between platforms), NaN equal to null."""
    if isinstance(recorded, dict) and isinstance(expected, dict):
        if recorded.keys() != expected.keys():
            only_recorded, only_fed = recorded.keys() - expected.keys(), expected.keys() - recorded.keys()
            return f"{where or 'document'}: keys only recorded {sorted(only_recorded)}, only fed {sorted(only_fed)}"
        found = (_difference(recorded[k], expected[k], f"{where}.{k}" if where else k) for k in recorded)
        return next((d for d in found if d is not None), None)
    if isinstance(recorded, list) and isinstance(expected, list):
        if len(recorded) != len(expected):
            return f"{where}: {len(recorded)} items recorded, {len(expected)} fed"
        found = (_difference(r, e, f"{where}[{i}]") for i, (r, e) in enumerate(zip(recorded, expected, strict=True)))
        return next((d for d in found if d is not None), None)
    if recorded == expected or (_is_nan(recorded) and _is_nan(expected)):
        return None
    if _is_number(recorded) and _is_number(expected) and math.isclose(recorded, expected, rel_tol=1e-6, abs_tol=1e-9):
        return None
    return f"{where}: recorded {recorded!r}, fed {expected!r}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
