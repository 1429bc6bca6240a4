"""Writing simulated sessions as a rig would, and the subject profiles."""

import json
from datetime import datetime

import pandas as pd
import pytest

from curriculum_contract.sdk.metrics import load_trials
from curriculum_contract.simulate import (
    PROFILES,
    SESSION_FILE,
    SessionExistsError,
    TwoAfcSubject,
    get_profile,
    write_session,
)


def test_a_written_session_is_a_data_directory_with_aind_style_metadata(tmp_path) -> None:
    session = TwoAfcSubject("sim-7", seed=1).run_session({"reward_volume_ul": 2.5})
    directory = write_session(session, tmp_path)
    assert directory.name == "behavior_sim-7_2024-01-08_09-00-00"
    assert sorted(p.name for p in directory.iterdir()) == [SESSION_FILE, "trials.csv"]
    assert len(load_trials(directory)) == len(session.trials)
    meta = json.loads((directory / SESSION_FILE).read_text())
    start, end = (datetime.fromisoformat(meta[k]) for k in ("session_start_time", "session_end_time"))
    assert meta["subject_id"] == "sim-7" and (end - start).total_seconds() >= session.duration
    [epoch] = meta["stimulus_epochs"]
    trials = session.trials
    assert epoch["trials_total"] == len(trials)
    assert epoch["trials_finished"] == int((trials["choice"] != 0).sum())
    assert epoch["trials_rewarded"] == int(trials["correct"].sum())
    assert meta["reward_consumed_total"] == pytest.approx(trials["reward_volume_ul"].sum())
    [software] = epoch["software"]
    assert software["parameters"]["task_parameters"] == session.parameters
    assert software["parameters"]["simulation"]["truth"]["threshold"] == pytest.approx(session.truth["threshold"])


def test_the_next_session_is_the_next_day(tmp_path) -> None:
    subject = TwoAfcSubject("sim-7", seed=1)
    names = [write_session(subject.run_session(), tmp_path).name for _ in range(2)]
    assert names == ["behavior_sim-7_2024-01-08_09-00-00", "behavior_sim-7_2024-01-09_09-00-00"]


def test_a_session_directory_is_never_overwritten(tmp_path) -> None:
    session = TwoAfcSubject("sim-7", seed=1).run_session()
    directory = write_session(session, tmp_path)
    before = (directory / "trials.csv").read_bytes()
    with pytest.raises(SessionExistsError, match="never overwritten"):
        write_session(session, tmp_path)
    assert (directory / "trials.csv").read_bytes() == before


@pytest.mark.parametrize("trials_format", ["jsonl", "parquet"])
def test_other_trial_formats_load_the_same(tmp_path, trials_format: str) -> None:
    session = TwoAfcSubject("sim-7", seed=1).run_session()
    directory = write_session(session, tmp_path, trials_format=trials_format)
    loaded = load_trials(directory)
    pd.testing.assert_series_equal(loaded["signed_contrast"], session.trials["signed_contrast"], check_dtype=False)


def test_profiles_by_name_and_scaled() -> None:
    assert set(PROFILES) == {"fast_learner", "slow_learner", "non_learner", "learns_then_degrades"}
    assert get_profile("fast_learner").scaled(2.0).learning_rate == 2 * get_profile("fast_learner").learning_rate
    with pytest.raises(ValueError, match=r"unknown subject profile 'genius'.*fast_learner"):
        get_profile("genius")
    with pytest.raises(ValueError, match="learning_rate"):
        get_profile("fast_learner").__class__("bad", learning_rate=2.0)
    with pytest.raises(ValueError, match="subject_id"):
        TwoAfcSubject("has space")
