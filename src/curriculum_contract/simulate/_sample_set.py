"""A curriculum repository's sample sessions, regenerated from the simulator in one call.

``regenerate_samples`` trains one seeded population learner (subject ``index`` of ``curriculum simulate
--seed SEED``: the same learner, drawn the same way) in closed loop from enrollment until the curriculum
suggests its last stage, and makes ``tests/data`` exactly that run: per session the trials table and the inputs
a launcher would have placed (``curriculum/trainer_state.json``, ``curriculum/history.json``), and
``replay.json``, what the curriculum decided after each. Only what differs is written: a JSON number within the
replay's tolerance of the one on disk is kept as it is, so running it again, or on another machine, rewrites
nothing. It returns what it changed, and how the decisions differ from the previous ``replay.json``.
"""

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .._files import write_text_atomic
from ..sdk._contract import History
from ..sdk._golden_manifest import DEFAULT_TOLERANCE, MANIFEST_FILE, Tolerance, decision_changes, manifest_entry
from ..sdk._layout import history_path, trainer_state_path
from ..sdk._session import next_history
from ..sdk._spec import CurriculumSpec
from ._errors import SamplesNotOwned
from ._experiment import Experiment
from ._learners import LearnerFactory, LearnerParameters
from ._loop import TrainingStep, run_training
from ._stage_graph import stage_order

TRIALS_FILE = "trials.csv"
#: What a sample session folder holds: all of it written by this module.
_OWNED = {TRIALS_FILE, "curriculum", "curriculum/trainer_state.json", "curriculum/history.json"}


@dataclass(frozen=True)
class SampleChanges:
    """What ``regenerate_samples`` did: the sessions now in the data folder and the files it touched."""

    steps: list[TrainingStep]
    """The sample sessions, oldest first (``directory`` in the data folder)."""
    final_stage: str
    written: list[Path] = field(default_factory=list)
    """Files added or rewritten (``replay.json`` last)."""
    removed: list[Path] = field(default_factory=list)
    """Session folders of the previous ``replay.json`` that are no longer samples."""
    progress: list[str] = field(default_factory=list)
    """One line per session whose stage or decision differs from the previous ``replay.json``."""

    @property
    def reached_final_stage(self) -> bool:
        return bool(self.steps) and self.steps[-1].next_stage == self.final_stage

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def regenerate_samples(
    spec: CurriculumSpec,
    data_dir: str | os.PathLike[str],
    *,
    description: str,
    learner: str | LearnerFactory = "two_afc",
    seed: int = 0,
    index: int = 0,
    parameters: LearnerParameters | None = None,
    max_sessions: int = 30,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
) -> SampleChanges:
    """Make ``data_dir`` the closed-loop run of subject ``index`` of the population ``seed`` (see the module doc).

    Training stops after the session that brings the subject to the curriculum's last stage, or after
    ``max_sessions``. Folders the previous ``replay.json`` lists and the new run does not are removed; other
    folders of ``data_dir`` are never touched.
    """
    if max_sessions < 1:
        raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
    data = Path(data_dir)
    experiment = Experiment(
        spec,
        learner,
        subjects=index + 1,
        sessions=max_sessions,
        seed=seed,
        parameters=parameters or LearnerParameters(),
    )
    final = stage_order(spec)[-1]
    old = _read_json(data / MANIFEST_FILE) or {}
    old_entries = {entry["session"]: entry for entry in old.get("sessions", [])}
    with tempfile.TemporaryDirectory(prefix="curriculum-samples-") as scratch:
        steps = _train_until(spec, experiment, index, Path(scratch), final, max_sessions)
        files = {step.directory.name: _session_files(step.directory) for step in steps}
    _check_owned(data, old_entries, files)
    made = experiment.description()
    manifest = {
        "description": description,
        "curriculum_version": spec.package_version,
        "simulated": {
            "learner": made["learner"],
            "parameters": made["parameters"],
            "seed": seed,
            "subject": experiment.subject_id(index),
            "max_sessions": max_sessions,
        },
        "sessions": [manifest_entry(s.directory.name, s.stage, s.suggestion) for s in steps],
    }
    written = [
        path
        for name, texts in files.items()
        for relative, text in texts.items()
        if (path := _write_if_changed(data / name / relative, text, tolerance)) is not None
    ]
    removed = []
    for name in old_entries.keys() - files.keys():
        if (data / name).is_dir():
            shutil.rmtree(data / name)
            removed.append(data / name)
    if (path := _write_if_changed(data / MANIFEST_FILE, _dumps(manifest), tolerance)) is not None:
        written.append(path)
    steps = [replace(step, directory=data / step.directory.name) for step in steps]
    return SampleChanges(steps, final, written, sorted(removed), _progress(old_entries, manifest["sessions"]))


