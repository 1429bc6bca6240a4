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
    g, h = x[2], x[3]
    a = 1.0 - g - h
    big, small = tail_split((levels - x[0]) * math.exp(-x[1]))
    p = np.maximum(g + a * big, TINY)
    q = np.maximum(h + a * small, TINY)
    return 0.0 - float(k @ np.log(p) + (n - k) @ np.log(q))


def evaluate(x: np.ndarray, levels: np.ndarray, n: np.ndarray, k: np.ndarray) -> Point:
    """NLL, gradient and observed (exact) Hessian at ``x``."""
    b, s, g, h = x.tolist()
    inv_t = math.exp(-s)
    z = (levels - b) * inv_t
    big, small = tail_split(z)
    a = 1.0 - g - h
    p = np.maximum(g + a * big, TINY)
    q = np.maximum(h + a * small, TINY)
    m = n - k
    nll = 0.0 - float(k @ np.log(p) + m @ np.log(q))  # 0.0 - : never -0.0
    af = np.exp(-z * z) * (a / _SQRT_PI)
    jac = np.empty((4, z.size))
    np.multiply(af, -inv_t, out=jac[0])
    np.multiply(af, -z, out=jac[1])
    jac[2] = small
    np.negative(big, out=jac[3])
    k_p, m_q = k / p, m / q
    residual = k_p - m_q
    gradient = -(jac @ residual)
    hessian = (jac * (k_p / p + m_q / q)) @ jac.T
    # Minus the residual-weighted second derivatives of p (p is linear in the lapses). Two of the sums
    # are already in the gradient: sum(r af z) = gradient[1] and sum(r af) / t = gradient[0].
    af_w = af * (2.0 * z * z - 1.0)
    r_w, r_wz = float(residual @ af_w), float(residual @ (af_w * z))
    g_b, g_s = float(gradient[0]), float(gradient[1])
    hessian[0, 0] += 2.0 * inv_t * inv_t * g_s
    hessian[0, 1] += inv_t * r_w
    hessian[1, 0] += inv_t * r_w
    hessian[1, 1] += r_wz
    for j in (2, 3):
        hessian[0, j] -= g_b / a
        hessian[j, 0] -= g_b / a
        hessian[1, j] -= g_s / a
        hessian[j, 1] -= g_s / a
    return Point(x, nll, gradient, hessian, jac, n / np.maximum(p * q, _TINY_WEIGHT))


def held(x: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Coordinates held at a bound: on it, with the gradient pointing out of the box."""
    return ((x <= LOWER) & (gradient > 0.0)) | ((x >= UPPER) & (gradient < 0.0))
