"""The psychometric model's likelihood and its analytic derivatives, in search coordinates.

Search coordinates are ``x = (bias, log(threshold), lapse_low, lapse_high)`` in the box ``LOWER..UPPER``.
``P(right) = p = g + A F(z)`` with ``z = (c - b) / t``, ``F = (1 + erf z) / 2``, ``A = 1 - g - h`` (g, h
the lapses); ``p`` and ``q = 1 - p = h + A (1 - F)`` are both computed from ``erfc(|z|)``, so neither
loses precision in its tail (a lapse of 0 under a steep curve gives an honest p of 1e-30, not 0 or 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BIAS_BOUNDS = (-100.0, 100.0)
THRESHOLD_BOUNDS = (0.01, 1000.0)
LAPSE_BOUNDS = (0.0, 0.5 - 1e-9)
LOWER = np.array([BIAS_BOUNDS[0], math.log(THRESHOLD_BOUNDS[0]), LAPSE_BOUNDS[0], LAPSE_BOUNDS[0]])
UPPER = np.array([BIAS_BOUNDS[1], math.log(THRESHOLD_BOUNDS[1]), LAPSE_BOUNDS[1], LAPSE_BOUNDS[1]])
#: Probabilities are floored here to keep logs, quotients and k / p**2 finite (the optimum never comes near).
TINY = 1e-150
#: p(1 - p) is floored here in the Fisher weights n / (p (1 - p)), so that they stay finite (n < 1e50).
_TINY_WEIGHT = 1e-250
_SQRT_PI = math.sqrt(math.pi)
_ERFC = math.erfc
_log = math.log
_exp = math.exp


@dataclass(frozen=True)
class Point:
    """The likelihood at ``x`` (search coordinates) with what every derivative is built from."""

    x: np.ndarray
    nll: float
    gradient: np.ndarray
    hessian: np.ndarray
    jacobian: np.ndarray  # dp/dx, one row per coordinate
    weights: np.ndarray  # n / (p q): the Fisher information is jacobian * weights @ jacobian.T

    @property
    def fisher(self) -> np.ndarray:
        """Expected information (positive semi-definite, unlike the observed ``hessian`` off the optimum)."""
        return (self.jacobian * self.weights) @ self.jacobian.T


def tail_split(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``F(z) = (1 + erf z) / 2`` and ``1 - F(z)``, each accurate to its last digits in its own tail."""
    half = np.fromiter(map(_ERFC, np.abs(z).tolist()), dtype=np.float64, count=z.size) * 0.5
    gap = 1.0 - 2.0 * half
    upper = (z >= 0.0) * gap  # exactly 0 where z < 0, so each side keeps ``half`` untouched in its tail
    return half + upper, half + (gap - upper)


def nll_at(x: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> float:
    """The negative log-likelihood at ``x`` without derivatives (the line search's probe)."""
    b, s, g, h = x.tolist()
    inv_t, a = math.exp(-s), 1.0 - g - h
    total = 0.0
    for c, nn, kk in zip(levels.tolist(), n.tolist(), k.tolist(), strict=True):
        z = (c - b) * inv_t
        half = 0.5 * _ERFC(abs(z))
        gap = 1.0 - 2.0 * half
        big, small = (half + gap, half) if z >= 0.0 else (half, half + gap)
        total += kk * _log(max(g + a * big, TINY)) + (nn - kk) * _log(max(h + a * small, TINY))
    return 0.0 - total  # 0.0 - : never -0.0


def evaluate(x: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> Point:
    """NLL, gradient and observed (exact) Hessian at ``x``.

    Plain Python over the levels: with a dozen of them, numpy's per-call overhead (some 30 calls) costs
    several times the arithmetic. Same formulas as ``tail_split`` and the array form in the module docstring.
    """
    b, s, g, h = x.tolist()
    inv_t = math.exp(-s)
    a = 1.0 - g - h
    c_af = a / _SQRT_PI
    nll = r_w = r_wz = 0.0
    g0 = g1 = g2 = g3 = 0.0
    h00 = h01 = h02 = h03 = h11 = h12 = h13 = h22 = h23 = h33 = 0.0
    j0: list[float] = []
    j1: list[float] = []
    j2: list[float] = []
    j3: list[float] = []
    weights: list[float] = []
    for c, nn, kk in zip(levels.tolist(), n.tolist(), k.tolist(), strict=True):
        z = (c - b) * inv_t
        half = 0.5 * _ERFC(abs(z))
        gap = 1.0 - 2.0 * half
        big, small = (half + gap, half) if z >= 0.0 else (half, half + gap)
        p, q = g + a * big, h + a * small
        if p < TINY:  # max() would be a builtin call per level
            p = TINY
        if q < TINY:
            q = TINY
        mm = nn - kk
        nll += kk * _log(p) + mm * _log(q)
        af = _exp(-z * z) * c_af
        d0, d1, d3 = -af * inv_t, -af * z, -big
        k_p, m_q = kk / p, mm / q
        r = k_p - m_q
        g0 -= d0 * r
        g1 -= d1 * r
        g2 -= small * r
        g3 -= d3 * r
        w = k_p / p + m_q / q
        w0, w1, w2 = w * d0, w * d1, w * small
        h00 += w0 * d0
        h01 += w0 * d1
        h02 += w0 * small
        h03 += w0 * d3
        h11 += w1 * d1
        h12 += w1 * small
        h13 += w1 * d3
        h22 += w2 * small
        h23 += w2 * d3
        h33 += w * d3 * d3
        af_w = r * af * (2.0 * z * z - 1.0)
        r_w += af_w
        r_wz += af_w * z
        j0.append(d0)
        j1.append(d1)
        j2.append(small)
        j3.append(d3)
        pq = p * q
        weights.append(nn / (pq if pq > _TINY_WEIGHT else _TINY_WEIGHT))
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
    gradient = np.array([g0, g1, g2, g3])
    return Point(x, 0.0 - nll, gradient, np.array(hessian), np.array([j0, j1, j2, j3]), np.array(weights))


def held(x: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Coordinates held at a bound: on it, with the gradient pointing out of the box."""
    return np.array(
        [
            (v <= lo and d > 0.0) or (v >= hi and d < 0.0)
            for v, d, lo, hi in zip(x.tolist(), gradient.tolist(), _LOWER, _UPPER, strict=True)
        ]
    )


_LOWER, _UPPER = LOWER.tolist(), UPPER.tolist()
