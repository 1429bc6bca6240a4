"""``Experiment``: real learners, the curriculum's real metrics and trainer, the censoring rule, A against B."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ibl_2afc.curriculum import SPEC as IBL
from tiny_curriculum import spec
from visual_behavior.curriculum import SPEC as VISUAL

from curriculum_contract.simulate import (
    Experiment,
    LearnerFailed,
    LearnerParameters,
    UnknownLearner,
    compare,
    read_results,
    write_results,
)
from curriculum_contract.simulate._results import median_sessions


def test_the_same_seed_gives_identical_tables_and_another_seed_does_not() -> None:
    first = Experiment(IBL, subjects=3, sessions=12, seed=7).run().results()
    again = Experiment(IBL, subjects=3, sessions=12, seed=7).run().results()
    other = Experiment(IBL, subjects=3, sessions=12, seed=8).run().results()
    for name in ("sessions", "stages", "summary", "survival"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    assert not first.sessions["n_trials"].equals(other.sessions["n_trials"])


def test_the_ibl_population_graduates_through_its_stages_in_order() -> None:
    results = Experiment(IBL, subjects=4, sessions=25, seed=3).run().results()
    summary = results.summary.set_index("stage")
    assert list(summary.index) == ["in_training", "trained_1a", "trained_1b", "ready_for_ephys_rig"]
    assert summary.loc["in_training", "median_sessions"] == 0
    # a subject may skip trained_1a (a transition goes straight to trained_1b), never the later stages
    assert summary.loc["trained_1b", "reached"] == summary.loc["ready_for_ephys_rig", "reached"] == 4
    assert summary.loc["trained_1b", "median_sessions"] < summary.loc["ready_for_ephys_rig", "median_sessions"]
    by_subject = results.stages.pivot(index="subject", columns="stage", values="sessions_to_reach")
    assert (by_subject["trained_1b"] < by_subject["ready_for_ephys_rig"]).all()
    assert len(results.sessions) == 4 * 25
    # the per-session stage sequence agrees with the per-subject table
    first = results.sessions[results.sessions["subject"] == "sim-001"]
    moved = first[first["next_stage"] == "trained_1b"]["session"].min()
    reach = results.stages.query("subject == 'sim-001' and stage == 'trained_1b'")["sessions_to_reach"].item()
    assert reach == moved


def test_non_learners_are_censored_and_the_median_is_null_with_a_reason() -> None:
    results = Experiment(IBL, subjects=3, sessions=6, seed=1, parameters=LearnerParameters(learning_rate=0.0)).run()
    summary = results.results().summary.set_index("stage")
    assert summary.loc["trained_1a", "reached"] == 0
    assert pd.isna(summary.loc["trained_1a", "median_sessions"])
    assert summary.loc["trained_1a", "median_note"] == "only 0 of 3 subjects reached trained_1a in 6 sessions"
    stages = results.results().stages
    assert stages.loc[stages["stage"] == "trained_1a", "sessions_to_reach"].isna().all()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3, 5, 9], 5.0),
        ([3, 5, math.inf, math.inf], 5.0),  # exactly half reached: the 2nd smallest
        ([3, math.inf, math.inf], math.nan),  # fewer than half
        ([4], 4.0),
    ],
)
def test_the_censored_median_rule(values: list[float], expected: float) -> None:
    found = median_sessions(np.array(values, dtype=float))
    assert (math.isnan(found) and math.isnan(expected)) or found == expected


def test_a_stricter_threshold_graduates_later_with_an_interval() -> None:
    a = Experiment(spec(0.8), subjects=12, sessions=20, seed=5).run().results()
    b = Experiment(spec(0.95), subjects=12, sessions=20, seed=5).run().results()
    table = compare(a, b, resamples=500, seed=5).set_index("stage")
    row = table.loc["trained"]
    assert row["median_a"] is not pd.NA and row["median_a"] < 20
    later = pd.isna(row["median_b"]) or row["median_b"] > row["median_a"]
    assert later, table
    assert row["ci_low"] is not None or "unbounded" in row["note"]
    if not pd.isna(row["difference"]):
        assert row["ci_low"] <= row["difference"] <= (row["ci_high"] if row["ci_high"] is not None else math.inf)
        assert row["ci_low"] > 0
    # the bootstrap is seeded: the same comparison twice is identical
    pd.testing.assert_frame_equal(table, compare(a, b, resamples=500, seed=5).set_index("stage"))


def test_comparing_different_populations_is_refused() -> None:
    a = Experiment(spec(0.8), subjects=2, sessions=3, seed=1).run().results()
    b = Experiment(spec(0.8), subjects=2, sessions=3, seed=2).run().results()
    with pytest.raises(Exception, match="different populations: field seed is 1 in A and 2 in B"):
        compare(a, b)


def test_results_round_trip_through_their_directory(tmp_path: Path) -> None:
    results = Experiment(spec(0.8), subjects=3, sessions=6, seed=1).run().results()
    written, notes = write_results(results, tmp_path / "out")
    names = {path.name for path in written}
    assert {"sessions.csv", "stages.csv", "summary.csv", "survival.csv", "run.json"} <= names
    assert "time_to_stage.png" in names and "summary.parquet" in names and notes == []
    back = read_results(tmp_path / "out")
    pd.testing.assert_frame_equal(back.summary, results.summary)
    pd.testing.assert_frame_equal(back.survival, results.survival)


def test_a_plot_drawn_on_the_launcher_side_is_listed_in_run_json(tmp_path: Path) -> None:
    """A curriculum env without matplotlib writes no plot; ``curriculum-contract simulate`` draws it and lists it."""
    from curriculum_contract.launcher_adapter._simulate import _results

    results = Experiment(spec(0.8), subjects=2, sessions=4, seed=1).run().results()
    write_results(results, tmp_path / "out", plot=False)

    def files() -> list[str]:
        return json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["files"]

    assert "time_to_stage.png" not in files()
    notes = ["plot skipped: matplotlib is not installed (...)"]
    _results(tmp_path / "out", notes, plot=True)
    assert "time_to_stage.png" in files() and (tmp_path / "out" / "time_to_stage.png").is_file() and notes == []
    assert "summary.csv" in files()  # what was listed stays listed


def test_the_change_detection_learner_trains_on_the_yaml_regimen() -> None:
    results = Experiment(VISUAL, learner="change_detection", subjects=2, sessions=12, seed=2).run().results()
    summary = results.summary.set_index("stage")
    assert summary.iloc[0]["reached"] == 2 and summary.iloc[1]["reached"] >= 1
    assert "d_prime" in " ".join(results.sessions.columns) or len(results.sessions.columns) > 5


def test_forgetting_and_a_low_plateau_slow_graduation() -> None:
    fast = Experiment(spec(0.8), subjects=8, sessions=15, seed=4).run().results()
    slow = LearnerParameters(plateau=0.5, forgetting=0.2)
    capped = Experiment(spec(0.8), subjects=8, sessions=15, seed=4, parameters=slow).run().results()
    assert (
        capped.summary.set_index("stage").loc["trained", "reached"]
        < fast.summary.set_index("stage").loc["trained", "reached"]
    )


class _Broken:
    def run_session(self, parameters: dict) -> object:
        return {"not": "a table"}


def test_a_learner_returning_junk_is_one_line_naming_subject_and_session() -> None:
    with pytest.raises(LearnerFailed, match=r"of subject sim-001, session 1 returned a dict, not a DataFrame"):
        Experiment(spec(0.8), learner=lambda sid, rng, p: _Broken(), subjects=1, sessions=2).run()


def test_a_learner_raising_names_the_parameters() -> None:
    class Raises:
        def run_session(self, parameters: dict) -> object:
            raise ZeroDivisionError("boom")

    with pytest.raises(LearnerFailed) as caught:
        Experiment(spec(0.8), learner=lambda sid, rng, p: Raises(), subjects=1, sessions=1).run()
    assert '"contrasts": [1.0, 0.5]' in str(caught.value) and "ZeroDivisionError: boom" in str(caught.value)
    assert "\n" not in str(caught.value) and "Traceback" in caught.value.details
    assert caught.value.exit_code == 5


@pytest.mark.parametrize(
    ("name", "message"),
    [("nope", "unknown learner 'nope'"), ("no_such_module_xyz:f", "cannot import no_such_module_xyz"),
     ("math:no_such", "module math has no attribute 'no_such'"), ("math:pi", "is a float, not a callable")],
)  # fmt: skip
def test_an_unknown_learner_is_a_usage_error(name: str, message: str) -> None:
    with pytest.raises(UnknownLearner, match=message) as caught:
        Experiment(spec(0.8), learner=name)
    assert caught.value.exit_code == 2


def test_workers_split_the_subjects_and_the_tables_are_identical_to_one_process() -> None:
    one = Experiment(IBL, subjects=3, sessions=8, seed=11, workers=1).run().results()
    three = Experiment(IBL, subjects=3, sessions=8, seed=11, workers=3).run().results()
    for name in ("sessions", "stages", "summary", "survival"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(three, name))
    assert one.sessions["n_trials"].nunique() > 1  # real sessions, not a constant table


def test_a_learner_failing_in_a_worker_stops_the_run_with_its_one_line() -> None:
    class Raises:
        def run_session(self, parameters: dict) -> object:
            raise ZeroDivisionError("boom")

    with pytest.raises(LearnerFailed, match=r"subject sim-001, session 1 failed .*ZeroDivisionError: boom") as caught:
        Experiment(spec(0.8), learner=lambda sid, rng, p: Raises(), subjects=2, sessions=1, workers=2).run()
    assert "Traceback" in caught.value.details and caught.value.exit_code == 5


def test_the_metrics_see_the_same_table_in_memory_as_from_the_kept_file(tmp_path: Path) -> None:
    """No trials file is written for the metrics; a kept session's file gives them the same numbers."""
    kept = Experiment(IBL, subjects=1, sessions=6, seed=4, workers=1, keep_sessions=tmp_path).run()
    directories = sorted(p for p in tmp_path.iterdir() if (p / "trials.csv").is_file())
    assert len(directories) == 6
    for directory, record in zip(directories, kept.records, strict=True):
        from_file = IBL.metrics(directory).model_dump(mode="json")
        for name, value in record.metrics.items():
            if isinstance(value, float):
                assert from_file[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
            else:
                assert from_file[name] == value, name
