"""The simulated two-alternative choice subject: deterministic, in the SDK's table format, and it
responds to the task parameters a curriculum sets."""

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.sdk.metrics import coerce_trials, fit_psychometric
from curriculum_contract.simulate import TwoAfcSubject

FULL = [1.0, 0.25, 0.125, 0.0625, 0.0]


def expert(seed: int = 0, skill: float = 0.9) -> TwoAfcSubject:
    subject = TwoAfcSubject("expert", "non_learner", seed=seed)
    subject.state.skill = skill
    subject.state.extra["debias_practice"] = 5.0
    return subject


def test_same_seed_and_parameters_give_the_same_sessions() -> None:
    runs = []
    for seed in (3, 3, 4):
        subject = TwoAfcSubject("m", "fast_learner", seed=seed)
        runs.append([subject.run_session({"contrasts": FULL}).trials for _ in range(3)])
    for first, second in zip(runs[0], runs[1], strict=True):
        pd.testing.assert_frame_equal(first, second)
    assert not runs[0][0].equals(runs[2][0])


def test_trials_table_is_the_sdk_format_and_consistent() -> None:
    trials = TwoAfcSubject("m", seed=1).run_session({"contrasts": FULL}).trials
    canonical = coerce_trials(trials)
    assert len(canonical) == len(trials) > 100
    assert (trials["correct"] == (trials["choice"] == trials["stim_side"])).all()
    assert (trials["reaction_time"].isna() == (trials["choice"] == 0)).all()
    assert (np.diff(trials["start_time"]) > 0).all() and (trials["end_time"] > trials["start_time"]).all()
    assert ((trials["reward_volume_ul"] > 0) == trials["correct"]).all()


def test_a_fit_recovers_the_true_parameters_of_a_trained_subject() -> None:
    session = expert(seed=2).run_session({"contrasts": FULL, "reward_volume_ul": 1.5, "debias": False})
    fit = fit_psychometric(coerce_trials(session.trials))
    truth = session.truth
    assert fit.threshold == pytest.approx(truth["threshold"], rel=0.3)
    assert fit.bias == pytest.approx(truth["bias"], abs=5.0)
    assert fit.lapse_low == pytest.approx(truth["lapse_low"], abs=0.05)
    assert fit.lapse_high == pytest.approx(truth["lapse_high"], abs=0.05)


def test_only_the_suggested_contrasts_are_shown() -> None:
    trials = TwoAfcSubject("m", seed=1).run_session({"contrasts": [1.0, 0.25]}).trials
    assert set(trials["signed_contrast"].abs()) == {1.0, 0.25}
    assert set(trials["stim_side"]) == {-1, 1}


def test_a_smaller_reward_buys_more_trials() -> None:
    large = expert(seed=5).run_session({"contrasts": FULL, "reward_volume_ul": 3.0}).trials
    small = expert(seed=5).run_session({"contrasts": FULL, "reward_volume_ul": 1.5}).trials
    assert len(small) > 1.3 * len(large)
    assert large["reward_volume_ul"].sum() == pytest.approx(1100, abs=10)  # stopped when sated


def test_debiasing_repeats_an_easy_stimulus_after_an_error() -> None:
    trials = TwoAfcSubject("m", seed=1).run_session({"contrasts": [1.0, 0.5, 0.25], "debias": True}).trials
    repeats = trials.index[trials["repeat"]]
    assert len(repeats) > 5
    previous = trials.loc[repeats - 1]
    assert (~previous["correct"].to_numpy()).all()
    assert (previous["signed_contrast"].to_numpy() == trials.loc[repeats, "signed_contrast"].to_numpy()).all()
    assert (trials.loc[repeats, "signed_contrast"].abs() >= 0.5).all()
    plain = TwoAfcSubject("m", seed=1).run_session({"contrasts": [1.0, 0.5, 0.25], "debias": False}).trials
    assert not plain["repeat"].any()


def test_biased_blocks_follow_ibl_and_shift_a_trained_subjects_choices() -> None:
    subject = expert(seed=3)
    subject.state.extra["prior"] = 1.0
    trials = subject.run_session({"contrasts": FULL, "probability_left_blocks": [0.2, 0.8], "debias": False}).trials
    p_left = trials["probability_left"].to_numpy()
    assert (p_left[:90] == 0.5).all() and set(p_left[90:]) == {0.2, 0.8}
    changes = np.flatnonzero(np.diff(p_left[90:])) + 1
    lengths = np.diff(np.concatenate([[0], changes]))
    assert lengths.min() >= 20 and lengths.max() <= 100
    zero = trials[(trials["signed_contrast"] == 0) & (trials["choice"] != 0)]
    left_in_left_blocks = (zero[zero["probability_left"] == 0.8]["choice"] == -1).mean()
    left_in_right_blocks = (zero[zero["probability_left"] == 0.2]["choice"] == -1).mean()
    assert left_in_left_blocks > left_in_right_blocks + 0.2


def test_a_fast_learner_improves_and_a_non_learner_does_not() -> None:
    thresholds = {}
    for profile in ("fast_learner", "non_learner"):
        subject = TwoAfcSubject("m", profile, seed=1)
        thresholds[profile] = [subject.run_session({"contrasts": FULL}).truth["threshold"] for _ in range(8)]
    fast, non = thresholds["fast_learner"], thresholds["non_learner"]
    assert fast == sorted(fast, reverse=True) and fast[-1] < 0.4 * fast[0]
    assert non == [non[0]] * 8


def test_a_degrading_subject_loses_skill_and_motivation() -> None:
    subject = TwoAfcSubject("m", "learns_then_degrades", seed=1)
    sessions = [subject.run_session({"contrasts": FULL, "reward_volume_ul": 2.0}) for _ in range(18)]
    skill = [s.truth["skill"] for s in sessions]
    peak = int(np.argmax(skill))
    assert peak == subject.profile.degrade_after
    assert skill[-1] < 0.5 * skill[peak] and len(sessions[-1].trials) < 0.5 * len(sessions[peak].trials)


def test_the_session_ends_at_its_duration_and_records_unknown_parameters() -> None:
    session = TwoAfcSubject("m", seed=1).run_session({"session_duration_min": 5.0, "training_phase": 2})
    assert session.trials["end_time"].max() <= 300.0
    assert session.ignored_parameters == ("training_phase",)
    assert session.parameters["training_phase"] == 2 and session.parameters["contrasts"] == [1.0, 0.5]


@pytest.mark.parametrize(
    "parameters",
    [{"contrasts": [2.0]}, {"contrasts": []}, {"reward_volume_ul": 0}, {"probability_left_blocks": [1.5]}],
)
def test_impossible_parameters_are_refused(parameters: dict) -> None:
    with pytest.raises(ValueError):
        TwoAfcSubject("m").run_session(parameters)
