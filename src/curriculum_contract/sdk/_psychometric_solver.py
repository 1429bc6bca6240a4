"""The optimizer behind ``fit_counts``: a projected Newton method on the binomial likelihood, numpy only.

Every step solves the Newton system on the free coordinates (those not held at a bound by a gradient
pointing outwards) with the exact Hessian when it is positive definite; at a saddle it searches along
the most negative curvature; otherwise it takes a Fisher-scoring step (Gauss-Newton for the binomial
likelihood) damped Levenberg-Marquardt style. A backtracking (Armijo) line search along the projected
path keeps every step downhill. Convergence: the Newton decrement ``g' H^-1 g`` (twice the
log-likelihood still to gain) below ``DECREMENT_TOL``, which puts the estimate within 1e-8 standard
errors of the optimum; Newton's quadratic convergence gets there in a few steps. The vectors and
systems are at most 4 long: they are plain Python lists and loops (numpy costs about a microsecond per
operation on 4 numbers), numpy only for the eigenvectors at a saddle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._psychometric_model import (
    LOWER,
    UPPER,
    Counts,
    Point,
    Probe,
    Vector,
    cholesky_solve,
    complete,
    counts,
    dot,
    held,
    positive_definite,
    probe,
    probe_below,
    quadratic,
    slope,
)

#: Stop when the Newton decrement is below this: the estimate is then within 1e-8 standard errors.
DECREMENT_TOL = 1e-16
#: A start whose line search finds nothing lower while the decrement is below this has met rounding, not a wall.
ROUNDING_DECREMENT = 1e-12
#: Below this decrement a Newton step (positive definite Hessian) is taken without a line search.
QUADRATIC_DECREMENT = 1e-8
#: A decrement below ``SLOW_DECREMENT`` that shrank by less than ``SLOW_RATIO`` in one step is a crawl towards a
#: bound (Newton's decrements shrink quadratically): putting the coordinate on the bound is then tried.
SLOW_DECREMENT = 1e-2
SLOW_RATIO = 0.25
#: That many slow steps in a row, each gaining less than ``DRIFT_DECREMENT / 2``, and the search stops on a
#: drift: the likelihood still rises along a ridge towards a bound, but by amounts no data decide. The
#: coordinates that move along it are then undefined (``_psychometric_identify``).
DRIFT_STEPS = 3
DRIFT_DECREMENT = 1e-6
MAX_ITER = 100
#: A second start this close (squared distance in standard errors) to a found optimum, where the likelihood
#: is quadratic as its information predicts, is merged into it: Newton would take it there.
MERGE_DISTANCE = 1.0
ARMIJO = 1e-4
#: A later start still this much worse than a known solution, with less than 0.5 left to gain where it is,
#: is abandoned (returned unconverged; the best solution is another one anyway).
ABANDON_NLL = 5.0
#: Backtracking halves a step at most this often (to 1e-12 of it); past that only rounding is left.
HALVINGS = 40
#: The longest first trial of a line search per coordinate: a near-singular system gives absurd steps.
MAX_STEP = (50.0, 2.0, 0.25, 0.25)
_MIN_STEP = tuple(-v for v in MAX_STEP)
_LOWER, _UPPER = LOWER.tolist(), UPPER.tolist()
(_LB, _LS, _LG, _), (_UB, _US, _UG, _) = _LOWER, _UPPER


@dataclass(frozen=True)
class Solution:
    """Where one start ended, whether the decrement test passed there, and the iterations used."""

    at: Point
    converged: bool
    iterations: int
    drift: np.ndarray | None = None  # the last step, when the search stopped on a drift (see ``minimize``)


def _clip(x: Vector, lower: Vector | tuple[float, ...] = _LOWER, upper: Vector | tuple[float, ...] = _UPPER) -> Vector:
    """``x`` projected onto the box ``lower..upper`` (as ``min(max(v, lo), hi)``, NaN kept)."""
    return [lo if v < lo else hi if v > hi else v for v, lo, hi in zip(x, lower, upper, strict=True)]


def _along(x: Vector, alpha: float, step: Vector) -> Vector:
    """``x + alpha step`` projected onto the box (``_clip`` unrolled)."""
    b, s, g, h = x[0] + alpha * step[0], x[1] + alpha * step[1], x[2] + alpha * step[2], x[3] + alpha * step[3]
    return [
        _LB if b < _LB else _UB if b > _UB else b,
        _LS if s < _LS else _US if s > _US else s,
        _LG if g < _LG else _UG if g > _UG else g,
        _LG if h < _LG else _UG if h > _UG else h,
    ]


def _longest(step: Vector) -> float:
    """The largest multiple of ``step`` that keeps every coordinate within ``MAX_STEP``."""
    return min(m / max(abs(s), 1e-300) for m, s in zip(MAX_STEP, step, strict=True))


def _fisher_scoring(at: Point, index: list[int]) -> tuple[Vector, float]:
    """Fisher scoring (Gauss-Newton) with growing Levenberg-Marquardt damping; steepest descent as the last resort."""
    fisher = at.fisher.tolist()
    for damping in _DAMPING:
        solved = _solve(fisher, at, index, damping)
        if solved is not None:
            return solved
    step, decrement = [0.0] * 4, 0.0
    for i in index:
        scaled = at.grad[i] / max(fisher[i][i], 1e-300)
        step[i] = -scaled
        decrement += at.grad[i] * scaled
    return step, decrement


def _solve(matrix: list[Vector], at: Point, index: list[int], damping: float) -> tuple[Vector, float] | None:
    full = len(index) == 4
    if full and not damping:
        h, grad = matrix, at.grad  # cholesky_solve does not write to its matrix
    else:
        h = [[matrix[i][j] for j in index] for i in index]
        grad = [at.grad[i] for i in index]
    if damping:  # lengthen the diagonal; a zero diagonal gets a floor
        for i in range(len(h)):
            h[i][i] = h[i][i] * (1.0 + damping) + 1e-300
    d = cholesky_solve(h, [-v for v in grad])
    if d is None or not all(map(math.isfinite, d)):
        return None
    if full:
        step = d
    else:
        step = [0.0] * 4
        for i, v in zip(index, d, strict=True):
            step[i] = v
    return step, -sum(gv * dv for gv, dv in zip(grad, d, strict=True))


#: Levenberg-Marquardt damping tried in turn when the Hessian is not positive definite.
_DAMPING = (1e-12, 1e-6, 1e-2)
#: Below this (on the Hessian scaled to a unit diagonal) an eigenvalue is negative curvature, not rounding.
NEGATIVE_CURVATURE = 1e-9


def _negative_curvature(at: Point, index: list[int], data: Counts) -> Probe | None:
    """Leave a saddle: a line search along the Hessian's most negative direction (None when there is none).

    Newton and Fisher steps both crawl away from a saddle (a lapse at 1e-20 growing tenfold a step);
    the curvature direction gets out in one search.
    """
    hess = at.hess
    scale = [math.sqrt(max(abs(hess[i][i]), 1e-300)) for i in index]
    scaled = [
        [hess[i][j] / (si * sj) for j, sj in zip(index, scale, strict=True)] for i, si in zip(index, scale, strict=True)
    ]
    values, vectors = np.linalg.eigh(np.array(scaled))
    if not values[0] < -NEGATIVE_CURVATURE:
        return None
    direction = [0.0] * 4
    for i, v, si in zip(index, vectors[:, 0].tolist(), scale, strict=True):
        direction[i] = v / si
    rate = dot(at.grad, direction)
    curvature = quadratic(at.hess, direction)
    for sign in (-1.0, 1.0) if rate > 0 else (1.0, -1.0):
        step = [sign * v for v in direction]
        length = math.sqrt(dot(step, step))
        alpha = min(1e300, _longest(step))
        for _ in range(HALVINGS // 2):
            trial = _along(at.xs, alpha, step)
            moved = [a - b for a, b in zip(trial, at.xs, strict=True)]
            t = math.sqrt(dot(moved, moved)) / length
            model = sign * rate * t + 0.5 * curvature * t * t
            if model < 0.0:
                limit = at.nll + ARMIJO * model
                value = probe_below(trial, data, min(at.nll, limit))
                if value is not None and value.nll < at.nll and value.nll <= limit:
                    return value
            alpha *= 0.5
    return None


_NONE_FIXED = np.zeros(4, dtype=bool)


def minimize(
    x0: np.ndarray,
    levels: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    known: tuple[Solution, ...] = (),
    fixed: np.ndarray = _NONE_FIXED,
) -> Solution:
    """Projected Newton from ``x0`` until the decrement test passes at a minimum (or ``MAX_ITER``).

    Converged: the Newton decrement is below ``DECREMENT_TOL`` and the Hessian on the free coordinates is
    positive definite (a minimum), or it has no direction of negative curvature left (a flat minimum),
    or the search crawls along a ridge (a drift, the step returned): the identification rules judge
    the last two. A start that comes within ``MERGE_DISTANCE`` (squared,
    in standard errors) of a ``known`` solution whose information is positive definite would converge
    to it: that solution is returned instead. ``fixed`` coordinates stay where ``x0`` has them (a profile).
    """
    data = counts(levels, n, k)
    candidates = [i for i, f in enumerate(np.asarray(fixed, dtype=bool).tolist()) if not f]
    current = probe(_clip(np.asarray(x0, dtype=np.float64).tolist()), data)
    merge = [(solution, solution.at.fisher.tolist()) for solution in known]
    merge = [(solution, info) for solution, info in merge if positive_definite(info)]
    lowest = min((s.at.nll for s in known), default=math.inf)
    previous, slow = math.inf, 0
    for iteration in range(1, MAX_ITER + 1):
        here = current.xs
        for solution, information in merge:
            there = solution.at.xs
            d = [here[0] - there[0], here[1] - there[1], here[2] - there[2], here[3] - there[3]]
            distance = quadratic(information, d)
            # Within one standard error, and where the likelihood is as quadratic as the information says.
            if distance <= MERGE_DISTANCE and abs(current.nll - solution.at.nll - 0.5 * distance) <= 0.25 * distance:
                return solution
        at = complete(current, data)  # derivatives only now: a merged start never needs its last ones
        index = [i for i in candidates if not held(at.xs, at.grad, i)]
        if not index:
            return Solution(at, True, iteration)
        newton = _solve(at.hess, at, index, 0.0)  # Newton's step and decrement; None unless definite
        moved = None if newton else _negative_curvature(at, index, data)
        if moved is not None:
            current, previous = moved, math.inf
            continue
        step, decrement = newton or _fisher_scoring(at, index)
        if decrement <= DECREMENT_TOL:
            return Solution(at, True, iteration)
        if known and decrement < 1.0 and at.nll > lowest + ABANDON_NLL:
            return Solution(at, False, iteration)  # settling into a worse basin: it can neither win nor tie
        if SLOW_RATIO * previous < decrement < SLOW_DECREMENT:
            slow += 1
            if slow >= DRIFT_STEPS and decrement < DRIFT_DECREMENT:
                return Solution(at, True, iteration, drift=np.array(step))
            moved = _onto_bound(at, step, index, data)
        else:
            slow = 0
        if moved is None and newton is not None and decrement <= QUADRATIC_DECREMENT:
            # Deep in Newton's quadratic regime the gain (decrement / 2) is below the NLL's rounding:
            # no line search can see it, and none is needed.
            moved = probe(_along(at.xs, 1.0, step), data)
        elif moved is None:
            moved = _line_search(at, step, data)
        if moved is None:
            return Solution(at, decrement <= ROUNDING_DECREMENT, iteration)
        current, previous = moved, decrement
    return Solution(complete(current, data), False, MAX_ITER)


def _onto_bound(at: Point, step: Vector, index: list[int], data: Counts) -> Probe | None:
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


def _line_search(at: Point, step: Vector, data: Counts) -> Probe | None:
    """Backtrack along the projected path until the Armijo condition holds; None when nothing is lower."""
    alpha = 1.0
    capped = _clip(step, _MIN_STEP, MAX_STEP)  # a flat coordinate's huge step must not shrink the others'
    if dot(at.grad, capped) < 0.0:
        step = capped
    else:
        alpha = _longest(step)
    x = at.xs
    trial = _along(x, alpha, step)
    limit = at.nll + ARMIJO * slope(at.grad, trial, x)
    point = probe_below(trial, data, min(at.nll, limit))
    if point is not None and point.nll < at.nll and point.nll <= limit:
        return point
    for _ in range(HALVINGS):
        alpha *= 0.5
        trial = _along(x, alpha, step)
        if trial == x:
            return None
        limit = at.nll + ARMIJO * slope(at.grad, trial, x)
        point = probe_below(trial, data, min(at.nll, limit))
        if point is not None and point.nll < at.nll and point.nll <= limit:
            return point
    return None
