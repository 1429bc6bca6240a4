# BENCH-ONLY: a verbatim copy of the psychometric fitter before the projected-Newton rewrite
# (`git show fdfd86e:src/curriculum_contract/sdk/_psychometric.py`), kept so bench/bench_psychometric.py times
# the old and the new fit in the same run. Not part of the package; nothing in src/ or tests/ imports it.

"""The psychometric fit of a two-alternative choice session, in numpy only.

The model is the one IBL's training criteria fit (``erf_psycho_2gammas`` in their psychofit)::

    P(right | c) = lapse_low + (1 - lapse_low - lapse_high) * (1 + erf((c - bias) / threshold)) / 2

with the contrast ``c`` in **percent** (-100..100), so ``bias`` and ``threshold`` are in percent
contrast and can be compared with IBL's published thresholds (trained_1a: |bias| < 16,
threshold < 19, lapses < 0.2). Note there is no sqrt(2): ``threshold`` is sqrt(2) times the standard
deviation of the underlying cumulative Gaussian (sigma = threshold / sqrt(2)). ``lapse_low`` is the
rate of right choices far on the left, ``lapse_high`` the rate of left choices far on the right.

Fit: maximum likelihood on the binomial counts per contrast level (responded trials only; no-go
trials carry no choice), so a million trials cost one pass to aggregate them. Bounds: bias in
[-100, 100], threshold in [0.01, 1000], each lapse in [0, 0.5) (their sum stays below 1, so the curve
rises). IBL's training-status fit bounds lapses to [0, 1] and threshold to [0, 100]; their plotting
fit to [0, 0.2] and [10, 50]. A coarse grid picks the start, then a bounded Nelder-Mead refines it;
there is no randomness, so the same table always gives the same fit. scipy is not used: its import
alone costs about a second of every ``curriculum run``. With fewer than four contrast levels, or a
subject that is perfect at every nonzero contrast, the four parameters are not all identified: the fit
then returns one of several equally likely points (the same one every time) and says ``converged``.

Sessions with continuous contrasts (more than ``MAX_LEVELS`` distinct values) are aggregated after
rounding the contrast to 0.5 % (at most 401 levels), so the cost stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

BIAS_BOUNDS = (-100.0, 100.0)
THRESHOLD_BOUNDS = (0.01, 1000.0)
LAPSE_BOUNDS = (0.0, 0.5 - 1e-9)
#: Above this many distinct contrasts the fit rounds contrasts to 0.5 % before aggregating.
MAX_LEVELS = 401
_EPS = 1e-12
_ERF = np.frompyfunc(math.erf, 1, 1)


@dataclass(frozen=True)
class PsychometricFit:
    """Fitted parameters (bias and threshold in percent contrast), or NaN with the ``reason`` why not."""

    bias: float
    threshold: float
    lapse_low: float
    lapse_high: float
    n_trials: int
    converged: bool
    reason: str | None = None

    @classmethod
    def undefined(cls, n_trials: int, reason: str) -> PsychometricFit:
        """A fit that could not be made: NaN parameters, not converged, and why."""
        nan = math.nan
        return cls(nan, nan, nan, nan, n_trials=n_trials, converged=False, reason=reason)


def erf(x: np.ndarray | float) -> np.ndarray:
    """``math.erf`` over an array, evaluated once per distinct value (trials share few contrasts)."""
    values, inverse = np.unique(np.asarray(x, dtype=np.float64), return_inverse=True)
    return _ERF(values).astype(np.float64)[inverse].reshape(np.shape(x))


def psychometric(
    contrast_percent: np.ndarray | float, bias: float, threshold: float, lapse_low: float, lapse_high: float
) -> np.ndarray:
    """P(right choice) at each contrast (percent) under the model in the module docstring."""
    z = (np.asarray(contrast_percent, dtype=np.float64) - bias) / threshold
    return lapse_low + (1.0 - lapse_low - lapse_high) * (1.0 + erf(z)) / 2.0


def contrast_counts(trials: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per contrast level (percent, ascending): responded trials and right choices among them."""
    import pandas as pd

    choice = trials["choice"].to_numpy()
    responded = choice != 0
    contrast = trials["signed_contrast"].to_numpy(dtype=np.float64)[responded] * 100.0
    right = choice[responded] == 1
    codes, levels = pd.factorize(contrast, sort=True)
    if levels.size > MAX_LEVELS:
        codes, levels = pd.factorize(np.round(contrast * 2.0) / 2.0, sort=True)
    n = np.bincount(codes, minlength=levels.size).astype(np.float64)
    k = np.bincount(codes, weights=right, minlength=levels.size)
    return np.asarray(levels, dtype=np.float64), n, k


