"""The psychometric fit of a two-alternative choice session: numpy only, reproducible, and honest about ridges.

**Model** -- the one IBL's training criteria fit (``erf_psycho_2gammas`` in their psychofit, parameters
``[bias, slope, gamma1, gamma2]`` = ours in this order)::

    P(right | c) = lapse_low + (1 - lapse_low - lapse_high) * (1 + erf((c - bias) / threshold)) / 2

with the contrast ``c`` in **percent** (-100..100), so ``bias`` and ``threshold`` are in percent
contrast and compare with IBL's published criteria (trained_1a: |bias| < 16, threshold < 19, lapses
< 0.2). There is no sqrt(2): ``threshold`` is sqrt(2) times the standard deviation of the underlying
cumulative Gaussian. ``lapse_low`` is the rate of right choices far on the left, ``lapse_high`` the rate
of left choices far on the right. Bounds: bias in [-100, 100], threshold in [0.01, 1000], each lapse
in [0, 0.5) (so the curve rises).

**Fit** -- maximum likelihood on the binomial counts per contrast level (responded trials only: a no-go
trial carries no choice), so a million trials cost one pass to aggregate them. Levels are sorted and
merged first (any row order gives the same sums, bit for bit). A vectorized grid ranks biases at and
between the levels, thresholds 0.5..1000 % and two lapse pairs; from its ``STARTS`` best points that are
not neighbours, a projected Newton method (exact Hessian; Fisher scoring with Levenberg-Marquardt damping
where the Hessian is not positive definite; a negative-curvature search at saddles; an active set for
coordinates at a bound; Armijo backtracking) runs until the Newton decrement is below 1e-16, i.e. within
about 1e-8 standard errors of the optimum. Nothing is random. Details in ``_psychometric_solver``.

**Reproducible** -- two machines (or row orders) agree on every identified parameter to
``REPRODUCIBLE_TO`` relative or ``REPRODUCIBLE_ABS`` absolute, whichever is larger: they differ only by
last-digit differences of erfc/exp/log, which the tight convergence test leaves far below 1e-8 standard
errors (< 3e-7 % for a bias at its largest allowed standard error). A parameter sits exactly at a
cut-off below on one machine and just across it on another only by a coincidence of the same order.

**Identified or undefined** -- a parameter the data do not determine is NaN, and ``undefined`` says why
(constants in ``_psychometric_identify``, each with the reason for its value):

1. fewer than ``MIN_LEVELS`` (5) distinct signed levels: no fit, all four undefined (a four-parameter
   curve passes through four levels whatever its shape: the +-50/100 % sessions);
2. the optimizer did not meet its convergence test: all four undefined;
3. estimates at a bound: threshold at 0.01 (below the resolution of the levels: a step) or at 1000 (flat
   across them); bias at +-100 or outside the tested contrasts (with the bias held at its bound, the
   threshold too: only the curve's tail is seen); a lapse at its upper bound 0.5 (chance);
4. ties: another start ends within 1e-6 in log-likelihood but elsewhere: the parameters that differ;
5. drift: the search crawls along a ridge towards a bound, the likelihood still rising by < 5e-7 a step:
   the parameters that move along it;
6. curvature: the Fisher information on the parameters not at a bound; in a flat direction (eigenvalue
   below 1e-10 of its correlation matrix) every parameter with a weight in it; otherwise the standard
   errors: bias > ``BIAS_SE_MAX`` (25 %), log threshold > ``THRESHOLD_LOG_SE_MAX`` (1.0), lapse
   1.96 x SE > ``LAPSE_HALF_WIDTH_MAX`` (0.3);
7. lapses by likelihood ratio: a lapse of exactly 0 (its natural bound) is a legitimate estimate when
   fixing it at 0.3 instead, the others refitted, makes the fit worse by at least 1.92 (the 95 %
   likelihood-ratio cut-off); when bias or threshold are undefined, every lapse must pass that test
   0.3 above and below its estimate (the curve's shape is then arbitrary, and so is a lapse's curvature).

The cut-offs leave typical trained and half-trained sessions (11 signed levels 0, +-6.25 .. +-100 %,
300-600 trials, thresholds 10-40 %, lapses 0-0.2) identified: in 2,592 simulated ones, 98.5 % had all
four, and the rest were genuine ridges (mostly a 10 % threshold whose step fell between two levels).

**Why no scipy** at run time: its import alone costs about a second of every ``curriculum run``; the tests
check this fit against scipy's optimizers and IBL's psychofit. Sessions with continuous contrasts (more
than ``MAX_LEVELS`` distinct values) are aggregated after rounding the contrast to 0.5 % (at most 401
levels), so the cost stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from ._notes import declare_undefined
from ._psychometric_grid import start_points
from ._psychometric_identify import MIN_LEVELS, NAMES, undefined_parameters
from ._psychometric_model import BIAS_BOUNDS as BIAS_BOUNDS
from ._psychometric_model import LAPSE_BOUNDS as LAPSE_BOUNDS
from ._psychometric_model import THRESHOLD_BOUNDS as THRESHOLD_BOUNDS
from ._psychometric_model import counts, tail_split
from ._psychometric_solver import Solution, minimize
from ._rows import Where, _array, _rows

if TYPE_CHECKING:
    import pandas as pd

#: Above this many distinct contrasts the fit rounds contrasts to 0.5 % before aggregating.
MAX_LEVELS = 401
#: Identified parameters agree across machines and row orders to this relative difference ...
REPRODUCIBLE_TO = 1e-6
#: ... or to this absolute one (percent for bias and threshold, probability for lapses), whichever is larger.
REPRODUCIBLE_ABS = 1e-6
#: Deterministic starts taken from the grid (its best point and the best ones not next to it).
STARTS = 3
_FLOOR = 1e-150
#: Up to this many levels ``_canonical`` checks the counts in plain Python (numpy's per-call cost dominates).
_FEW_LEVELS = 64
_isfinite = math.isfinite
_ERF = np.frompyfunc(math.erf, 1, 1)
_NAN = math.nan


@dataclass(frozen=True)
class PsychometricFit:
    """Fitted parameters (bias and threshold in percent contrast); NaN where the data do not determine them.

    ``undefined`` maps each such parameter to a one-line reason; ``reason`` sums them up in one line (None
    when all four are identified). ``converged``: the optimizer met its convergence test.
    ``negative_log_likelihood`` is the fit's at the estimate (NaN when no fit was made).
    """

    bias: float
    threshold: float
    lapse_low: float
    lapse_high: float
    n_trials: int
    converged: bool
    reason: str | None = None
    undefined: Mapping[str, str] = field(default_factory=dict)
    negative_log_likelihood: float = _NAN

    @classmethod
    def unfitted(cls, n_trials: int, reason: str) -> PsychometricFit:
        """A fit that could not be made: NaN parameters, not converged, all four undefined for ``reason``."""
        return cls(
            _NAN,
            _NAN,
            _NAN,
            _NAN,
            n_trials=n_trials,
            converged=False,
            reason=reason,
            undefined=dict.fromkeys(NAMES, reason),
        )


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


def contrast_counts(trials: pd.DataFrame, *, where: Where = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per contrast level (percent, ascending): responded trials and right choices among them.

    ``where`` (one boolean per trial): count only those trials, as ``contrast_counts(trials[where])``.
    """
    choice = _array(trials, "choice")
    responded = choice != 0
    rows = _rows(trials, where)
    if rows is not None:
        responded &= rows
    contrast = _array(trials, "signed_contrast", np.float64)[responded] * 100.0
    right = choice[responded] == 1
    levels, codes = _levels(contrast)
    if levels.size > MAX_LEVELS:
        levels, codes = _levels(np.round(contrast * 2.0) / 2.0)
    n = np.bincount(codes, minlength=levels.size).astype(np.float64)
    k = np.bincount(codes, weights=right, minlength=levels.size)
    return levels, n, k


