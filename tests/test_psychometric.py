"""The numpy-only psychometric fit, checked against independent optimizers (scipy, IBL's psychofit).

Well-posed sessions: our estimate equals scipy's best of several starts on the same likelihood and bounds,
and our likelihood is never worse. Ill-posed sessions: the parameters the data cannot determine are NaN
with a reason, and scipy shows why (different starts, equally likely fits far apart). Sessions are drawn
in each test from known parameters with numpy's seeded Generator.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from curriculum_contract.sdk._notes import collecting_notes
from curriculum_contract.sdk._psychometric import (
    BIAS_BOUNDS,
    LAPSE_BOUNDS,
    MAX_LEVELS,
    REPRODUCIBLE_ABS,
    REPRODUCIBLE_TO,
    THRESHOLD_BOUNDS,
    PsychometricFit,
    contrast_counts,
    erf,
    fit_counts,
    fit_psychometric,
    negative_log_likelihood,
    psychometric,
)
from curriculum_contract.sdk._psychometric_grid import start_points
from curriculum_contract.sdk._psychometric_identify import LAPSE_HALF_WIDTH_MAX, MIN_LEVELS
from curriculum_contract.sdk._psychometric_solver import minimize as newton_minimize

LEVELS = np.array([-100.0, -50.0, -25.0, -12.5, -6.25, 0.0, 6.25, 12.5, 25.0, 50.0, 100.0])
IBL_CONTRASTS = np.array([-1.0, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 1.0])
BOUNDS = [BIAS_BOUNDS, THRESHOLD_BOUNDS, LAPSE_BOUNDS, LAPSE_BOUNDS]
NAMES = ("bias", "threshold", "lapse_low", "lapse_high")
#: How close our estimate must be to scipy's polished optimum: scipy's own precision (Nelder-Mead to
#: 1e-9 after L-BFGS-B) leaves ~1e-6 differences; these allow 100x that.
VS_SCIPY = {"bias": 1e-4, "threshold": 1e-5, "lapse_low": 1e-6, "lapse_high": 1e-6}  # abs, rel, abs, abs
#: Our negative log-likelihood may exceed scipy's by at most this (rounding of a ~300 sum).
NLL_SLACK = 1e-9
#: Two fits agree when every parameter is within the module's documented reproducibility.
agree = {"rel": REPRODUCIBLE_TO, "abs": REPRODUCIBLE_ABS}


def draw_counts(
    n: int, params: tuple[float, float, float, float], seed: int, levels: np.ndarray = LEVELS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trials spread uniformly over ``levels`` and right choices drawn from the model, seeded."""
    rng = np.random.default_rng(seed)
    trials = rng.multinomial(n, np.full(levels.size, 1.0 / levels.size)).astype(float)
    right = rng.binomial(trials.astype(int), psychometric(levels, *params)).astype(float)
    return levels, trials, right


def simulate(n: int, params: tuple[float, float, float, float], seed: int) -> pd.DataFrame:
    """A trials table drawn from the model at IBL's contrast set (uniformly), with a seeded generator."""
    rng = np.random.default_rng(seed)
    contrast = rng.choice(IBL_CONTRASTS, n)
    choice = np.where(rng.random(n) < psychometric(contrast * 100.0, *params), 1, -1).astype(np.int8)
    return pd.DataFrame({"signed_contrast": contrast, "choice": choice})


