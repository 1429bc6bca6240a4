"""The scratch data directories of ``Experiment``: renamed from session to session, each session seeing only its
own files under its own name, as when every session had a new directory."""

import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from aind_behavior_curriculum import Trainer
from tiny_curriculum import TinyMetrics, spec

from curriculum_contract.sdk import CurriculumSpec, declare_asset
from curriculum_contract.sdk.metrics import fraction_correct_easy, load_trials, trial_count
from curriculum_contract.simulate import DEFAULT_START, Experiment, _scratch
from curriculum_contract.simulate._learners import LearnerParameters, two_afc_learner

SESSIONS = 5


def _with_metrics(compute: object) -> CurriculumSpec:
    tiny = spec(0.8)
    return CurriculumSpec(trainer=Trainer(tiny.trainer.curriculum), metrics=compute, version="1.0.0+test")


def _expected_names(subject: str) -> list[str]:
    days = [DEFAULT_START + timedelta(days=day) for day in range(SESSIONS)]
    return [f"behavior_{subject}_{start:%Y-%m-%d_%H-%M-%S}" for start in days]


def test_metrics_reading_the_files_their_own_way_see_only_the_session_s_own(tmp_path: Path) -> None:
    seen: list[tuple[str, list[str], int, int]] = []

    def own_way(data_directory: Path) -> TinyMetrics:
        """Reads trials.csv with pandas (not load_trials) and session.json with json, as a curriculum may."""
        trials = pd.read_csv(data_directory / "trials.csv")
        document = json.loads((data_directory / "session.json").read_text())
        index = document["stimulus_epochs"][0]["software"][0]["parameters"]["simulation"]["session_index"]
        seen.append((data_directory.name, sorted(os.listdir(data_directory)), index, len(trials)))
        return TinyMetrics(n_trials=len(trials), fraction_correct_easy=fraction_correct_easy(trials, 0.5))

    curriculum = _with_metrics(own_way)
    scratch = Experiment(curriculum, subjects=2, sessions=SESSIONS, seed=3, workers=1).run()
    in_scratch, seen[:] = list(seen), []
    kept = Experiment(curriculum, subjects=2, sessions=SESSIONS, seed=3, workers=1, keep_sessions=tmp_path).run()
    assert seen[0] == seen[1]  # kept: the file is there on the first try, which did not take the table in memory
    assert [r.metrics for r in scratch.records] == [r.metrics for r in kept.records]
    assert in_scratch == seen[1:]  # the same names, files, session.json and trials.csv as in a new directory each
    assert [name for name, *_ in in_scratch] == _expected_names("sim-001") + _expected_names("sim-002")
    assert all(files == ["session.json", "trials.csv"] for _, files, _, _ in in_scratch)
    assert [index for _, _, index, _ in in_scratch] == list(range(SESSIONS)) * 2
    assert [r.metrics["n_trials"] for r in scratch.records] == [rows for *_, rows in in_scratch]


def test_an_asset_written_by_the_metrics_is_gone_by_the_next_session() -> None:
    listings: list[list[str]] = []

    def with_asset(data_directory: Path) -> TinyMetrics:
        listings.append(sorted(os.listdir(data_directory)))
        (data_directory / "plots").mkdir()
        (data_directory / "plots" / "summary.txt").write_text(data_directory.name)
        declare_asset("plots/summary.txt")
        trials = load_trials(data_directory)
        return TinyMetrics(n_trials=trial_count(trials), fraction_correct_easy=fraction_correct_easy(trials, 0.5))

    Experiment(_with_metrics(with_asset), subjects=1, sessions=SESSIONS, seed=1, workers=1).run()
    assert listings == [["session.json"]] * SESSIONS  # an existing asset would have been "modified": an error


def test_a_learner_returning_tables_and_sessions_in_turn_leaves_no_session_json_behind() -> None:
    seen: list[tuple[str, list[str]]] = []

    def listing(data_directory: Path) -> TinyMetrics:
        seen.append((data_directory.name, sorted(os.listdir(data_directory))))
        trials = load_trials(data_directory)
        return TinyMetrics(n_trials=trial_count(trials), fraction_correct_easy=fraction_correct_easy(trials, 0.5))

    class Alternating:
        def __init__(self, subject_id: str, rng: np.random.Generator, parameters: LearnerParameters) -> None:
            self.inner = two_afc_learner(subject_id, rng, parameters)

        def run_session(self, parameters: dict) -> object:
            session = self.inner.run_session(parameters)
            return session if session.session_index % 2 else session.trials

    Experiment(_with_metrics(listing), learner=Alternating, subjects=1, sessions=4, seed=2, workers=1).run()
    names = _expected_names("sim-001")
    assert seen == [
        ("sim-001_session_001", []),
        (names[1], ["session.json"]),
        ("sim-001_session_003", []),
        (names[3], ["session.json"]),
    ]


def test_the_scratch_root_is_in_memory_unless_tmpdir_says_otherwise_and_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots: list[Path] = []

    def where(data_directory: Path) -> TinyMetrics:
        roots.append(data_directory.parent)
        trials = load_trials(data_directory)
        return TinyMetrics(n_trials=trial_count(trials), fraction_correct_easy=fraction_correct_easy(trials, 0.5))

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # tempfile caches the directory it chose
    Experiment(_with_metrics(where), subjects=1, sessions=2, seed=1, workers=1).run()
    assert roots[0].parent == tmp_path.resolve() and roots[0].name.startswith(_scratch.PREFIX)
    monkeypatch.delenv("TMPDIR")
    monkeypatch.setattr(_scratch, "MEMORY_DIRECTORY", tmp_path / "memory")
    (tmp_path / "memory").mkdir()
    Experiment(_with_metrics(where), subjects=1, sessions=2, seed=1, workers=1).run()
    assert roots[-1].parent == (tmp_path / "memory").resolve()
    monkeypatch.setenv("TMPDIR", "")  # empty: unset, for tempfile too
    Experiment(_with_metrics(where), subjects=1, sessions=2, seed=1, workers=1).run()
    assert roots[-1].parent == (tmp_path / "memory").resolve()
    assert not any(root.exists() for root in roots)
    monkeypatch.setattr(_scratch, "MEMORY_DIRECTORY", tmp_path / "none")  # absent: the temporary directory
    root = _scratch.scratch_root()
    root.rmdir()
    assert root.parent == Path(tempfile.gettempdir()).resolve()
