"""The numpy-only psychometric fit: parameter recovery, undefined cases, and a brute-force check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.sdk._psychometric import (
    LAPSE_BOUNDS,
    MAX_LEVELS,
    contrast_counts,
    erf,
    fit_counts,
    fit_psychometric,
    negative_log_likelihood,
    psychometric,
)

IBL_CONTRASTS = np.array([-1.0, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 1.0])


def simulate(n: int, bias: float, threshold: float, low: float, high: float, seed: int) -> pd.DataFrame:
    """Choices drawn from the model at IBL's contrast set (uniformly), with a seeded generator."""
    rng = np.random.default_rng(seed)
    contrast = rng.choice(IBL_CONTRASTS, n)
    p_right = psychometric(contrast * 100.0, bias, threshold, low, high)
    choice = np.where(rng.random(n) < p_right, 1, -1).astype(np.int8)
    return pd.DataFrame({"signed_contrast": contrast, "choice": choice})


def test_model_values_at_known_points() -> None:
    # At c = bias the erf term is 0: lapse_low + (1 - 0.05 - 0.1) / 2; far left -> lapse_low; far right -> 1 - high.
    p = psychometric(np.array([10.0, -1e6, 1e6]), 10.0, 20.0, 0.05, 0.1)
    np.testing.assert_allclose(p, [0.05 + 0.85 / 2, 0.05, 0.9])
    # One threshold above the bias: erf(1), not Phi(1) -- IBL's parametrization, no sqrt(2).
    assert psychometric(30.0, 10.0, 20.0, 0.0, 0.0) == pytest.approx((1 + math.erf(1.0)) / 2)
    x = np.array([-3.0, -0.5, 0.0, 0.5, 0.5, 2.0])
    np.testing.assert_array_equal(erf(x), [math.erf(v) for v in x])


def test_recovers_known_parameters_from_20k_trials() -> None:
    """Tolerances: four standard deviations of each estimate.

    Refitting 100 tables drawn like this one (seeds 0..99) gave standard deviations of 0.28 (bias),
    0.52 (threshold), 0.0036 (lapse_low) and 0.0061 (lapse_high), means within 0.03 of the truth.
    """
    fit = fit_psychometric(simulate(20_000, 10.0, 20.0, 0.05, 0.1, seed=2024))
    assert fit.converged and fit.reason is None and fit.n_trials == 20_000
    assert fit.bias == pytest.approx(10.0, abs=1.2)
    assert fit.threshold == pytest.approx(20.0, abs=2.1)
    assert fit.lapse_low == pytest.approx(0.05, abs=0.015)
    assert fit.lapse_high == pytest.approx(0.1, abs=0.025)


def test_negative_bias_and_no_lapses() -> None:
    fit = fit_psychometric(simulate(20_000, -15.0, 8.0, 0.0, 0.0, seed=7))
    assert fit.converged
    assert fit.bias == pytest.approx(-15.0, abs=1.2) and fit.threshold == pytest.approx(8.0, abs=1.5)
    assert 0.0 <= fit.lapse_low < 0.01 and 0.0 <= fit.lapse_high < 0.01


def test_matches_a_brute_force_grid_on_small_data() -> None:
    """An independent likelihood (math.erf, plain loops over the grid) and its grid minimum."""
    levels = IBL_CONTRASTS * 100.0
    n = np.full(9, 40.0)
    k = np.array([3, 6, 10, 14, 22, 28, 33, 36, 37], dtype=float)
    biases = np.arange(-30.0, 30.5, 1.0)
    thresholds = np.geomspace(2.0, 80.0, 40)  # neighbours 10 % apart
    lapses = np.arange(0.0, 0.3, 0.02)
    best = (math.inf, None)
    low, high = np.meshgrid(lapses, lapses, indexing="ij")
    for b in biases:
        for t in thresholds:
            shape = np.array([(1.0 + math.erf((c - b) / t)) / 2.0 for c in levels])
            p = low[..., None] + (1.0 - low - high)[..., None] * shape  # (lapse_low, lapse_high, level)
            p = np.clip(p, 1e-12, 1 - 1e-12)  # zero lapses saturate; the fit clips the same way
            nll = -(k * np.log(p) + (n - k) * np.log(1.0 - p)).sum(axis=-1)
            i = np.unravel_index(np.argmin(nll), nll.shape)
            if nll[i] < best[0]:
                best = (float(nll[i]), (b, t, lapses[i[0]], lapses[i[1]]))
    grid_nll, (b, t, lo, hi) = best
    fit = fit_counts(levels, n, k)
    fit_nll = float(negative_log_likelihood([fit.bias, fit.threshold, fit.lapse_low, fit.lapse_high], levels, n, k)[0])
    assert fit.converged
    assert fit_nll <= grid_nll + 1e-9  # the optimizer finds at least the grid's best likelihood
    assert fit.bias == pytest.approx(b, abs=1.0)  # ... and lies within one grid step of the grid's best point
    assert fit.threshold == pytest.approx(t, rel=0.1)
    assert fit.lapse_low == pytest.approx(lo, abs=0.02) and fit.lapse_high == pytest.approx(hi, abs=0.02)


