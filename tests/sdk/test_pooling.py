"""Pooled criteria: per-session sufficient statistics recombine exactly into the pooled value.

Sessions are drawn from the psychometric model with numpy's seeded Generator; the pooled fit of their
``choice_counts`` is compared with a fit of the concatenated trials, which is what IBL computes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from aind_behavior_curriculum import Metrics

from curriculum_contract.sdk import Criteria, History, HistoryEntry, pooled
from curriculum_contract.sdk._criteria import evaluation_context
from curriculum_contract.sdk._psychometric import REPRODUCIBLE_ABS, REPRODUCIBLE_TO, psychometric
from curriculum_contract.sdk.metrics import choice_counts, fit_counts, fit_psychometric, pooled_fit, reaction_times

LEVELS = np.array([-1.0, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 1.0])
PARAMETERS = ("bias", "threshold", "lapse_low", "lapse_high")


def session(seed: int, n: int = 500, no_go: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    contrast = rng.choice(LEVELS, size=n)
    right = rng.random(n) < psychometric(contrast * 100, 4.0, 15.0, 0.06, 0.04)
    choice = np.where(rng.random(n) < no_go, 0, np.where(right, 1, -1))
    rt = np.where(choice == 0, np.nan, rng.lognormal(0.0, 0.5, n))
    return pd.DataFrame({"signed_contrast": contrast, "choice": choice, "reaction_time": rt})


class Counts(Metrics):
    counts: list[list[float]] | None
    rts: list[float | None]


def entries(*sessions: pd.DataFrame) -> History:
    rows = [
        HistoryEntry(session=f"s{i}", stage="a", metrics={"counts": choice_counts(t), "rts": reaction_times(t)})
        for i, t in enumerate(sessions)
    ]
    return History(contract_version="1.0.0", first_session=False, sessions=rows)


def test_choice_counts_are_the_sufficient_statistics() -> None:
    trials = pd.DataFrame({"signed_contrast": [-0.5, -0.5, 0.0, 0.0, 0.0, 1.0], "choice": [-1, 1, 0, 1, -1, 1]})
    assert choice_counts(trials) == [[-50.0, 2, 1], [0.0, 2, 1], [100.0, 1, 1]]
    # IBL's compute_psychometric: a no-go is a trial, and not a rightward choice.
    assert choice_counts(trials, count_no_go_as_left=True) == [[-50.0, 2, 1], [0.0, 3, 1], [100.0, 1, 1]]


@pytest.mark.parametrize("no_go_as_left", [False, True])
def test_a_pooled_fit_is_the_fit_of_the_concatenated_trials(no_go_as_left: bool) -> None:
    sessions = [session(seed) for seed in (1, 2, 3)]
    pooled_result = pooled_fit([choice_counts(t, count_no_go_as_left=no_go_as_left) for t in sessions])
    concatenated = pd.concat(sessions, ignore_index=True)
    rows = np.asarray(choice_counts(concatenated, count_no_go_as_left=no_go_as_left))
    direct = fit_counts(rows[:, 0], rows[:, 1], rows[:, 2])
    reference = direct if no_go_as_left else fit_psychometric(concatenated, report_as=None)
    assert not pooled_result.undefined, pooled_result.reason
    for name in PARAMETERS:
        assert getattr(pooled_result, name) == pytest.approx(
            getattr(reference, name), rel=REPRODUCIBLE_TO, abs=REPRODUCIBLE_ABS
        ), name
    # The mean of per-session fits is not the pooled fit: pooling is not averaging.
    alone = [fit_psychometric(t, report_as=None).threshold for t in sessions]
    assert abs(np.mean(alone) - pooled_result.threshold) > 1e-3


def test_a_pooled_median_is_the_median_of_the_concatenated_reaction_times() -> None:
    sessions = [session(seed) for seed in (4, 5, 6)]
    median = pooled("rts").median()
    value, note = median.compute([[reaction_times(t)] for t in sessions])
    at_zero = pd.concat(sessions)
    at_zero = at_zero[at_zero.signed_contrast == 0]
    # IBL: a no-go's response time is the end of the response window (60 s), later than any response.
    ibl = np.where(at_zero.choice == 0, 60.0, at_zero.reaction_time)
    assert (at_zero.choice == 0).any() and note is None
    assert value == pytest.approx(float(np.median(ibl)), rel=1e-12)
    # A no-go is slower than every response: with most trials no-go, the median is one of them.
    value, note = median.compute([[[0.5, None, None]]])
    assert value == math.inf and note is not None and "without a response" in note


def test_a_pooled_criterion_compares_one_value_over_the_window() -> None:
    past = [session(seed) for seed in (7, 8)]
    now = session(9)
    rule = Criteria(
        (pooled("counts").psychometric("threshold") < 19).over_last(3),
        (pooled("counts").psychometric("bias").abs() < 2).over_last(3),
        name="rule",
    )
    metrics = Counts(counts=choice_counts(now), rts=reaction_times(now))
    with evaluation_context(entries(*past)) as context:
        assert rule(metrics) is False  # the bias is 4 %: the second condition must fail
    threshold, bias = context.reports[id(rule)]
    expected = pooled_fit([choice_counts(t) for t in (*past, now)])
    assert threshold.passed and threshold.mode == "pooled" and threshold.sessions == 3
    assert threshold.values == [pytest.approx(expected.threshold, rel=REPRODUCIBLE_TO)]
    assert not bias.passed and bias.note is None and abs(bias.values[0]) == pytest.approx(abs(expected.bias))
    assert rule.describe().startswith("pooled_threshold(counts) < 19 pooled over the last 3 sessions")


def test_a_pooled_value_is_undefined_when_a_session_or_the_fit_leaves_it_open() -> None:
    condition = (pooled("counts").psychometric("threshold") < 19).over_last(2)
    trials = session(10)
    history = entries(trials)
    missing = condition.evaluate(Counts(counts=None, rts=[]), history)
    assert not missing.passed and missing.note == "counts is undefined in this session"
    # Four levels only: the fit is not made, and the note carries the fit's reason.
    four = pd.DataFrame({"signed_contrast": [-1.0, -0.5, 0.5, 1.0] * 50, "choice": [-1, -1, 1, 1] * 50})
    history = History(
        contract_version="1.0.0",
        first_session=False,
        sessions=[HistoryEntry(session="s", stage="a", metrics={"counts": choice_counts(four), "rts": []})],
    )
    report = condition.evaluate(Counts(counts=choice_counts(four), rts=[]), history)
    assert not report.passed and math.isnan(report.values[0]) and "4 contrast levels" in (report.note or "")
    short = condition.evaluate(Counts(counts=choice_counts(trials), rts=[]), None)
    assert not short.passed and "history missing" in (short.note or "")


def test_pooled_conditions_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="one of bias"):
        pooled("counts").psychometric("slope")
    with pytest.raises(ValueError, match="bias_shift pools 2"):
        pooled("counts").bias_shift()
    with pytest.raises(ValueError, match="is pooled: use over_last"):
        (pooled("counts").sum() > 0).in_each_of_last(3)
    with pytest.raises(ValueError, match="over_last pools a window"):
        from curriculum_contract.sdk import metric

        (metric("n") > 0).over_last(3)