def negative_log_likelihood(params: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Binomial negative log-likelihood of ``params`` rows (bias, threshold, lapse_low, lapse_high)."""
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    bias, threshold, low, high = (params[:, i : i + 1] for i in range(4))
    p = low + (1.0 - low - high) * (1.0 + erf((levels - bias) / threshold)) / 2.0
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return -(k * np.log(p) + (n - k) * np.log1p(-p)).sum(axis=1)


def _objective(levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> Callable[[np.ndarray], float]:
    """``negative_log_likelihood`` of one point in search coordinates, without its array overhead."""
    misses = n - k

    def nll(x: np.ndarray) -> float:
        bias, threshold, low, high = x[0], math.exp(x[1]), x[2], x[3]
        z = _ERF((levels - bias) / threshold).astype(np.float64)
        p = np.clip(low + (1.0 - low - high) * (1.0 + z) * 0.5, _EPS, 1.0 - _EPS)
        return -float(k @ np.log(p) + misses @ np.log1p(-p))

    return nll


def fit_psychometric(trials: pd.DataFrame) -> PsychometricFit:
    """Maximum-likelihood fit of the session's choices; NaN parameters and a reason when undefined."""
    levels, n, k = contrast_counts(trials)
    n_trials = int(n.sum())
    if len(trials) == 0:
        return PsychometricFit.undefined(0, "no trials")
    if n_trials == 0:
        return PsychometricFit.undefined(0, "no trial with a response (every choice is 0)")
    if levels.size < 2:
        reason = f"only one contrast level ({levels[0]:g} %) among responded trials; need at least 2"
        return PsychometricFit.undefined(n_trials, reason)
    return fit_counts(levels, n, k)


def fit_counts(levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> PsychometricFit:
    """Fit from aggregated counts: contrast levels (percent), trials and right choices per level."""
    grid = _start_grid(levels)
    nll = negative_log_likelihood(grid, levels, n, k)
    lower, upper = _bounds()
    scale = np.array([10.0, 0.5, 0.05, 0.05])
    best_x, best_f, converged = None, math.inf, False
    objective = _objective(levels, n, k)
    for start in grid[np.argsort(nll, kind="stable")[:3]]:
        x, f, ok = _nelder_mead(objective, _to_search(start), scale, lower, upper)
        if f < best_f:
            best_x, best_f, converged = x, f, ok
    bias, threshold, low, high = _from_search(best_x)
    reason = None if converged else "the optimizer hit its iteration limit before meeting its tolerance"
    return PsychometricFit(float(bias), float(threshold), float(low), float(high), int(n.sum()), converged, reason)


def _start_grid(levels: np.ndarray) -> np.ndarray:
    biases = np.linspace(max(levels.min(), BIAS_BOUNDS[0]), min(levels.max(), BIAS_BOUNDS[1]), 13)
    thresholds = np.geomspace(1.0, 200.0, 10)
    lapses = np.array([0.0, 0.05, 0.15, 0.3])
    mesh = np.meshgrid(biases, thresholds, lapses, lapses, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    lower = np.array([BIAS_BOUNDS[0], math.log(THRESHOLD_BOUNDS[0]), LAPSE_BOUNDS[0], LAPSE_BOUNDS[0]])
    upper = np.array([BIAS_BOUNDS[1], math.log(THRESHOLD_BOUNDS[1]), LAPSE_BOUNDS[1], LAPSE_BOUNDS[1]])
    return lower, upper


def _to_search(params: np.ndarray) -> np.ndarray:
    """Search coordinates: the threshold on a log scale, the others as they are."""
    return np.array([params[0], math.log(params[1]), params[2], params[3]])


def _from_search(x: np.ndarray) -> np.ndarray:
    return np.array([x[0], math.exp(x[1]), x[2], x[3]])


def _nelder_mead(
    f: Callable[[np.ndarray], float],
    x0: np.ndarray,
    step: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    xtol: float = 1e-6,
    ftol: float = 1e-9,
    max_iter: int = 3000,
) -> tuple[np.ndarray, float, bool]:
    """Minimize ``f`` in the box [lower, upper] (points are projected into it); restart once at the end.

    Works in coordinates scaled by ``step`` so one tolerance fits every parameter. Converged means the
    simplex shrank below ``xtol`` (scaled) and its values spread less than ``ftol`` (relative).
    """
    lo, hi = lower / step, upper / step

    def g(y: np.ndarray) -> float:
        return f(y * step)

    y, _, _ = _simplex_search(g, np.clip(x0 / step, lo, hi), lo, hi, xtol, ftol, max_iter)
    # The restart rebuilds a full-size simplex around the result: one that collapsed against a bound or
    # into a valley stops early, and the fresh one moves on from there.
    y, fy, converged = _simplex_search(g, y, lo, hi, xtol, ftol, max_iter)
    return y * step, fy, converged


def _simplex_search(
    g: Callable[[np.ndarray], float],
    y0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    xtol: float,
    ftol: float,
    max_iter: int,
) -> tuple[np.ndarray, float, bool]:
    dim = y0.size
    simplex = np.empty((dim + 1, dim))
    simplex[0] = y0
    for i in range(dim):
        vertex = y0.copy()
        vertex[i] = vertex[i] + 1.0 if vertex[i] + 1.0 <= hi[i] else vertex[i] - 1.0
        simplex[i + 1] = vertex
    values = np.array([g(v) for v in simplex])
    for _ in range(max_iter):
        order = np.argsort(values, kind="stable")
        simplex, values = simplex[order], values[order]
        spread_x = np.abs(simplex[1:] - simplex[0]).max()
        spread_f = np.abs(values[1:] - values[0]).max()
        if spread_x <= xtol and spread_f <= ftol * (1.0 + abs(values[0])):
            return simplex[0], float(values[0]), True
        centroid = simplex[:-1].mean(axis=0)
        worst = simplex[-1]
        reflected = np.clip(2.0 * centroid - worst, lo, hi)
        f_reflected = g(reflected)
        if f_reflected < values[0]:
            expanded = np.clip(3.0 * centroid - 2.0 * worst, lo, hi)
            f_expanded = g(expanded)
            if f_expanded < f_reflected:
                simplex[-1], values[-1] = expanded, f_expanded
            else:
                simplex[-1], values[-1] = reflected, f_reflected
        elif f_reflected < values[-2]:
            simplex[-1], values[-1] = reflected, f_reflected
        else:
            if f_reflected < values[-1]:
                contracted = centroid + 0.5 * (reflected - centroid)
            else:
                contracted = centroid + 0.5 * (worst - centroid)
            f_contracted = g(contracted)
            if f_contracted < min(f_reflected, values[-1]):
                simplex[-1], values[-1] = contracted, f_contracted
            else:
                simplex[1:] = simplex[0] + 0.5 * (simplex[1:] - simplex[0])
                values[1:] = [g(v) for v in simplex[1:]]
    best = int(np.argmin(values))
    return simplex[best], float(values[best]), False