def table(levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> pd.DataFrame:
    """The trials table behind aggregated counts (one row per trial, contrasts as fractions)."""
    contrast = np.repeat(levels / 100.0, n.astype(int))
    choice = np.concatenate([np.r_[np.ones(int(r)), -np.ones(int(t - r))] for t, r in zip(n, k, strict=True)])
    return pd.DataFrame({"signed_contrast": contrast, "choice": choice.astype(np.int8)})


def scipy_fits(levels: np.ndarray, n: np.ndarray, k: np.ndarray, starts: int = 12) -> list[tuple[float, np.ndarray]]:
    """L-BFGS-B on the same likelihood and bounds from ``starts`` starts (12 or 4), each as (NLL, parameters)."""

    def objective(p: np.ndarray) -> float:
        return float(negative_log_likelihood(p, levels, n, k)[0])

    grid = [(b, t, g) for b in (-40.0, 0.0, 40.0) for t in (2.0, 20.0) for g in (0.0, 0.2)]
    if starts == 4:
        grid = [(b, t, 0.05) for b in (-20.0, 20.0) for t in (5.0, 40.0)]
    fits = []
    for bias, threshold, lapse in grid:
        options = {"ftol": 1e-14, "gtol": 1e-8, "maxiter": 5_000}
        start = [bias, threshold, lapse, lapse]
        result = minimize(objective, start, method="L-BFGS-B", bounds=BOUNDS, options=options)
        fits.append((float(result.fun), np.asarray(result.x)))
    return sorted(fits, key=lambda fit: fit[0])


def scipy_best(levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> tuple[float, np.ndarray]:
    """The best of four L-BFGS-B starts, polished by a tight bounded Nelder-Mead."""
    nll, x = scipy_fits(levels, n, k, starts=4)[0]
    options = {"xatol": 1e-9, "fatol": 1e-12, "maxfev": 20_000, "maxiter": 20_000}
    polished = minimize(
        lambda p: float(negative_log_likelihood(p, levels, n, k)[0]),
        x,
        method="Nelder-Mead",
        bounds=BOUNDS,
        options=options,
    )
    return (float(polished.fun), np.asarray(polished.x)) if polished.fun < nll else (nll, x)


def values(fit: PsychometricFit) -> np.ndarray:
    return np.array([fit.bias, fit.threshold, fit.lapse_low, fit.lapse_high])


def assert_same_fit(first: PsychometricFit, second: PsychometricFit) -> None:
    assert set(first.undefined) == set(second.undefined)
    np.testing.assert_allclose(values(first), values(second), rtol=agree["rel"], atol=agree["abs"])


# --- the model ---------------------------------------------------------------------------------------


def test_model_values_at_known_points() -> None:
    # At c = bias the erf term is 0: lapse_low + (1 - 0.05 - 0.1) / 2; far left -> lapse_low; far right -> 1 - high.
    p = psychometric(np.array([10.0, -1e6, 1e6]), 10.0, 20.0, 0.05, 0.1)
    np.testing.assert_allclose(p, [0.05 + 0.85 / 2, 0.05, 0.9])
    # One threshold above the bias: erf(1), not Phi(1) -- IBL's parametrization, no sqrt(2).
    assert psychometric(30.0, 10.0, 20.0, 0.0, 0.0) == pytest.approx((1 + math.erf(1.0)) / 2)
    x = np.array([-3.0, -0.5, 0.0, 0.5, 0.5, 2.0])
    np.testing.assert_array_equal(erf(x), [math.erf(v) for v in x])


def test_negative_log_likelihood_is_the_binomial_one_and_exact_in_the_tails() -> None:
    levels, n, k = np.array([-50.0, 0.0, 50.0]), np.array([10.0, 20.0, 10.0]), np.array([1.0, 9.0, 10.0])
    params = [5.0, 20.0, 0.02, 0.0]
    p = [0.02 + 0.98 * (1 + math.erf((c - 5.0) / 20.0)) / 2 for c in levels]
    direct = -sum(ki * math.log(pi) + (ni - ki) * math.log(1 - pi) for pi, ni, ki in zip(p, n, k, strict=True))
    assert negative_log_likelihood(params, levels, n, k)[0] == pytest.approx(direct, rel=1e-12)
    # A steep curve with no lapse, one left choice at 100 %: P(left) = erfc(9) / 2 = 2.07e-37, which
    # 1 - (1 + erf) / 2 rounds to 0 (and a clip at 1e-12 would make an NLL of 27.6, not 84.5).
    tail = negative_log_likelihood([10.0, 10.0, 0.0, 0.0], np.array([100.0]), np.array([1.0]), np.array([0.0]))
    assert tail[0] == pytest.approx(-math.log(math.erfc(9.0) / 2), rel=1e-12)


# --- well-posed sessions: the same optimum as scipy -------------------------------------------------------

WELL_POSED = [
    (500, (5.0, 20.0, 0.1, 0.05)),
    (300, (-10.0, 35.0, 0.2, 0.15)),
    (600, (0.0, 12.0, 0.02, 0.08)),
    (400, (15.0, 25.0, 0.1, 0.2)),
    (2000, (-5.0, 15.0, 0.05, 0.05)),
]


@pytest.mark.parametrize(("n", "params"), WELL_POSED)
def test_well_posed_sessions_match_scipy(n: int, params: tuple[float, float, float, float]) -> None:
    levels, trials, right = draw_counts(n, params, seed=n)
    fit = fit_counts(levels, trials, right)
    assert fit.converged and fit.undefined == {} and fit.reason is None
    nll, best = scipy_best(levels, trials, right)
    assert fit.negative_log_likelihood <= nll + NLL_SLACK
    assert fit.negative_log_likelihood == pytest.approx(negative_log_likelihood(values(fit), levels, trials, right)[0])
    assert fit.bias == pytest.approx(best[0], abs=VS_SCIPY["bias"])
    assert fit.threshold == pytest.approx(best[1], rel=VS_SCIPY["threshold"])
    assert fit.lapse_low == pytest.approx(best[2], abs=VS_SCIPY["lapse_low"])
    assert fit.lapse_high == pytest.approx(best[3], abs=VS_SCIPY["lapse_high"])


def test_well_posed_sessions_match_psychofit() -> None:
    """IBL's own fitter (fmin from its start, tolerances 1e-4): looser, 0.2 % in bias and threshold, 0.005 in lapses.

    psychofit takes [contrast %, trials, proportion right] and returns [bias, slope, gamma1, gamma2]
    (= ours) with the log-likelihood; its extra fits start at random, so one fit from a fixed start.
    """
    psychofit = pytest.importorskip("psychofit")
    state = np.random.get_state()  # mle_fit_psycho draws its next start from numpy's global generator
    try:
        for n, params in WELL_POSED[:3]:
            levels, trials, right = draw_counts(n, params, seed=n)
            fit = fit_counts(levels, trials, right)
            data = np.vstack([levels, trials, right / trials])
            parstart = np.array([0.0, 20.0, 0.05, 0.05])
            parmin, parmax = np.array([b[0] for b in BOUNDS]), np.array([b[1] for b in BOUNDS])
            theirs, log_likelihood = psychofit.mle_fit_psycho(
                data, "erf_psycho_2gammas", parstart=parstart, parmin=parmin, parmax=parmax, nfits=1
            )
            assert fit.negative_log_likelihood <= -log_likelihood + NLL_SLACK
            np.testing.assert_allclose(values(fit)[:2], theirs[:2], rtol=2e-3, atol=0.05)
            np.testing.assert_allclose(values(fit)[2:], theirs[2:], atol=5e-3)
    finally:
        np.random.set_state(state)


def test_recovers_known_parameters_from_20k_trials() -> None:
    """Tolerances: four standard deviations of each estimate.

    Refitting 100 tables drawn like this one (seeds 0..99) gave standard deviations of 0.28 (bias),
    0.52 (threshold), 0.0036 (lapse_low) and 0.0061 (lapse_high), means within 0.03 of the truth.
    """
    fit = fit_psychometric(simulate(20_000, (10.0, 20.0, 0.05, 0.1), seed=2024))
    assert fit.converged and fit.reason is None and fit.n_trials == 20_000
    assert fit.bias == pytest.approx(10.0, abs=1.2)
    assert fit.threshold == pytest.approx(20.0, abs=2.1)
    assert fit.lapse_low == pytest.approx(0.05, abs=0.015)
    assert fit.lapse_high == pytest.approx(0.1, abs=0.025)


def test_matches_a_brute_force_grid_on_small_data() -> None:
    """An independent likelihood (math.erf, plain loops over the grid) and its grid minimum."""
    levels = IBL_CONTRASTS * 100.0
    n = np.full(9, 40.0)
    k = np.array([3, 6, 10, 14, 22, 28, 33, 36, 37], dtype=float)
    biases = np.arange(-30.0, 30.5, 1.0)
    thresholds = np.geomspace(2.0, 80.0, 40)  # neighbours 10 % apart
    lapses = np.arange(0.02, 0.3, 0.02)
    best = (math.inf, None)
    low, high = np.meshgrid(lapses, lapses, indexing="ij")
    for b in biases:
        for t in thresholds:
            shape = np.array([(1.0 + math.erf((c - b) / t)) / 2.0 for c in levels])
            p = low[..., None] + (1.0 - low - high)[..., None] * shape  # (lapse_low, lapse_high, level)
            nll = -(k * np.log(p) + (n - k) * np.log(1.0 - p)).sum(axis=-1)
            i = np.unravel_index(np.argmin(nll), nll.shape)
            if nll[i] < best[0]:
                best = (float(nll[i]), (b, t, lapses[i[0]], lapses[i[1]]))
    grid_nll, (b, t, lo, hi) = best
    fit = fit_counts(levels, n, k)
    assert fit.converged and fit.negative_log_likelihood <= grid_nll + 1e-9
    assert fit.bias == pytest.approx(b, abs=1.0)  # within one grid step of the grid's best point
    assert fit.threshold == pytest.approx(t, rel=0.1)
    assert fit.lapse_low == pytest.approx(lo, abs=0.02) and fit.lapse_high == pytest.approx(hi, abs=0.02)


# --- reproducible -------------------------------------------------------------------------------------


def test_same_fit_in_any_row_order_and_with_every_count_doubled() -> None:
    trials = simulate(3_000, (5.0, 15.0, 0.1, 0.05), seed=3)
    fit = fit_psychometric(trials)
    assert fit.undefined == {}
    shuffled = trials.sample(frac=1.0, random_state=np.random.RandomState(1))
    assert fit_psychometric(shuffled) == fit  # levels are sorted and summed first: bit for bit
    doubled = fit_psychometric(pd.concat([trials, trials], ignore_index=True))
    assert doubled.n_trials == 2 * fit.n_trials
    assert doubled.negative_log_likelihood == pytest.approx(2 * fit.negative_log_likelihood, rel=1e-12)
    assert_same_fit(doubled, fit)  # twice the counts, the same maximum
    levels, n, k = contrast_counts(trials)
    order = np.argsort(-levels)
    assert fit_counts(levels[order], n[order], k[order]) == fit_counts(levels, n, k)


@pytest.mark.parametrize(("n", "params"), WELL_POSED[:3])
def test_every_start_and_last_digit_noise_give_the_same_estimate(n: int, params: tuple[float, ...]) -> None:
    """What two machines differ by: the path (a start) and the last digits of the arithmetic.

    Nudging every level by a relative 1e-15 changes erfc, exp and log in their last digits, as another
    libm would; the estimate must not move beyond ``REPRODUCIBLE_TO`` / ``REPRODUCIBLE_ABS``.
    """
    levels, trials, right = draw_counts(n, params, seed=n)
    fit = fit_counts(levels, trials, right)
    assert_same_fit(fit_counts(levels * (1.0 + 1e-15), trials, right), fit)
    far = [np.array([b, math.log(t), g, g]) for b in (-60.0, 60.0) for t in (3.0, 300.0) for g in (0.0, 0.3)]
    for start in [*start_points(levels, trials, right, 6), *far]:
        solution = newton_minimize(start, levels, trials, right)
        if solution.at.nll <= fit.negative_log_likelihood + 1e-9:  # the starts that reach the optimum
            b, s, g, h = solution.at.x
            np.testing.assert_allclose([b, math.exp(s), g, h], values(fit), rtol=agree["rel"], atol=agree["abs"])


# --- ill-posed sessions: undefined, and why ---------------------------------------------------------


def tied_scipy_fits(levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """scipy's fits (of 12 starts) within 1e-6 of the best likelihood: one row each, natural parameters."""
    fits = scipy_fits(levels, n, k)
    return np.array([x for nll, x in fits if nll <= fits[0][0] + 1e-6])


def easy_only() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return draw_counts(400, (5.0, 20.0, 0.05, 0.05), seed=1, levels=np.array([-100.0, -50.0, 50.0, 100.0]))


def test_four_levels_are_too_few_and_scipy_shows_the_ridge() -> None:
    levels, n, k = easy_only()
    fit = fit_counts(levels, n, k)
    assert MIN_LEVELS == 5
    assert all(math.isnan(v) for v in values(fit)) and not fit.converged
    assert set(fit.undefined) == set(NAMES) and math.isnan(fit.negative_log_likelihood)
    assert fit.reason == (
        "only 4 contrast levels (-100, -50, 50, 100 %) among responded trials; a four-parameter fit needs at least 5"
    )
    tied = tied_scipy_fits(levels, n, k)
    assert len(tied) >= 2 and np.ptp(tied[:, 0]) > 5.0  # equally likely biases 5 % and more apart


def test_a_step_between_levels_leaves_threshold_and_bias_undefined() -> None:
    """Easy contrasts and zero only, and a subject that is perfect at +-50 %: the step can be anywhere."""
    levels, n, k = draw_counts(500, (0.0, 8.0, 0.0, 0.0), seed=2, levels=np.array([-100.0, -50.0, 0.0, 50.0, 100.0]))
    fit = fit_counts(levels, n, k)
    assert fit.converged and {"bias", "threshold"} <= set(fit.undefined)
    assert math.isnan(fit.bias) and math.isnan(fit.threshold)
    assert all(fit.undefined[name] in fit.reason for name in fit.undefined)
    tied = tied_scipy_fits(levels, n, k)
    assert np.ptp(tied[:, 0]) > 0.5 and np.ptp(tied[:, 1]) > 5.0
    # The lapses are 0 and determined: no right choice at -100/-50 %, no left one at 50/100 %.
    assert fit.lapse_low == 0.0 and fit.lapse_high == 0.0


def test_a_perfect_subject_has_zero_lapses_and_no_threshold() -> None:
    """Perfect at every nonzero contrast: the curve is a step, anywhere between -6.25 and 6.25 %.

    With 30 of 50 right at 0 % the step must pass through 60 % there: bias = -0.18 x threshold along a
    ridge whose likelihood changes by less than 1e-6 for thresholds up to ~1 % -- both undefined. The
    lapses are a legitimate 0: scipy's refit with a lapse fixed at 0.3 is worse by far more than 1.92.
    With exactly half right at 0 % the ridge is bias = 0 whatever the threshold: the bias is defined.
    """
    n = np.full(LEVELS.size, 50.0)
    k = np.where(LEVELS < 0, 0.0, np.where(LEVELS > 0, 50.0, 30.0))
    fit = fit_counts(LEVELS, n, k)
    assert fit.converged and set(fit.undefined) == {"bias", "threshold"}
    assert fit.lapse_low == 0.0 and fit.lapse_high == 0.0
    tied = tied_scipy_fits(LEVELS, n, k)
    assert np.ptp(tied[:, 1]) > 0.1 and np.ptp(tied[:, 0]) > 0.01
    assert np.all(np.abs(tied[:, 0]) < 6.25)
    fixed = minimize(
        lambda p: float(negative_log_likelihood([p[0], p[1], p[2], LAPSE_HALF_WIDTH_MAX], LEVELS, n, k)[0]),
        [0.0, 20.0, 0.05],
        method="L-BFGS-B",
        bounds=BOUNDS[:3],
    )
    assert fixed.fun > fit.negative_log_likelihood + 1.92
    half = fit_counts(LEVELS, n, np.where(LEVELS == 0.0, 25.0, k))
    assert set(half.undefined) == {"threshold"} and "resolution" in half.undefined["threshold"]
    assert abs(half.bias) < REPRODUCIBLE_ABS and half.lapse_low == 0.0


def test_a_guessing_subject_determines_nothing() -> None:
    levels, n, k = draw_counts(500, (0.0, 1e5, 0.0, 0.0), seed=3)
    fit = fit_counts(levels, n, k)
    assert set(fit.undefined) == set(NAMES) and all(math.isnan(v) for v in values(fit))
    fits = scipy_fits(levels, n, k)
    tied = np.array([x for nll, x in fits if nll <= fits[0][0] + 1e-6])
    assert np.ptp(tied[:, 0]) > 5.0  # equally likely biases far apart
    # ... and a lapse 0.3 below scipy's best is hardly less likely (the others refitted), as the reason says.
    best_nll, best = fits[0]
    lowered = minimize(
        lambda p: float(negative_log_likelihood([p[0], p[1], max(best[2] - 0.3, 0.0), p[2]], levels, n, k)[0]),
        [-100.0, 1000.0, 0.2],
        method="L-BFGS-B",
        bounds=[BIAS_BOUNDS, THRESHOLD_BOUNDS, LAPSE_BOUNDS],
    )
    assert lowered.fun < best_nll + 1.92


def test_a_bias_beyond_the_tested_range_is_undefined() -> None:
    levels, n, k = draw_counts(500, (150.0, 20.0, 0.05, 0.05), seed=4)
    fit = fit_counts(levels, n, k)
    assert {"bias", "threshold", "lapse_high"} <= set(fit.undefined)
    assert "outside the tested contrasts" in fit.undefined["bias"]
    assert fit.lapse_low == pytest.approx(0.05, abs=0.04)  # the plateau the data do show
    tied = tied_scipy_fits(levels, n, k)
    assert np.ptp(tied[:, 1]) > 1.0  # equally likely thresholds 10 % apart


def test_the_identification_check_flags_a_ridge_but_not_its_well_posed_twin() -> None:
    """The same subject and trial counts; one session lacks the levels that resolve the curve."""
    levels, n, k = draw_counts(600, (3.0, 15.0, 0.05, 0.05), seed=9)
    assert fit_counts(levels, n, k).undefined == {}
    easy = np.abs(levels) >= 50.0
    easy[levels == 0.0] = True  # 0 and +-50/100 %: five levels, none on the slope
    k_step = np.where(levels[easy] < 0, 0.0, np.where(levels[easy] > 0, n[easy], k[easy]))
    ridge = fit_counts(levels[easy], n[easy], k_step)
    assert "threshold" in ridge.undefined and math.isnan(ridge.threshold)


def test_a_lapse_at_zero_is_defined_only_when_the_likelihood_falls_steeply_away() -> None:
    """Both lapses fit best at 0; only 3 trials at -100 % (all left) against 10 at 100 % (all right).

    0.3 is about as likely for lapse_low (scipy's refit with it fixed there: less than 1.92 worse), not for
    lapse_high: 0 is then a legitimate estimate of one and says nothing of the other.
    """
    n = np.array([3, 3, 10, 10, 10, 10, 10, 10, 10, 10, 10], dtype=float)
    k = np.array([0, 1, 3, 3, 4, 5, 6, 7, 7, 9, 10], dtype=float)
    fit = fit_counts(LEVELS, n, k)
    assert set(fit.undefined) == {"lapse_low"} and "about as likely" in fit.undefined["lapse_low"]
    assert fit.lapse_high == 0.0

    def refit(which: int) -> float:
        def objective(p: np.ndarray) -> float:
            params = [p[0], p[1], p[2], p[2]]
            params[2 + which], params[3 - which] = LAPSE_HALF_WIDTH_MAX, p[2]
            return float(negative_log_likelihood(params, LEVELS, n, k)[0])

        starts = [[b, t, 0.05] for b in (-20.0, 0.0, 20.0) for t in (20.0, 80.0)]
        return min(minimize(objective, s, method="L-BFGS-B", bounds=BOUNDS[:3]).fun for s in starts)

    assert refit(0) < fit.negative_log_likelihood + 1.92 < refit(1)


def test_lapses_of_a_shallow_curve_with_few_trials_are_undefined() -> None:
    """Ten trials per level, the curve never reaching its plateaus: the lapses' standard errors are too wide."""
    n, k = np.full(LEVELS.size, 10.0), np.array([2, 3, 3, 4, 5, 5, 5, 6, 7, 7, 9], dtype=float)
    fit = fit_counts(LEVELS, n, k)
    assert fit.converged and set(fit.undefined) == {"lapse_low", "lapse_high"}
    assert all("half-width" in why for why in fit.undefined.values())
    assert not math.isnan(fit.bias) and not math.isnan(fit.threshold)


ILL_POSED = {
    "a step between 0 and +-50 %": ((500, (0.0, 8.0, 0.0, 0.0), 2), np.array([-100.0, -50.0, 0.0, 50.0, 100.0])),
    "a guessing subject": ((500, (0.0, 1e5, 0.0, 0.0), 3), LEVELS),
    "a bias beyond the range": ((500, (150.0, 20.0, 0.05, 0.05), 4), LEVELS),
    "a 10 % threshold, two equal fits": ((300, (-15.0, 10.0, 0.2, 0.2), 15), LEVELS),
    "a 10 % threshold, a drift": ((300, (-15.0, 10.0, 0.2, 0.2), 39), LEVELS),
    "a 10 % threshold, a wide error": ((300, (-15.0, 10.0, 0.2, 0.2), 14), LEVELS),
}


@pytest.mark.parametrize("case", ILL_POSED)
def test_ill_posed_fits_are_as_reproducible(case: str) -> None:
    """The same undefined parameters and the same values of the others, with last-digit noise in the levels."""
    (n, params, seed), levels = ILL_POSED[case]
    levels, trials, right = draw_counts(n, params, seed, levels)
    fit = fit_counts(levels, trials, right)
    assert fit.undefined
    for nudge in (1e-15, -1e-15, 3e-15):
        assert_same_fit(fit_counts(levels * (1.0 + nudge), trials, right), fit)


# --- API ----------------------------------------------------------------------------------------------


def test_each_undefined_parameter_is_declared_with_its_reason() -> None:
    levels, n, k = easy_only()
    trials = table(levels, n, k)
    with collecting_notes() as notes:
        fit = fit_psychometric(trials)
        fit_counts(levels, n, k)  # pure: declares nothing
    assert notes.undefined == {f"psychometric_{name}": fit.undefined[name] for name in NAMES}
    with collecting_notes() as notes:
        fit_psychometric(trials, report_as="fit_{}")
        fit_psychometric(trials, report_as=None)
    assert set(notes.undefined) == {f"fit_{name}" for name in NAMES}
    fit_psychometric(trials)  # outside an evaluation: no error


def test_one_contrast_only_gives_nan_and_a_reason() -> None:
    trials = pd.DataFrame({"signed_contrast": [0.5] * 10 + [0.25], "choice": [1] * 8 + [-1] * 2 + [0]})
    fit = fit_psychometric(trials)
    assert all(math.isnan(v) for v in values(fit)) and math.isnan(fit.negative_log_likelihood)
    assert not fit.converged and fit.n_trials == 10
    assert fit.reason == "only one contrast level (50 %) among responded trials; a four-parameter fit needs at least 5"
    assert fit.undefined == dict.fromkeys(NAMES, fit.reason)


def test_no_trials_and_no_responses() -> None:
    empty = fit_psychometric(pd.DataFrame({"signed_contrast": [], "choice": []}))
    assert (empty.reason, empty.n_trials, empty.converged) == ("no trials", 0, False)
    assert all(math.isnan(v) for v in values(empty)) and set(empty.undefined) == set(NAMES)
    silent = fit_psychometric(pd.DataFrame({"signed_contrast": [-1.0, 1.0], "choice": [0, 0]}))
    assert silent.reason == "no trial with a response (every choice is 0)" and math.isnan(silent.bias)
    assert PsychometricFit.unfitted(3, "why").undefined == dict.fromkeys(NAMES, "why")


def test_fit_counts_rejects_inconsistent_counts() -> None:
    with pytest.raises(ValueError, match="one entry per level"):
        fit_counts(LEVELS, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="0 <= k <= n"):
        fit_counts(LEVELS, np.ones(LEVELS.size), np.full(LEVELS.size, 2.0))


def test_no_go_trials_do_not_change_the_fit_and_counts_aggregate() -> None:
    trials = simulate(2_000, (5.0, 15.0, 0.1, 0.05), seed=3)
    no_go = pd.DataFrame({"signed_contrast": [-1.0, 0.0, 1.0] * 50, "choice": [0] * 150})
    with_no_go = pd.concat([trials, no_go], ignore_index=True)
    assert fit_psychometric(with_no_go) == fit_psychometric(trials)
    levels, n, k = contrast_counts(with_no_go)
    np.testing.assert_array_equal(levels, IBL_CONTRASTS * 100.0)
    assert n.sum() == 2_000
    right = trials.groupby("signed_contrast")["choice"].apply(lambda c: int((c == 1).sum()))
    np.testing.assert_array_equal(k, right.to_numpy())


def test_continuous_contrasts_are_rounded_to_bound_the_cost() -> None:
    rng = np.random.default_rng(5)
    contrast = rng.uniform(-1.0, 1.0, 20_000)
    choice = np.where(rng.random(contrast.size) < psychometric(contrast * 100, 10.0, 20.0, 0.05, 0.1), 1, -1)
    trials = pd.DataFrame({"signed_contrast": contrast, "choice": choice})
    levels, n, _ = contrast_counts(trials)
    assert levels.size <= MAX_LEVELS and n.sum() == 20_000
    np.testing.assert_array_equal(levels, np.round(levels * 2) / 2)  # on the 0.5 % grid
    fit = fit_psychometric(trials)
    assert fit.undefined == {}
    assert fit.bias == pytest.approx(10.0, abs=2.0) and fit.threshold == pytest.approx(20.0, abs=3.0)


def test_the_fit_never_imports_scipy() -> None:
    """scipy's import costs about a second of every `curriculum run`: the package must not need it."""
    code = (
        "import sys, numpy as np\n"
        "from curriculum_contract.sdk.metrics import fit_counts\n"
        "levels = np.array([-100.0, -50.0, -25.0, -12.5, 0.0, 12.5, 25.0, 50.0, 100.0])\n"
        "fit = fit_counts(levels, np.full(9, 40.0), np.array([2, 4, 9, 15, 21, 27, 33, 37, 38.0]))\n"
        "print(fit.undefined == {}, any(m.split('.')[0] == 'scipy' for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]


def test_the_plain_python_derivatives_match_central_differences_of_the_likelihood() -> None:
    """``evaluate`` (a loop over levels, not numpy) against finite differences of ``nll_at``: 1e-5 relative."""
    from curriculum_contract.sdk._psychometric_model import evaluate, nll_at

    levels, n, k = draw_counts(500, (5.0, 20.0, 0.1, 0.05), seed=5)
    for x in ([5.0, math.log(20.0), 0.1, 0.05], [-30.0, math.log(60.0), 0.02, 0.3], [12.0, math.log(4.0), 0.2, 0.1]):
        point = evaluate(np.array(x), levels, n, k)
        assert point.nll == pytest.approx(nll_at(np.array(x), levels, n, k), rel=1e-13)
        steps = np.array([1e-4, 1e-6, 1e-7, 1e-7])
        for i in range(4):
            up, down = np.array(x), np.array(x)
            up[i] += steps[i]
            down[i] -= steps[i]
            slope = (nll_at(up, levels, n, k) - nll_at(down, levels, n, k)) / (2 * steps[i])
            assert point.gradient[i] == pytest.approx(slope, rel=1e-5, abs=1e-5)
            column = (evaluate(up, levels, n, k).gradient - evaluate(down, levels, n, k).gradient) / (2 * steps[i])
            np.testing.assert_allclose(point.hessian[:, i], column, rtol=1e-5, atol=1e-3)


def _textbook_cholesky_solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """The loops the solver's unrolled Cholesky must reproduce operation for operation (None: not definite)."""
    size = len(rhs)
    low = [[0.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[i][j]
            for m in range(j):
                total -= low[i][m] * low[j][m]
            if i == j:
                if not 0.0 < total < math.inf:
                    return None
                low[i][i] = math.sqrt(total)
            else:
                low[i][j] = total / low[j][j]
    y = list(rhs)
    for i in range(size):
        for m in range(i):
            y[i] -= low[i][m] * y[m]
        y[i] /= low[i][i]
    for i in reversed(range(size)):
        for m in range(i + 1, size):
            y[i] -= low[m][i] * y[m]
        y[i] /= low[i][i]
    return y


def test_the_unrolled_cholesky_gives_the_textbook_loops_digits_and_refuses_indefinite_matrices() -> None:
    from curriculum_contract.sdk._psychometric_model import cholesky_solve

    rng = np.random.default_rng(3)
    refused = 0
    for trial in range(4000):
        size = 1 + trial % 4
        a = rng.normal(size=(size + 1, size))
        matrix = a.T @ a * np.exp(rng.uniform(-8, 8, size=(size, 1)) * (trial % 3 == 0))
        matrix = (matrix + matrix.T) / 2
        if trial % 5 == 0:
            matrix[-1, -1] -= rng.uniform(0, 4) * matrix[-1, -1]
        rhs = rng.normal(size=size).tolist()
        expected = _textbook_cholesky_solve(matrix.tolist(), rhs)
        refused += expected is None
        assert cholesky_solve(matrix.tolist(), rhs) == expected
    assert refused > 100  # the indefinite cases were exercised


def test_a_probe_and_its_completion_are_the_evaluation_bit_for_bit() -> None:
    from curriculum_contract.sdk._psychometric_model import complete, counts, evaluate, nll_at, probe

    levels, n, k = draw_counts(400, (-8.0, 12.0, 0.02, 0.0), seed=9)
    data = counts(levels, n, k)
    for x in ([5.0, math.log(20.0), 0.1, 0.05], [-99.0, math.log(0.02), 0.0, 0.0], [40.0, math.log(900.0), 0.4, 0.3]):
        point = evaluate(np.array(x), levels, n, k)
        probed = probe(x, data)
        assert probed.nll == point.nll == nll_at(np.array(x), levels, n, k)
        completed = complete(probed, data)
        assert completed.grad == point.grad and completed.hess == point.hess
        # The Fisher information (computed on demand) is sum n / (p q) dp dp' with p from the model.
        b, s, g, h = x
        z = (levels - b) / math.exp(s)
        big, small = tail_split_for_test(z)
        p, q = np.maximum(g + (1 - g - h) * big, 1e-150), np.maximum(h + (1 - g - h) * small, 1e-150)
        af = np.exp(-z * z) * (1 - g - h) / math.sqrt(math.pi)
        jacobian = np.array([-af / math.exp(s), -af * z, small, -big])
        expected = (jacobian * (n / np.maximum(p * q, 1e-250))) @ jacobian.T
        np.testing.assert_allclose(point.fisher, expected, rtol=1e-12, atol=1e-300)


def tail_split_for_test(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F(z) and 1 - F(z) from erfc, each side exact in its own tail (an independent copy of the model's)."""
    half = np.array([math.erfc(abs(v)) / 2 for v in z])
    return np.where(z >= 0, 1 - half, half), np.where(z >= 0, half, 1 - half)


def test_the_grids_half_erfc_is_the_unclipped_formula_floored_bit_for_bit() -> None:
    """Clipping exp's argument (numpy's exp is slow where it underflows) changes no value the grid keeps."""
    from curriculum_contract.sdk._psychometric_grid import _half_erfc

    x = np.concatenate([np.linspace(0.0, 40.0, 20_001), np.logspace(-3, 3, 500), [19.99, 20.0, 20.01, 27.3, 27.4]])
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    with np.errstate(under="ignore"):
        expected = np.maximum(poly * np.exp(-x * x) * 0.5, 1e-150)
    np.testing.assert_array_equal(_half_erfc(x), expected)


def test_the_eigen_decomposition_is_numpys_bit_for_bit() -> None:
    from curriculum_contract.sdk._psychometric_linalg import eigh

    rng = np.random.default_rng(4)
    for trial in range(2000):
        size = 1 + trial % 4
        a = rng.normal(size=(size, size)) * np.exp(rng.uniform(-20, 20))
        matrix = ((a + a.T) / 2).tolist()
        values, vectors = np.linalg.eigh(np.array(matrix))
        assert eigh(matrix) == (values.tolist(), vectors.tolist())
    for bad in ([[1.0, math.nan], [math.nan, 1.0]], [[1.0, math.inf], [math.inf, 1.0]]):  # np.linalg.eigh's NaNs
        values, vectors = eigh(bad)
        expected = np.linalg.eigh(np.array(bad))
        np.testing.assert_array_equal(values, expected.eigenvalues)
        np.testing.assert_array_equal(vectors, expected.eigenvectors)


def test_the_fisher_information_from_the_kept_terms_is_the_recomputed_one() -> None:
    from curriculum_contract.sdk._psychometric_model import Point, complete, counts, probe

    levels, n, k = draw_counts(400, (-8.0, 12.0, 0.02, 0.0), seed=9)
    data = counts(levels, n, k)
    for x in ([5.0, math.log(20.0), 0.1, 0.05], [-99.0, math.log(0.02), 0.0, 0.0], [40.0, math.log(900.0), 0.4, 0.3]):
        point = complete(probe(x, data), data)
        fresh = Point(point.xs, point.nll, point.grad, point.hess, data)  # no terms: probes again
        np.testing.assert_array_equal(point.fisher, fresh.fisher)


@pytest.mark.parametrize("size", [11, 200])  # plain-Python checks below 64 levels, numpy's above
def test_both_count_checks_refuse_the_same_counts(size: int) -> None:
    from curriculum_contract.sdk._psychometric import _canonical

    levels, n = np.linspace(-100.0, 100.0, size), np.full(size, 10.0)
    k = np.full(size, 5.0)
    bad = {
        "must be finite": (np.r_[levels[:-1], math.inf], n, k),
        "0 <= k <= n": (levels, n, np.r_[k[:-1], 11.0]),
        "0 <= k <= n at": (levels, n, np.r_[-1.0, k[1:]]),
    }
    for message, (c, nn, kk) in bad.items():
        with pytest.raises(ValueError, match=message):
            _canonical(c, nn, nan_free(kk))
    with pytest.raises(ValueError, match="must be finite"):
        _canonical(levels, n, np.r_[k[:-1], math.nan])
    fast = _canonical(levels, n, k)
    general = _canonical(np.r_[levels, 0.5], np.r_[n, 0.0], np.r_[k, 0.0])  # an empty level: the general path
    for a, b in zip(fast, general, strict=True):
        np.testing.assert_array_equal(a, b)


def nan_free(a: np.ndarray) -> np.ndarray:
    assert not np.isnan(a).any()
    return a


def test_counts_already_in_canonical_order_give_the_general_paths_arrays() -> None:
    from curriculum_contract.sdk._psychometric import _canonical

    levels, n, k = LEVELS.copy(), np.full(11, 30.0), np.r_[-0.0, np.arange(1.0, 11.0)]
    fast = _canonical(levels, n, k)
    general = _canonical(np.r_[levels, 7.0], np.r_[n, 0.0], np.r_[k, 0.0])  # an empty level: the general path
    for a, b in zip(fast, general, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.signbit(fast[2]).any()  # k = -0.0 comes out 0.0, as bincount's sums make it
    assert fast[0] is not levels  # a copy: the caller's array is not aliased


def test_contrast_levels_are_pandas_factorize_sign_of_zero_included() -> None:
    """The fit's levels and codes are ``pd.factorize(sort=True)``'s: its zero keeps its first sign (in reasons)."""
    from curriculum_contract.sdk._psychometric import _levels

    rng = np.random.default_rng(12)
    pool = np.array([-100.0, -25.0, -6.25, -0.0, 0.0, 6.25, 25.0, 100.0])
    for size in [0, 1, 2, 5, 40, 400]:
        for _ in range(50):
            contrast = rng.choice(pool, size)
            codes, levels = pd.factorize(contrast, sort=True)
            ours, our_codes = _levels(contrast)
            np.testing.assert_array_equal(our_codes, codes)
            np.testing.assert_array_equal(ours, levels)
            np.testing.assert_array_equal(np.signbit(ours), np.signbit(levels))
