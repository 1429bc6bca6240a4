"""Which parameters of a psychometric fit the data determine; a one-line reason for each of the others.

The rules and their cut-offs are explained in ``_psychometric``'s docstring; the numbers live here.
Standard errors come from the expected (Fisher) information at the estimate, on the parameters not held
at a bound, in search coordinates: bias in percent, threshold as log(threshold) (so its standard error
is relative), lapses as probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._psychometric_grid import start_points
from ._psychometric_linalg import eigh
from ._psychometric_model import LOWER, LOWER_FLOATS, THRESHOLD_BOUNDS, UPPER, UPPER_FLOATS
from ._psychometric_model import counts as model_counts
from ._psychometric_solver import Solution, minimize

NAMES = ("bias", "threshold", "lapse_low", "lapse_high")
#: Fewer distinct signed contrast levels than this and no parameter is reported. Four parameters need
#: four levels to be told apart at all, and with exactly four the curve passes through them whatever its
#: shape (the +-50/100 % sessions of early training, where the bias ran along a ridge): one spare level
#: is the least that tests the shape.
MIN_LEVELS = 5
#: A bias whose standard error exceeds this (percent contrast) is undefined: its 95 % interval then spans
#: +-49 %, half the tested range. Simulated typical sessions (11 levels, 300-600 trials, thresholds
#: 10-40 %, lapses 0-0.2, biases up to +-15 %; 2,592 of them) give 10 % at the 99th percentile, 19 % at most.
BIAS_SE_MAX = 25.0
#: A threshold whose relative standard error (that of log threshold) exceeds this is undefined: its 95 %
#: interval then spans a factor of 7 either way. Typical sessions give 0.5 at the 99th percentile.
THRESHOLD_LOG_SE_MAX = 1.0
#: A lapse whose 95 % half-width (1.96 standard errors, or for a lapse at 0 a likelihood-ratio test, see
#: ``_lapse_reasons``) exceeds this is undefined: lapses live in [0, 0.5) and criteria compare them with
#: 0.1-0.2. Typical sessions give 0.16 at the 99th percentile.
LAPSE_HALF_WIDTH_MAX = 0.3
#: An eigenvalue of the information's correlation matrix below this is a flat direction of the
#: likelihood (rounding leaves ~1e-15); a parameter with weight above ``NULL_WEIGHT`` in one is undefined.
NULL_EIGENVALUE = 1e-10
NULL_WEIGHT = 1e-6
#: When the search stopped on a drift (see ``_psychometric_solver.minimize``), every coordinate whose share
#: of the last step (relative to its range) is above this fraction of the leading one's moves with it.
DRIFT_WEIGHT = 1e-5
#: Two starts that end this close in negative log-likelihood but apart in a parameter leave it undefined.
TIE_NLL = 1e-6
#: Half of chi-square(1) at 95 %: the likelihood-ratio rise that bounds a 95 % interval.
_CHI2_95_HALF = 1.920729
_Z95 = 1.959964
#: Grid starts of a profile fit (besides the estimate itself with the lapse moved).
_PROFILE_STARTS = 2
_LOWER, _UPPER = LOWER_FLOATS, UPPER_FLOATS


def natural(x: np.ndarray | Sequence[float]) -> np.ndarray:
    """Search coordinates to (bias, threshold, lapse_low, lapse_high)."""
    return np.array([x[0], math.exp(x[1]), x[2], x[3]])


def undefined_parameters(
    best: Solution,
    others: Sequence[Solution],
    counts: tuple[np.ndarray, np.ndarray, np.ndarray],
    close: float,
    floor: float,
) -> dict[str, str]:
    """Parameter name -> why the data do not determine it; ``close``/``floor`` say when two fits agree.

    Plain Python on the four coordinates (numpy's per-call overhead exceeds the arithmetic on 4 numbers).
    """
    x = best.at.xs
    at_lower = [v <= lo for v, lo in zip(x, _LOWER, strict=True)]
    at_upper = [v >= hi for v, hi in zip(x, _UPPER, strict=True)]
    reasons: dict[str, str] = {}
    _bound_reasons([x[0], math.exp(x[1]), x[2], x[3]], at_lower, at_upper, counts[0], reasons)
    _tie_reasons(best, others, close, floor, reasons)
    if best.drift is not None:
        _drift_reasons(best.drift, reasons)
    free = [not (lo or hi) for lo, hi in zip(at_lower, at_upper, strict=True)]
    if any(free):
        _curvature_reasons(best, free, reasons)
    _lapse_reasons(best, at_lower, counts, reasons)
    return {name: reasons[name] for name in NAMES if name in reasons}


def _lapse_reasons(
    best: Solution, at_lower: list[bool], counts: tuple[np.ndarray, np.ndarray, np.ndarray], reasons: dict[str, str]
) -> None:
    """Likelihood-ratio checks where the local curvature says nothing about a lapse.

    A lapse at 0 is defined when fixing it at ``LAPSE_HALF_WIDTH_MAX`` makes the fit worse by at least
    1.92 (the 95 % likelihood-ratio cut-off). When bias or threshold are undefined, the curve's shape is an
    arbitrary point of a ridge and the local curvature of a lapse means little (a guessing subject fits
    as a small step between two plateaus near 0.5 as well as a flat line with no lapse): each lapse is
    then defined only if the fit gets that much worse ``LAPSE_HALF_WIDTH_MAX`` above and below it.
    """
    shape_undefined = "bias" in reasons or "threshold" in reasons
    for i in (2, 3):
        name = NAMES[i]
        if name in reasons or not (at_lower[i] or shape_undefined):
            continue
        value = best.at.xs[i]
        for probe in (value + LAPSE_HALF_WIDTH_MAX, value - LAPSE_HALF_WIDTH_MAX):
            if not _LOWER[i] <= probe <= _UPPER[i]:
                continue
            rise = _profile_rise(best, i, probe, counts)
            if rise < _CHI2_95_HALF:
                reasons[name] = (
                    f"{value:.3g}, but {probe:.3g} is about as likely (log-likelihood only {rise:.2g} lower)"
                )
                break


def _profile_rise(best: Solution, i: int, value: float, counts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """How much worse the fit gets with lapse ``i`` fixed at ``value`` (the others refitted: a profile).

    A local, quadratic estimate does not do: from 0 the profile is often concave for a while (one error
    at an easy level pulls hard at first), then rises steeply. A cheap lower bound comes first: with
    lapse_high = d every P(right) is at most 1 - d (with lapse_low = d at least d), so no curve does better
    than the per-level proportions clipped there; only when that does not settle it is the profile fitted.
    """
    levels, n, k = counts
    if value > best.at.x[i]:
        proportion = k / n
        clipped = np.maximum(proportion, value) if i == 2 else np.minimum(proportion, 1.0 - value)
        bound = _binomial_nll(clipped, n, k) - best.at.nll
        if bound >= _CHI2_95_HALF:
            return bound
    start = best.at.x.copy()
    start[i] = value
    fixed = np.zeros(4, dtype=bool)
    fixed[i] = True
    other = float(best.at.x[5 - i])
    pairs = [(value, other), (value, 0.0)] if i == 2 else [(other, value), (0.0, value)]
    starts = [start, *start_points(levels, n, k, _PROFILE_STARTS, pairs)]
    solutions: tuple[Solution, ...] = ()
    data = model_counts(levels, n, k)
    for point in starts:
        solution = minimize(point, levels, n, k, solutions, fixed, data=data)
        if all(solution is not known for known in solutions):
            solutions += (solution,)
    return min(s.at.nll for s in solutions) - best.at.nll


def _binomial_nll(p: np.ndarray, n: np.ndarray, k: np.ndarray) -> float:
    m = n - k
    right = np.log(p, out=np.zeros_like(p), where=k > 0) @ k
    left = np.log1p(-p, out=np.zeros_like(p), where=m > 0) @ m
    return -float(right + left)


def _bound_reasons(
    value: list[float], at_lower: list[bool], at_upper: list[bool], levels: np.ndarray, reasons: dict[str, str]
) -> None:
    """Estimates on a bound, or a bias off the tested range: the data put no limit on that side."""
    low, high = float(levels[0]), float(levels[-1])  # canonical counts: levels ascending
    if at_lower[1]:
        reasons["threshold"] = (
            f"below the resolution of the contrast levels: the curve is a step (threshold at its bound "
            f"{THRESHOLD_BOUNDS[0]:g} %)"
        )
    elif at_upper[1]:
        reasons["threshold"] = f"at its bound {THRESHOLD_BOUNDS[1]:g} %: the curve is flat across the tested contrasts"
    if at_lower[0] or at_upper[0] or not low <= value[0] <= high:
        reasons["bias"] = f"{value[0]:.4g} % lies outside the tested contrasts [{low:g}, {high:g}] %"
    if at_lower[0] or at_upper[0]:
        reasons.setdefault("threshold", "fitted with the bias held at its bound, where only the curve's tail is seen")
    for i in (2, 3):
        if at_upper[i]:
            reasons[NAMES[i]] = "at its bound 0.5: choices on that side are at chance"


def _drift_reasons(drift: np.ndarray, reasons: dict[str, str]) -> None:
    """The search stopped on a ridge: where it stopped is arbitrary in every coordinate that moves along it."""
    share = np.abs(drift) / (UPPER - LOWER)
    lead = int(np.argmax(share))
    towards = {0: ("-100 %", "100 %"), 1: ("0", f"{THRESHOLD_BOUNDS[1]:g} %"), 2: ("0", "0.5"), 3: ("0", "0.5")}[lead]
    why = f"the likelihood keeps rising, by ever less, as {NAMES[lead]} drifts towards {towards[int(drift[lead] > 0)]}"
    for i in np.flatnonzero(share > DRIFT_WEIGHT * share[lead]):
        reasons.setdefault(NAMES[i], why)


def _tie_reasons(
    best: Solution, others: Sequence[Solution], close: float, floor: float, reasons: dict[str, str]
) -> None:
    """Equally likely ends of other starts: which of them is reported would depend on the machine."""
    here = None
    for other in others:
        if other is best or other.at.nll > best.at.nll + TIE_NLL:
            continue
        if here is None:
            here = natural(best.at.xs).tolist()
        there = natural(other.at.xs).tolist()
        for i, name in enumerate(NAMES):
            if abs(here[i] - there[i]) > close * max(abs(here[i]), abs(there[i])) + floor:
                reasons.setdefault(name, f"equally likely fits at {here[i]:.6g} and {there[i]:.6g}")


def _curvature_reasons(best: Solution, free: list[bool], reasons: dict[str, str]) -> None:
    """Flat directions and standard errors from the Fisher information on the free coordinates.

    Plain Python around one ``eigh`` (numpy's per-call overhead on a 4 x 4 matrix exceeds its arithmetic).
    """
    index = [i for i, f in enumerate(free) if f]
    fisher = best.at.fisher.tolist()
    scale = [math.sqrt(max(fisher[i][i], 0.0)) for i in index]
    flat = [v <= 0.0 for v in scale]
    safe = [1.0 if f else v for f, v in zip(flat, scale, strict=True)]
    entries = list(zip(index, safe, flat, strict=True))
    correlation = [
        [0.0 if fa or fb else row[j] / (sa * sb) for j, sb, fb in entries]
        for row, sa, fa in ((fisher[i], sa, fa) for i, sa, fa in entries)
    ]
    values, vectors = eigh(correlation)
    cut = NULL_EIGENVALUE * max(max(values), 1.0)
    null = [c for c, v in enumerate(values) if v <= cut]
    kept = [c for c, v in enumerate(values) if v > cut]
    limits = {"bias": BIAS_SE_MAX, "threshold": THRESHOLD_LOG_SE_MAX}
    for row, i in enumerate(index):
        name = NAMES[i]
        vector = vectors[row]
        weights = [abs(vector[c]) for c in null]
        variance = sum(vector[c] * vector[c] / values[c] for c in kept) / (safe[row] * safe[row])
        se = math.sqrt(variance)
        if weights and max(weights) > NULL_WEIGHT:
            column = null[weights.index(max(weights))]
            along = [NAMES[index[r]] for r in range(len(index)) if abs(vectors[r][column]) > 0.1] or [name]
            reasons.setdefault(name, f"the likelihood is flat along {' and '.join(along)}")
        elif i >= 2 and _Z95 * se > LAPSE_HALF_WIDTH_MAX:
            reasons.setdefault(name, f"95 % half-width {_Z95 * se:.3g} exceeds {LAPSE_HALF_WIDTH_MAX:g}")
        elif i < 2 and se > limits[name]:
            what = f"standard error {se:.3g} %" if i == 0 else f"relative standard error {se:.3f}"
            reasons.setdefault(name, f"{what} exceeds {limits[name]:g}{' %' if i == 0 else ''}")
