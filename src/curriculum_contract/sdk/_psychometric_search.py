"""The psychometric solver's searches along a step: Armijo backtracking, the way out of a saddle, onto a bound.

Each tries points along the path ``x + alpha step`` projected onto the box (``along``), probing the NLL
alone (``probe_below`` gives up on a trial as soon as it is sure to exceed the search's limit) and keeps
the first acceptable one; ``minimize`` (``_psychometric_solver``) completes only that one.
"""

from __future__ import annotations

import math

from ._psychometric_linalg import eigh
from ._psychometric_model import (
    LOWER_FLOATS,
    UPPER_FLOATS,
    Counts,
    Point,
    Probe,
    Vector,
    dot,
    probe_below,
    quadratic,
    slope,
)

#: The sufficient decrease asked of a trial, as a fraction of the first-order (or quadratic model's) decrease.
ARMIJO = 1e-4
#: Backtracking halves a step at most this often (to 1e-12 of it); past that only rounding is left.
HALVINGS = 40
#: The longest first trial of a line search per coordinate: a near-singular system gives absurd steps.
MAX_STEP = (50.0, 2.0, 0.25, 0.25)
#: Below this (on the Hessian scaled to a unit diagonal) an eigenvalue is negative curvature, not rounding.
NEGATIVE_CURVATURE = 1e-9
_MIN_STEP = tuple(-v for v in MAX_STEP)
_M0, _M1, _M2, _M3 = MAX_STEP
_LOWER, _UPPER = LOWER_FLOATS, UPPER_FLOATS
(_LB, _LS, _LG, _), (_UB, _US, _UG, _) = _LOWER, _UPPER


def clip(x: Vector, lower: Vector | tuple[float, ...] = _LOWER, upper: Vector | tuple[float, ...] = _UPPER) -> Vector:
    """``x`` projected onto the box ``lower..upper`` (as ``min(max(v, lo), hi)``, NaN kept)."""
    return [lo if v < lo else hi if v > hi else v for v, lo, hi in zip(x, lower, upper, strict=True)]


def along(x: Vector, alpha: float, step: Vector) -> Vector:
    """``x + alpha step`` projected onto the box (``clip`` unrolled)."""
    b, s, g, h = x[0] + alpha * step[0], x[1] + alpha * step[1], x[2] + alpha * step[2], x[3] + alpha * step[3]
    return [
        _LB if b < _LB else _UB if b > _UB else b,
        _LS if s < _LS else _US if s > _US else s,
        _LG if g < _LG else _UG if g > _UG else g,
        _LG if h < _LG else _UG if h > _UG else h,
    ]


def longest(step: Vector) -> float:
    """The largest multiple of ``step`` that keeps every coordinate within ``MAX_STEP`` (unrolled)."""
    s0, s1, s2, s3 = step
    return min(
        _M0 / max(abs(s0), 1e-300), _M1 / max(abs(s1), 1e-300), _M2 / max(abs(s2), 1e-300), _M3 / max(abs(s3), 1e-300)
    )


def negative_curvature(at: Point, index: list[int], data: Counts) -> Probe | None:
    """Leave a saddle: a line search along the Hessian's most negative direction (None when there is none).

    Newton and Fisher steps both crawl away from a saddle (a lapse at 1e-20 growing tenfold a step);
    the curvature direction gets out in one search.
    """
    hess = at.hess
    scale = [math.sqrt(max(abs(hess[i][i]), 1e-300)) for i in index]
    pairs = list(zip(index, scale, strict=True))
    scaled = [[row[j] / (si * sj) for j, sj in pairs] for row, si in ((hess[i], si) for i, si in pairs)]
    values, vectors = eigh(scaled)
    if not values[0] < -NEGATIVE_CURVATURE:
        return None
    direction = [0.0] * 4
    for i, row, si in zip(index, vectors, scale, strict=True):
        direction[i] = row[0] / si
    rate = dot(at.grad, direction)
    curvature = quadratic(at.hess, direction)
    x, nll = at.xs, at.nll
    x0, x1, x2, x3 = x
    sqrt = math.sqrt
    for sign in (-1.0, 1.0) if rate > 0 else (1.0, -1.0):
        step = [sign * v for v in direction]
        length = sqrt(dot(step, step))
        alpha = min(1e300, longest(step))
        signed_rate, half_curvature = sign * rate, 0.5 * curvature
        for _ in range(HALVINGS // 2):
            trial = along(x, alpha, step)
            m0, m1, m2, m3 = trial[0] - x0, trial[1] - x1, trial[2] - x2, trial[3] - x3
            t = sqrt(m0 * m0 + m1 * m1 + m2 * m2 + m3 * m3) / length
            model = signed_rate * t + half_curvature * t * t
            if model < 0.0:
                limit = nll + ARMIJO * model
                value = probe_below(trial, data, min(nll, limit))
                if value is not None and value.nll < nll and value.nll <= limit:
                    return value
            alpha *= 0.5
    return None


def onto_bound(at: Point, step: Vector, index: list[int], data: Counts) -> Probe | None:
    """Put a coordinate the step drifts towards its bound on that bound, when that is lower.

    A supremum at a bound (a threshold below the levels' resolution, a lapse at chance) is approached
    ever more slowly: the likelihood flattens exponentially there. Tried only when progress is slow.
    """
    best, best_nll = None, at.nll
    for i in index:
        if step[i] == 0.0:
            continue
        trial = list(at.xs)
        trial[i] = _LOWER[i] if step[i] < 0.0 else _UPPER[i]
        value = probe_below(trial, data, best_nll)
        if value is not None and value.nll < best_nll:
            best, best_nll = value, value.nll
    return best


def line_search(at: Point, step: Vector, data: Counts) -> Probe | None:
    """Backtrack along the projected path until the Armijo condition holds; None when nothing is lower."""
    alpha = 1.0
    capped = clip(step, _MIN_STEP, MAX_STEP)  # a flat coordinate's huge step must not shrink the others'
    if dot(at.grad, capped) < 0.0:
        step = capped
    else:
        alpha = longest(step)
    x = at.xs
    trial = along(x, alpha, step)
    limit = at.nll + ARMIJO * slope(at.grad, trial, x)
    point = probe_below(trial, data, min(at.nll, limit))
    if point is not None and point.nll < at.nll and point.nll <= limit:
        return point
    for _ in range(HALVINGS):
        alpha *= 0.5
        trial = along(x, alpha, step)
        if trial == x:
            return None
        limit = at.nll + ARMIJO * slope(at.grad, trial, x)
        point = probe_below(trial, data, min(at.nll, limit))
        if point is not None and point.nll < at.nll and point.nll <= limit:
            return point
    return None
