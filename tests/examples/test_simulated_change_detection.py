"""The simulated change-detection subject: a consistent trials table that responds to the stage's
parameters (flashes, stimulus set, auto-rewards, catch trials, reward volume)."""

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.simulate import ChangeDetectionSubject


def trained(skill: float = 0.9, seed: int = 0, **familiar: float) -> ChangeDetectionSubject:
    subject = ChangeDetectionSubject("cd", "non_learner", seed=seed)
    subject.state.skill = skill
    subject.state.extra.update({"familiar:gratings": 1.0, "flash_practice": 1.0, **familiar})
    return subject


def test_same_seed_and_parameters_give_the_same_sessions() -> None:
    first = [ChangeDetectionSubject("cd", seed=7).run_session({}).trials for _ in range(2)]
    pd.testing.assert_frame_equal(first[0], first[1])
    assert not first[0].equals(ChangeDetectionSubject("cd", seed=8).run_session({}).trials)


def test_every_trial_has_exactly_one_outcome() -> None:
    trials = ChangeDetectionSubject("cd", seed=1).run_session({}).trials
    outcomes = trials[["hit", "miss", "false_alarm", "correct_reject"]].sum(axis=1)
    assert (outcomes[~trials["aborted"]] == 1).all() and (outcomes[trials["aborted"]] == 0).all()
    assert (trials.loc[trials["hit"], "is_change"]).all() and not trials.loc[trials["false_alarm"], "is_change"].any()
    latency = trials["response_latency"]
    assert (latency.notna() == trials["response"]).all()
    assert latency.dropna().between(0.15, 0.75).all()
    assert trials["change_time"].isna().equals(trials["aborted"])


def test_a_trained_subject_discriminates_and_a_naive_one_does_not() -> None:
    def rates(subject: ChangeDetectionSubject) -> float:
        trials = subject.run_session({"session_duration_min": 20.0}).trials
        done = trials[~trials["aborted"]]
        return done.loc[done["is_change"], "hit"].mean() - done.loc[~done["is_change"], "false_alarm"].mean()

    assert rates(trained()) > 0.6
    assert abs(rates(ChangeDetectionSubject("cd", "non_learner", seed=0))) < 0.25


def test_catch_trials_auto_rewards_and_static_stimuli_follow_the_parameters() -> None:
    trials = trained().run_session({"catch_probability": 0.0, "auto_reward": True, "blank_duration_s": 0.0}).trials
    done = trials[~trials["aborted"]]
    assert done["is_change"].all() and not trials["flashed"].any()
    assert (done["reward_volume_ul"] > 0).all() and done["auto_rewarded"].all()
    flashed = trained().run_session({}).trials
    offsets = (flashed["change_time"] - flashed["start_time"]).dropna() / 0.75
    assert flashed["flashed"].all() and np.allclose(offsets, np.round(offsets), atol=1e-2)


def test_a_new_image_set_costs_d_prime_until_it_is_familiar() -> None:
    subject = trained()
    gratings = subject.detection_parameters({**subject.defaults, "stimulus": "gratings"})["d_prime"]
    images = subject.detection_parameters({**subject.defaults, "stimulus": "images_A"})["d_prime"]
    assert images < gratings - 0.8
    names = subject.run_session({"stimulus": "images_A"}).trials["change_image"]
    assert names.str.startswith("images_A_im").all()


def test_a_smaller_reward_keeps_the_subject_engaged_longer() -> None:
    def rewarded_trials(volume: float) -> int:
        trials = trained(seed=3).run_session({"reward_volume_ul": volume}).trials
        return int((trials["reward_volume_ul"] > 0).sum())

    assert rewarded_trials(5.0) > 1.5 * rewarded_trials(10.0)


def test_learning_raises_d_prime_and_cuts_early_licks() -> None:
    subject = ChangeDetectionSubject("cd", "fast_learner", seed=1)
    sessions = [subject.run_session({"stimulus": "gratings"}) for _ in range(6)]
    assert sessions[-1].truth["d_prime"] > sessions[0].truth["d_prime"] + 1.5
    assert sessions[-1].trials["aborted"].mean() < sessions[0].trials["aborted"].mean() / 2


@pytest.mark.parametrize("parameters", [{"response_window_s": [0.7, 0.2]}, {"catch_probability": 1.0}])
def test_impossible_parameters_are_refused(parameters: dict) -> None:
    with pytest.raises(ValueError):
        ChangeDetectionSubject("cd").run_session(parameters)