def _train_until(
    spec: CurriculumSpec, experiment: Experiment, index: int, root: Path, final: str, max_sessions: int
) -> list[TrainingStep]:
    """``run_training`` one session at a time, up to the one after which ``final`` is suggested."""
    learner, subject_id = experiment.make_learner(index), experiment.subject_id(index)
    state, history = spec.enroll(), History.first(subject_id=subject_id, curriculum_name=spec.name)
    steps: list[TrainingStep] = []
    while len(steps) < max_sessions and (not steps or steps[-1].next_stage != final):
        (step,) = run_training(spec, learner, root, sessions=1, start=state, history=history)
        steps.append(replace(step, index=len(steps)))
        history = next_history(history, step.directory.name, step.stage, step.suggestion, step.session.start)
        state = step.suggestion.trainer_state
    return steps


def _session_files(directory: Path) -> dict[str, str]:
    return {
        TRIALS_FILE: (directory / TRIALS_FILE).read_text(encoding="utf-8"),
        "curriculum/trainer_state.json": trainer_state_path(directory).read_text(encoding="utf-8"),
        "curriculum/history.json": history_path(directory).read_text(encoding="utf-8"),
    }


def _check_owned(data: Path, old_entries: dict[str, Any], files: dict[str, dict[str, str]]) -> None:
    """Every folder to replace or remove is a listed sample holding only the files this module writes."""
    for name in sorted(old_entries.keys() | files.keys()):
        folder = data / name
        if not folder.is_dir():
            continue
        if name not in old_entries:
            raise SamplesNotOwned(
                f"{folder}: a sample session would replace this folder, not listed in {MANIFEST_FILE}"
            )
        foreign = sorted(
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*")
            if path.relative_to(folder).as_posix() not in _OWNED
        )
        if foreign:
            raise SamplesNotOwned(f"{folder}: holds {foreign[0]}, not written by the sample writer; move it away")


def _write_if_changed(path: Path, text: str, tolerance: Tolerance) -> Path | None:
    """Write ``text`` unless ``path`` already says the same (JSON: numbers within ``tolerance`` are kept)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if old is not None and path.suffix == ".json":
        recorded = _read_json(path)
        if recorded is not None:
            text = _dumps(_keep_close(recorded, json.loads(text), tolerance))
    return None if text == old else write_text_atomic(path, text)


def _keep_close(old: Any, new: Any, tolerance: Tolerance) -> Any:
    """``new``, with the numbers of ``old`` where they agree within ``tolerance`` (same shape only)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {key: _keep_close(old[key], value, tolerance) if key in old else value for key, value in new.items()}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [_keep_close(o, n, tolerance) for o, n in zip(old, new, strict=True)]
    if _is_number(old) and _is_number(new) and tolerance.agrees(old, new):
        return old
    return new


def _progress(old_entries: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    """How the new sessions' stages and decisions differ from the previous manifest's."""
    lines = []
    for entry in entries:
        name, now = entry["session"], f"{entry['stage']} -> {entry['stage_after']}"
        before = old_entries.get(name)
        if before is None:
            lines.append(f"  {name}: new ({now})")
            continue
        what = [] if before.get("decision") is None else decision_changes(before["decision"], entry["decision"])
        was = f"{before.get('stage')} -> {before.get('stage_after')}"
        if was != now:
            what.insert(0, f"{now} (recorded {was})")
        if what:
            lines.append(f"  {name}: {'; '.join(what)}")
    new_names = {entry["session"] for entry in entries}
    lines += [f"  {name}: no longer a sample" for name in old_entries if name not in new_names]
    return lines


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