def _levels(contrast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values, ascending, and each trial's index among them: ``pd.factorize(sort=True)``, whose
    zero level keeps the sign of the first zero (-0.0 for a left stimulus at 0 %: it shows in the reasons),
    at a fraction of its cost."""
    levels, codes = np.unique(contrast, return_inverse=True)
    zero = int(np.searchsorted(levels, 0.0))
    if zero < levels.size and levels[zero] == 0.0:
        levels[zero] = contrast[int(np.argmax(codes == zero))]
    return levels, codes.ravel()


def negative_log_likelihood(params: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Binomial negative log-likelihood of ``params`` rows (bias, threshold, lapse_low, lapse_high).

    Exactly the fit's objective: ``p`` and ``1 - p`` come from erfc, so neither saturates in its tail.
    """
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    levels, n, k = (np.asarray(a, dtype=np.float64) for a in (levels, n, k))
    bias, threshold, low, high = (params[:, i : i + 1] for i in range(4))
    z = (levels - bias) / threshold
    big, small = (part.reshape(z.shape) for part in tail_split(z.ravel()))
    scale = 1.0 - low - high
    p = np.maximum(low + scale * big, _FLOOR)
    q = np.maximum(high + scale * small, _FLOOR)
    return -(k * np.log(p) + (n - k) * np.log(q)).sum(axis=1)


def fit_psychometric(
    trials: pd.DataFrame, *, report_as: str | None = "psychometric_{}", where: Where = None
) -> PsychometricFit:
    """Maximum-likelihood fit of the session's choices; NaN and a reason for each parameter the data leave open.

    With ``report_as``, each undefined parameter is declared (``declare_undefined``) as
    ``report_as.format(name)``, so that its reason reaches the document's warnings during an evaluation.
    ``where`` (one boolean per trial) fits only those trials, exactly as ``fit_psychometric(trials[where])``.
    """
    rows = _rows(trials, where)
    if (len(trials) if rows is None else np.count_nonzero(rows)) == 0:
        fit = PsychometricFit.unfitted(0, "no trials")
    else:
        levels, n, k = contrast_counts(trials, where=rows)
        if n.sum() == 0:
            fit = PsychometricFit.unfitted(0, "no trial with a response (every choice is 0)")
        else:
            fit = fit_counts(levels, n, k)
    if report_as is not None:
        for name, why in fit.undefined.items():
            declare_undefined(report_as.format(name), why)
    return fit


def fit_counts(levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> PsychometricFit:
    """Fit from aggregated counts: contrast levels (percent), trials and right choices per level. Pure."""
    levels, n, k = _canonical(levels, n, k)
    n_trials = round(float(n.sum()))
    if levels.size == 0:
        return PsychometricFit.unfitted(0, "no trial with a response (every choice is 0)")
    if levels.size < MIN_LEVELS:
        shown = ", ".join(f"{c:g}" for c in levels.tolist())
        what = "one contrast level" if levels.size == 1 else f"{levels.size} contrast levels"
        reason = f"only {what} ({shown} %) among responded trials; a four-parameter fit needs at least {MIN_LEVELS}"
        return PsychometricFit.unfitted(n_trials, reason)
    solutions: tuple[Solution, ...] = ()
    data = counts(levels, n, k)
    for start in start_points(levels, n, k, STARTS):
        solution = minimize(start, levels, n, k, solutions, data=data)
        if all(solution is not known for known in solutions):
            solutions += (solution,)
    # Of equal values, the end a descent reached rather than a start on a plateau it never left (a step
    # between levels: the grid's point and the threshold's bound are equally likely to the last digit);
    # then the first: deterministic.
    best = min(solutions, key=lambda s: (s.at.nll, -s.iterations))
    if best.converged:
        undefined = undefined_parameters(best, solutions, (levels, n, k), REPRODUCIBLE_TO, REPRODUCIBLE_ABS)
    else:
        undefined = dict.fromkeys(NAMES, f"the optimizer did not meet its convergence test in {best.iterations} steps")
    x = best.at.xs
    natural = (x[0], math.exp(x[1]), x[2], x[3])
    values = [_NAN if name in undefined else v for name, v in zip(NAMES, natural, strict=True)]
    return PsychometricFit(
        *values,
        n_trials=n_trials,
        converged=best.converged,
        reason="; ".join(f"{name}: {why}" for name, why in undefined.items()) or None,
        undefined=undefined,
        negative_log_likelihood=best.at.nll,
    )


def _canonical(levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels ascending and distinct, empty ones dropped: any row order gives the same sums, bit for bit."""
    levels, n, k = (np.asarray(a, dtype=np.float64).ravel() for a in (levels, n, k))
    if not levels.size == n.size == k.size:
        raise ValueError(f"levels, n and k need one entry per level, got {levels.size}, {n.size} and {k.size}")
    if levels.size <= _FEW_LEVELS:  # the usual dozen levels: the same checks in plain Python, 3x cheaper
        c, nn, kk = levels.tolist(), n.tolist(), k.tolist()
        if not (all(map(_isfinite, c)) and all(map(_isfinite, nn)) and all(map(_isfinite, kk))):
            raise ValueError("levels, n and k must be finite")
        if any(b < 0.0 or b > a for a, b in zip(nn, kk, strict=True)):
            raise ValueError("counts must satisfy 0 <= k <= n at every level")
        canonical = bool(c) and all(a > 0.0 for a in nn) and all(b > a for a, b in pairwise(c))
    else:
        if not (np.isfinite(levels).all() and np.isfinite(n).all() and np.isfinite(k).all()):
            raise ValueError("levels, n and k must be finite")
        if (k < 0).any() or (k > n).any():
            raise ValueError("counts must satisfy 0 <= k <= n at every level")
        canonical = bool((n > 0).all() and (levels[1:] > levels[:-1]).all())
    if canonical:
        return levels.copy(), n + 0.0, k + 0.0  # already canonical; + 0.0 as bincount's sums (-0.0 becomes 0.0)
    keep = n > 0
    unique, inverse = np.unique(levels[keep], return_inverse=True)
    return unique, np.bincount(inverse, weights=n[keep]), np.bincount(inverse, weights=k[keep])
