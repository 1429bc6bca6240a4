"""The optimizer behind ``fit_counts``: a projected Newton method on the binomial likelihood, numpy only.

Every step solves the Newton system on the free coordinates (those not held at a bound by a gradient
pointing outwards) with the exact Hessian when it is positive definite; at a saddle it searches along
the most negative curvature; otherwise it takes a Fisher-scoring step (Gauss-Newton for the binomial
likelihood) damped Levenberg-Marquardt style. A backtracking (Armijo) line search along the projected
path keeps every step downhill. Convergence: the Newton decrement ``g' H^-1 g`` (twice the
log-likelihood still to gain) below ``DECREMENT_TOL``, which puts the estimate within 1e-8 standard
errors of the optimum; Newton's quadratic convergence gets there in a few steps. The systems are at
most 4 x 4: they are solved in plain Python, cheaper there than a LAPACK call through numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._psychometric_model import LOWER, UPPER, Point, evaluate, held, nll_at

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
MAX_STEP = np.array([50.0, 2.0, 0.25, 0.25])


@dataclass(frozen=True)
class Solution:
    """Where one start ended, whether the decrement test passed there, and the iterations used."""

    at: Point
    converged: bool
    iterations: int
    drift: np.ndarray | None = None  # the last step, when the search stopped on a drift (see ``minimize``)


def cholesky_solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """``matrix^-1 rhs`` for a small symmetric matrix, or None when it is not positive definite."""
    size = len(rhs)
    low = [[0.0] * size for _ in range(size)]
    for i in range(size):
        row, matrix_row = low[i], matrix[i]
        for j in range(i + 1):
            other = low[j]
            total = matrix_row[j]
            for m in range(j):
                total -= row[m] * other[m]
            if i == j:
                if not 0.0 < total < math.inf:
                    return None
                row[i] = math.sqrt(total)
            else:
                row[j] = total / other[j]
    y = list(rhs)
    for i in range(size):
        row = low[i]
        for m in range(i):
            y[i] -= row[m] * y[m]
        y[i] /= row[i]
    for i in reversed(range(size)):
        for m in range(i + 1, size):
            y[i] -= low[m][i] * y[m]
        y[i] /= low[i][i]
    return y


def _newton(at: Point, index: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Newton's step on the free coordinates and its decrement ``-g'd``; None unless the Hessian is definite."""
    return _solve(at.hessian, at, index, 0.0)


def _fisher_scoring(at: Point, index: np.ndarray) -> tuple[np.ndarray, float]:
    """Fisher scoring (Gauss-Newton) with growing Levenberg-Marquardt damping; steepest descent as the last resort."""
    for damping in _DAMPING:
        solved = _solve(at.fisher, at, index, damping)
        if solved is not None:
            return solved
    grad = at.gradient[index]
    scale = np.maximum(np.diag(at.fisher)[index], 1e-300)
    step = np.zeros(4)
    step[index] = -grad / scale
    return step, float(grad @ (grad / scale))


def _solve(matrix: np.ndarray, at: Point, index: np.ndarray, damping: float) -> tuple[np.ndarray, float] | None:
    h = (matrix if index.size == 4 else matrix[np.ix_(index, index)]).tolist()
    if damping:  # lengthen the diagonal; a zero diagonal gets a floor
        for i in range(len(h)):
            h[i][i] = h[i][i] * (1.0 + damping) + 1e-300
    grad = at.gradient[index].tolist()
    d = cholesky_solve(h, [-v for v in grad])
    if d is None or not all(map(math.isfinite, d)):
        return None
    step = np.zeros(4)
    step[index] = d
    return step, -sum(gv * dv for gv, dv in zip(grad, d, strict=True))


#: Levenberg-Marquardt damping tried in turn when the Hessian is not positive definite.
_DAMPING = (1e-12, 1e-6, 1e-2)
#: Below this (on the Hessian scaled to a unit diagonal) an eigenvalue is negative curvature, not rounding.
NEGATIVE_CURVATURE = 1e-9