def test_one_contrast_only_gives_nan_and_a_reason() -> None:
    trials = pd.DataFrame({"signed_contrast": [0.5] * 10 + [0.25], "choice": [1] * 8 + [-1] * 2 + [0]})
    fit = fit_psychometric(trials)
    assert math.isnan(fit.bias) and math.isnan(fit.threshold) and math.isnan(fit.lapse_low)
    assert not fit.converged and fit.n_trials == 10
    assert fit.reason == "only one contrast level (50 %) among responded trials; need at least 2"


def test_no_trials_and_no_responses() -> None:
    empty = fit_psychometric(pd.DataFrame({"signed_contrast": [], "choice": []}))
    assert (empty.reason, empty.n_trials, empty.converged) == ("no trials", 0, False)
    assert all(math.isnan(v) for v in (empty.bias, empty.threshold, empty.lapse_low, empty.lapse_high))
    silent = fit_psychometric(pd.DataFrame({"signed_contrast": [-1.0, 1.0], "choice": [0, 0]}))
    assert silent.reason == "no trial with a response (every choice is 0)" and math.isnan(silent.bias)


def test_no_go_trials_do_not_change_the_fit_and_counts_aggregate() -> None:
    trials = simulate(2_000, 5.0, 15.0, 0.1, 0.05, seed=3)
    no_go = pd.DataFrame({"signed_contrast": [-1.0, 0.0, 1.0] * 50, "choice": [0] * 150})
    with_no_go = pd.concat([trials, no_go], ignore_index=True)
    assert fit_psychometric(with_no_go) == fit_psychometric(trials)
    levels, n, k = contrast_counts(with_no_go)
    np.testing.assert_array_equal(levels, IBL_CONTRASTS * 100.0)
    assert n.sum() == 2_000
    right = trials.groupby("signed_contrast")["choice"].apply(lambda c: int((c == 1).sum()))
    np.testing.assert_array_equal(k, right.to_numpy())


def test_deterministic_and_within_bounds() -> None:
    trials = simulate(300, 0.0, 1e4, 0.0, 0.0, seed=11)  # a subject that guesses: a flat, ill-posed curve
    first, second = fit_psychometric(trials), fit_psychometric(trials)
    assert first == second
    assert LAPSE_BOUNDS[0] <= first.lapse_low < 0.5 and LAPSE_BOUNDS[0] <= first.lapse_high < 0.5
    assert first.threshold > 0


def test_continuous_contrasts_are_rounded_to_bound_the_cost() -> None:
    rng = np.random.default_rng(5)
    contrast = rng.uniform(-1.0, 1.0, 20_000)
    choice = np.where(rng.random(contrast.size) < psychometric(contrast * 100, 10.0, 20.0, 0.05, 0.1), 1, -1)
    trials = pd.DataFrame({"signed_contrast": contrast, "choice": choice})
    levels, n, _ = contrast_counts(trials)
    assert levels.size <= MAX_LEVELS and n.sum() == 20_000
    np.testing.assert_array_equal(levels, np.round(levels * 2) / 2)  # on the 0.5 % grid
    fit = fit_psychometric(trials)
    assert fit.bias == pytest.approx(10.0, abs=2.0) and fit.threshold == pytest.approx(20.0, abs=3.0)
