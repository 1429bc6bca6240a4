"""The psychometric model's likelihood and its analytic derivatives, in search coordinates.

Search coordinates are ``x = (bias, log(threshold), lapse_low, lapse_high)`` in the box ``LOWER..UPPER``.
``P(right) = p = g + A F(z)`` with ``z = (c - b) / t``, ``F = (1 + erf z) / 2``, ``A = 1 - g - h`` (g, h
the lapses); ``p`` and ``q = 1 - p = h + A (1 - F)`` are both computed from ``erfc(|z|)``, so neither
loses precision in its tail (a lapse of 0 under a steep curve gives an honest p of 1e-30, not 0 or 1).

Everything here is plain Python floats over the levels: with a dozen levels and 4 coordinates, numpy's
per-call overhead (about a microsecond an operation) costs several times the arithmetic. A ``probe`` is
the NLL alone (what a line search compares; ``probe_below`` stops once it is sure to exceed the search's
limit), ``complete`` adds the gradient and Hessian to the probe it keeps; a ``Point`` holds its vectors
as lists for the solver and makes numpy arrays (and the Fisher information) only when asked. The solver's
4 x 4 linear algebra is in ``_psychometric_linalg`` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from ._psychometric_linalg import cholesky_solve as cholesky_solve
from ._psychometric_linalg import dot as dot
from ._psychometric_linalg import positive_definite as positive_definite
from ._psychometric_linalg import quadratic as quadratic
from ._psychometric_linalg import slope as slope

BIAS_BOUNDS = (-100.0, 100.0)
THRESHOLD_BOUNDS = (0.01, 1000.0)
LAPSE_BOUNDS = (0.0, 0.5 - 1e-9)
LOWER = np.array([BIAS_BOUNDS[0], math.log(THRESHOLD_BOUNDS[0]), LAPSE_BOUNDS[0], LAPSE_BOUNDS[0]])
UPPER = np.array([BIAS_BOUNDS[1], math.log(THRESHOLD_BOUNDS[1]), LAPSE_BOUNDS[1], LAPSE_BOUNDS[1]])
#: The same box as plain floats, for the loops.
LOWER_FLOATS, UPPER_FLOATS = LOWER.tolist(), UPPER.tolist()
#: Probabilities are floored here to keep logs, quotients and k / p**2 finite (the optimum never comes near).
TINY = 1e-150
#: p(1 - p) is floored here in the Fisher weights n / (p (1 - p)), so that they stay finite (n < 1e50).
_TINY_WEIGHT = 1e-250
_SQRT_PI = math.sqrt(math.pi)
_ERFC = math.erfc
_log = math.log
_exp = math.exp
#: The counts as the loops read them: levels, trials, right and left choices per level (plain floats), and
#: the same per level as ``(level, right, left)`` (what ``probe`` reads).
Counts = tuple[list[float], list[float], list[float], list[float], list[tuple[float, float, float]]]
Vector = list[float]


def counts(
    levels: np.ndarray | Sequence[float], n: np.ndarray | Sequence[float], k: np.ndarray | Sequence[float]
) -> Counts:
    """The per-level lists the likelihood loops over (left choices ``n - k`` computed once)."""
    c, nn, kk = (np.asarray(a, dtype=np.float64).tolist() for a in (levels, n, k))
    mm = [a - b for a, b in zip(nn, kk, strict=True)]
    return c, nn, kk, mm, list(zip(c, kk, mm, strict=True))


class Point:
    """The likelihood at ``xs`` (search coordinates, 4 floats) with its gradient and observed Hessian.

    ``grad`` and ``hess`` are lists (the solver's arithmetic); ``x``, ``gradient``, ``hessian`` and
    ``fisher`` (the expected information) are numpy arrays made on first use, ``fisher`` from the per-level
    ``terms`` of the probe that was completed (the same values as probing again).
    """

    def __init__(
        self,
        xs: Vector,
        nll: float,
        grad: Vector,
        hess: list[Vector],
        data: Counts,
        terms: list[tuple[float, float, float, float, float]] | None = None,
    ) -> None:
        self.xs, self.nll, self.grad, self.hess, self._counts, self._terms = xs, nll, grad, hess, data, terms

    @cached_property
    def x(self) -> np.ndarray:
        return np.array(self.xs)

    @cached_property
    def gradient(self) -> np.ndarray:
        return np.array(self.grad)

    @cached_property
    def hessian(self) -> np.ndarray:
        return np.array(self.hess)

    @cached_property
    def fisher(self) -> np.ndarray:
        """Expected information (positive semi-definite, unlike the observed ``hessian`` off the optimum)."""
        jacobian, weights = _jacobian(self.xs, self._counts, self._terms)
        return (jacobian * weights) @ jacobian.T

    @cached_property
    def definite_information(self) -> list[Vector] | None:
        """``fisher`` as rows when it is positive definite, else None: what merging a later start needs, once."""
        rows: list[Vector] = self.fisher.tolist()
        return rows if positive_definite(rows) else None


def tail_split(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``F(z) = (1 + erf z) / 2`` and ``1 - F(z)``, each accurate to its last digits in its own tail."""
    half = np.fromiter(map(_ERFC, np.abs(z).tolist()), dtype=np.float64, count=z.size) * 0.5
    gap = 1.0 - 2.0 * half
    upper = (z >= 0.0) * gap  # exactly 0 where z < 0, so each side keeps ``half`` untouched in its tail
    return half + upper, half + (gap - upper)


def nll_at(x: np.ndarray | Vector, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> float:
    """The negative log-likelihood at ``x`` without derivatives (the line search's probe)."""
    return probe(_floats(x), counts(levels, n, k)).nll


def evaluate(x: np.ndarray | Vector, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> Point:
    """NLL, gradient and observed (exact) Hessian at ``x`` (``complete(probe(...))``)."""
    return evaluate_counts(_floats(x), counts(levels, n, k))


class Probe:
    """The NLL at ``xs`` and, per level, what its derivatives are built from: (z, F, 1 - F, p, q).

    A line search probes several points and keeps one: only that one is completed.
    """

    __slots__ = ("nll", "terms", "xs")

    def __init__(self, xs: Vector, nll: float, terms: list[tuple[float, float, float, float, float]]) -> None:
        self.xs, self.nll, self.terms = xs, nll, terms


def probe(xs: Vector, data: Counts) -> Probe:
    """The NLL at ``xs`` on prepared ``counts`` (p and q floored at ``TINY``), and the terms ``complete`` needs."""
    point = _probe(xs, data, -math.inf)
    assert point is not None  # no limit: never None
    return point


def probe_below(xs: Vector, data: Counts, limit: float) -> Probe | None:
    """``probe``, or None as soon as the NLL is sure to exceed ``limit`` (a line search's rejected trial).

    Every level adds ``-k log p - (n - k) log q >= 0`` (p, q <= 1, but for a few ulps that ``_LIMIT_SLACK``
    covers), so the running sum only grows: the sum, and so the NLL, of a kept probe is unchanged.
    """
    return _probe(xs, data, -(limit + _LIMIT_SLACK * (1.0 + abs(limit))))


def _probe(xs: Vector, data: Counts, stop: float) -> Probe | None:
    b, s, g, h = xs
    inv_t = _exp(-s)
    a = 1.0 - g - h
    nll = 0.0
    terms = []
    append = terms.append
    erfc, log, tiny = _ERFC, _log, TINY
    for c, kk, mm in data[4]:
        z = (c - b) * inv_t
        if z >= 0.0:  # erfc(|z|) / 2 is the small side's F; the other side is 1 - it, as in ``tail_split``
            small = 0.5 * erfc(z)
            big = small + (1.0 - 2.0 * small)
        else:
            big = 0.5 * erfc(-z)
            small = big + (1.0 - 2.0 * big)
        p = g + a * big
        if p < tiny:
            p = tiny
        q = h + a * small
        if q < tiny:
            q = tiny
        nll += kk * log(p) + mm * log(q)  # minus the NLL so far
        if nll < stop:
            return None
        append((z, big, small, p, q))
    return Probe(xs, 0.0 - nll, terms)  # 0.0 - : never -0.0


#: Relative margin of ``probe``'s early stop, far above the rounding of p, q <= 1 (n * 4e-16 at most).
_LIMIT_SLACK = 1e-9


def complete(point: Probe, data: Counts) -> Point:
    """Gradient and observed (exact) Hessian at a probed point: the formulas of the module docstring."""
    _, s, g, h = point.xs
    inv_t = _exp(-s)
    a = 1.0 - g - h
    c_af = a / _SQRT_PI
    exp = _exp
    r_w = r_wz = 0.0
    g0 = g1 = g2 = g3 = 0.0
    h00 = h01 = h02 = h03 = h11 = h12 = h13 = h22 = h23 = h33 = 0.0
    for (z, big, small, p, q), (_, kk, mm) in zip(point.terms, data[4], strict=True):
        # dp/dx = (-af / t, -af z, 1 - F, -F): the signs are folded into the sums (negation is exact).
        af = exp(-z * z) * c_af
        u0 = af * inv_t
        u1 = af * z
        k_p = kk / p
        m_q = mm / q
        r = k_p - m_q
        g0 += u0 * r
        g1 += u1 * r
        g2 -= small * r
        g3 += big * r
        w = k_p / p + m_q / q
        w0 = w * u0
        w1 = w * u1
        w2 = w * small
        h00 += w0 * u0
        h01 += w0 * u1
        h02 -= w0 * small
        h03 += w0 * big
        h11 += w1 * u1
        h12 -= w1 * small
        h13 += w1 * big
        h22 += w2 * small
        h23 -= w2 * big
        h33 += w * big * big
        af_w = r * af * (2.0 * z * z - 1.0)
        r_w += af_w
        r_wz += af_w * z
    # Minus the residual-weighted second derivatives of p (p is linear in the lapses). Two of the sums
    # are already in the gradient: sum(r af z) = gradient[1] and sum(r af) / t = gradient[0].
    h00 += 2.0 * inv_t * inv_t * g1
    h01 += inv_t * r_w
    h11 += r_wz
    e0, e1 = g0 / a, g1 / a
    hessian = [
        [h00, h01, h02 - e0, h03 - e0],
        [h01, h11, h12 - e1, h13 - e1],
        [h02 - e0, h12 - e1, h22, h23],
        [h03 - e0, h13 - e1, h23, h33],
    ]
    return Point(point.xs, point.nll, [g0, g1, g2, g3], hessian, data, point.terms)


def evaluate_counts(xs: Vector, data: Counts) -> Point:
    """NLL, gradient and observed Hessian at ``xs`` on prepared ``counts``."""
    return complete(probe(xs, data), data)


def _jacobian(
    xs: Vector, data: Counts, terms: list[tuple[float, float, float, float, float]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """dp/dx (one row per coordinate) and the Fisher weights n / (p q), from the terms of a ``probe`` (kept or new)."""
    _, s, g, h = xs
    inv_t = _exp(-s)
    c_af = (1.0 - g - h) / _SQRT_PI
    rows: list[Vector] = [[], [], [], []]
    weights: Vector = []
    for (z, big, small, p, q), nn in zip(probe(xs, data).terms if terms is None else terms, data[1], strict=True):
        af = _exp(-z * z) * c_af
        rows[0].append(-af * inv_t)
        rows[1].append(-af * z)
        rows[2].append(small)
        rows[3].append(-big)
        pq = p * q
        weights.append(nn / (pq if pq > _TINY_WEIGHT else _TINY_WEIGHT))
    return np.array(rows), np.array(weights)


def _floats(x: np.ndarray | Sequence[float]) -> Vector:
    return x.tolist() if isinstance(x, np.ndarray) else [float(v) for v in x]