def _negative_curvature(at: Point, index: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> Point | None:
    """Leave a saddle: a line search along the Hessian's most negative direction (None when there is none).

    Newton and Fisher steps both crawl away from a saddle (a lapse at 1e-20 growing tenfold a step);
    the curvature direction gets out in one search.
    """
    h = at.hessian[np.ix_(index, index)]
    scale = np.sqrt(np.maximum(np.abs(np.diag(h)), 1e-300))
    values, vectors = np.linalg.eigh(h / np.outer(scale, scale))
    if not values[0] < -NEGATIVE_CURVATURE:
        return None
    direction = np.zeros(4)
    direction[index] = vectors[:, 0] / scale
    slope = float(at.gradient @ direction)
    curvature = float(direction @ at.hessian @ direction)
    for sign in (-1.0, 1.0) if slope > 0 else (1.0, -1.0):
        step = sign * direction
        alpha = min(1e300, float(np.min(MAX_STEP / np.maximum(np.abs(step), 1e-300))))
        for _ in range(HALVINGS // 2):
            trial = _clip(at.x + alpha * step, LOWER, UPPER)
            moved = trial - at.x
            t = float(np.linalg.norm(moved)) / float(np.linalg.norm(step))
            model = sign * slope * t + 0.5 * curvature * t * t
            value = nll_at(trial, levels, n, k) if model < 0.0 else math.inf
            if value < at.nll and value <= at.nll + ARMIJO * model:
                return evaluate(trial, levels, n, k)
            alpha *= 0.5
    return None


_NONE_FIXED = np.zeros(4, dtype=bool)


def _clip(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``np.clip`` without its Python-level dispatch (a few microseconds a call on 4 numbers)."""
    return np.minimum(np.maximum(x, lower), upper)


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
    at = evaluate(_clip(x0, LOWER, UPPER), levels, n, k)
    merge = [(solution, solution.at.fisher) for solution in known]
    merge = [(solution, info) for solution, info in merge if _positive_definite(info)]
    previous, slow = math.inf, 0
    for iteration in range(1, MAX_ITER + 1):
        for solution, information in merge:
            d = at.x - solution.at.x
            distance = float(d @ information @ d)
            # Within one standard error, and where the likelihood is as quadratic as the information says.
            if distance <= MERGE_DISTANCE and abs(at.nll - solution.at.nll - 0.5 * distance) <= 0.25 * distance:
                return solution
        index = np.flatnonzero(~(held(at.x, at.gradient) | fixed))
        if not index.size:
            return Solution(at, True, iteration)
        newton = _newton(at, index)
        moved = None if newton else _negative_curvature(at, index, levels, n, k)
        if moved is not None:
            at, previous = moved, math.inf
            continue
        step, decrement = newton or _fisher_scoring(at, index)
        if decrement <= DECREMENT_TOL:
            return Solution(at, True, iteration)
        if known and decrement < 1.0 and at.nll > min(s.at.nll for s in known) + ABANDON_NLL:
            return Solution(at, False, iteration)  # settling into a worse basin: it can neither win nor tie
        if SLOW_RATIO * previous < decrement < SLOW_DECREMENT:
            slow += 1
            if slow >= DRIFT_STEPS and decrement < DRIFT_DECREMENT:
                return Solution(at, True, iteration, drift=step)
            moved = _onto_bound(at, step, index, levels, n, k)
        else:
            slow = 0
        if moved is None and newton is not None and decrement <= QUADRATIC_DECREMENT:
            # Deep in Newton's quadratic regime the gain (decrement / 2) is below the NLL's rounding:
            # no line search can see it, and none is needed.
            moved = evaluate(_clip(at.x + step, LOWER, UPPER), levels, n, k)
        elif moved is None:
            moved = _line_search(at, step, levels, n, k)
        if moved is None:
            return Solution(at, decrement <= ROUNDING_DECREMENT, iteration)
        at, previous = moved, decrement
    return Solution(at, False, MAX_ITER)


def _onto_bound(
    at: Point, step: np.ndarray, index: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray
) -> Point | None:
    """Put a coordinate the step drifts towards its bound on that bound, when that is lower.

    A supremum at a bound (a threshold below the levels' resolution, a lapse at chance) is approached
    ever more slowly: the likelihood flattens exponentially there. Tried only when progress is slow.
    """
    best, best_nll = None, at.nll
    for i in index.tolist():
        if step[i] == 0.0:
            continue
        trial = at.x.copy()
        trial[i] = LOWER[i] if step[i] < 0.0 else UPPER[i]
        value = nll_at(trial, levels, n, k)
        if value < best_nll:
            best, best_nll = trial, value
    return None if best is None else evaluate(best, levels, n, k)


def _positive_definite(matrix: np.ndarray) -> bool:
    return cholesky_solve(matrix.tolist(), [0.0] * len(matrix)) is not None


def _line_search(at: Point, step: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> Point | None:
    """Backtrack along the projected path until the Armijo condition holds; None when nothing is lower."""
    alpha = 1.0
    capped = _clip(step, -MAX_STEP, MAX_STEP)  # a flat coordinate's huge step must not shrink the others'
    if float(at.gradient @ capped) < 0.0:
        step = capped
    else:
        alpha = float(np.min(MAX_STEP / np.maximum(np.abs(step), 1e-300)))
    trial = _clip(at.x + alpha * step, LOWER, UPPER)
    point = evaluate(trial, levels, n, k)  # the full step is usually taken: evaluate it whole at once
    if point.nll < at.nll and point.nll <= at.nll + ARMIJO * float(at.gradient @ (trial - at.x)):
        return point
    for _ in range(HALVINGS):
        alpha *= 0.5
        trial = _clip(at.x + alpha * step, LOWER, UPPER)
        if np.array_equal(trial, at.x):
            return None
        value = nll_at(trial, levels, n, k)
        if value < at.nll and value <= at.nll + ARMIJO * float(at.gradient @ (trial - at.x)):
            return evaluate(trial, levels, n, k)
    return None
