"""The optimizer behind ``fit_counts``: a projected Newton method on the binomial likelihood, numpy only.

Every step solves the Newton system on the free coordinates (those not held at a bound by a gradient
pointing outwards) with the exact Hessian when it is positive definite; at a saddle it searches along
the most negative curvature; otherwise it takes a Fisher-scoring step (Gauss-Newton for the binomial
likelihood) damped Levenberg-Marquardt style. A backtracking (Armijo) line search along the projected
path keeps every step downhill (the searches are in ``_psychometric_search``). Convergence: the Newton
decrement ``g' H^-1 g`` (twice the log-likelihood still to gain) below ``DECREMENT_TOL``, which puts the
estimate within 1e-8 standard errors of the optimum; Newton's quadratic convergence gets there in a few
steps. The vectors and systems are at most 4 long: they are plain Python lists and loops (numpy costs
about a microsecond per operation on 4 numbers), LAPACK only for the eigenvectors at a saddle
(``_psychometric_linalg.eigh``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import mul

import numpy as np

from ._psychometric_linalg import cholesky_solve_4
from ._psychometric_model import (
    LOWER_FLOATS,
    UPPER_FLOATS,
    Counts,
    Point,
    Vector,
    cholesky_solve,
    complete,
    counts,
    probe,
    quadratic,
)
from ._psychometric_search import ARMIJO as ARMIJO
from ._psychometric_search import HALVINGS as HALVINGS
from ._psychometric_search import MAX_STEP as MAX_STEP
from ._psychometric_search import NEGATIVE_CURVATURE as NEGATIVE_CURVATURE
from ._psychometric_search import along, clip, line_search, negative_curvature, onto_bound

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
#: A later start still this much worse than a known solution, with less than 0.5 left to gain where it is,
#: is abandoned (returned unconverged; the best solution is another one anyway).
ABANDON_NLL = 5.0


@dataclass(frozen=True)
class Solution:
    """Where one start ended, whether the decrement test passed there, and the iterations used."""

    at: Point
    converged: bool
    iterations: int
    drift: np.ndarray | None = None  # the last step, when the search stopped on a drift (see ``minimize``)


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
    d = (cholesky_solve_4 if full else cholesky_solve)(h, [-v for v in grad])
    if d is None or not all(map(_isfinite, d)):
        return None
    if full:
        step = d
    else:
        step = [0.0] * 4
        for i, v in zip(index, d, strict=True):
            step[i] = v
    return step, -sum(map(mul, grad, d))  # the same sum (and order) as over a generator, without one


_isfinite = math.isfinite
#: Levenberg-Marquardt damping tried in turn when the Hessian is not positive definite.
_DAMPING = (1e-12, 1e-6, 1e-2)
_NONE_FIXED = np.zeros(4, dtype=bool)

_LOWER, _UPPER = LOWER_FLOATS, UPPER_FLOATS


def minimize(
    x0: np.ndarray,
    levels: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    known: tuple[Solution, ...] = (),
    fixed: np.ndarray = _NONE_FIXED,
    *,
    data: Counts | None = None,
) -> Solution:
    """Projected Newton from ``x0`` until the decrement test passes at a minimum (or ``MAX_ITER``).

    Converged: the Newton decrement is below ``DECREMENT_TOL`` and the Hessian on the free coordinates is
    positive definite (a minimum), or it has no direction of negative curvature left (a flat minimum),
    or the search crawls along a ridge (a drift, the step returned): the identification rules judge
    the last two. A start that comes within ``MERGE_DISTANCE`` (squared,
    in standard errors) of a ``known`` solution whose information is positive definite would converge
    to it: that solution is returned instead. ``fixed`` coordinates stay where ``x0`` has them (a profile).
    ``data``: ``counts(levels, n, k)`` when the caller has them (several starts on the same counts).
    """
    if data is None:
        data = counts(levels, n, k)
    if fixed is _NONE_FIXED:
        candidates = [0, 1, 2, 3]
    else:
        candidates = [i for i, f in enumerate(np.asarray(fixed, dtype=bool).tolist()) if not f]
    current = probe(clip(np.asarray(x0, dtype=np.float64).tolist()), data)
    merge = [(solution, info) for solution in known if (info := solution.at.definite_information) is not None]
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
        xs, grad = at.xs, at.grad  # the free coordinates: not on a bound with the gradient pointing out
        index = [
            i
            for i in candidates
            if not ((xs[i] <= _LOWER[i] and grad[i] > 0.0) or (xs[i] >= _UPPER[i] and grad[i] < 0.0))
        ]
        if not index:
            return Solution(at, True, iteration)
        newton = _solve(at.hess, at, index, 0.0)  # Newton's step and decrement; None unless definite
        moved = None if newton else negative_curvature(at, index, data)
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
            moved = onto_bound(at, step, index, data)
        else:
            slow = 0
        if moved is None and newton is not None and decrement <= QUADRATIC_DECREMENT:
            # Deep in Newton's quadratic regime the gain (decrement / 2) is below the NLL's rounding:
            # no line search can see it, and none is needed.
            moved = probe(along(at.xs, 1.0, step), data)
        elif moved is None:
            moved = line_search(at, step, data)
        if moved is None:
            return Solution(at, decrement <= ROUNDING_DECREMENT, iteration)
        current, previous = moved, decrement
    return Solution(complete(current, data), False, MAX_ITER)
