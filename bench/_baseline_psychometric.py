# BENCH-ONLY: the projected-Newton fitter's likelihood as it was before the speed work of issue 12, kept so
# bench/bench_psychometric.py times the previous and the current fit in the same run. Verbatim copies of
# ``nll_at``, ``evaluate`` and ``held`` (`git show 54d354f:src/curriculum_contract/sdk/_psychometric_model.py`)
# and the solver's ``np.clip``: everything the speed work replaced. ``installed()`` swaps them into the
# package's solver for the duration of a ``with`` block; the solver, grid and identification rules are
# shared, so the two fits differ only by these functions. Not part of the package; nothing in src/ or
# tests/ imports it.
"""The previous (numpy per level) likelihood of the psychometric fit, and a context that installs it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from curriculum_contract.sdk import _psychometric_solver as solver
from curriculum_contract.sdk._psychometric_model import _SQRT_PI as _SQRT_PI
from curriculum_contract.sdk._psychometric_model import _TINY_WEIGHT as _TINY_WEIGHT
from curriculum_contract.sdk._psychometric_model import LOWER, TINY, UPPER, Point, tail_split


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


@contextmanager
def installed() -> Iterator[None]:
    """The solver uses the previous ``evaluate``, ``nll_at``, ``held`` and ``np.clip`` inside the block."""
    names = ("evaluate", "nll_at", "held", "_clip")
    saved = {name: getattr(solver, name) for name in names}
    replaced = {"evaluate": evaluate, "nll_at": nll_at, "held": held, "_clip": np.clip}
    try:
        for name in names:
            setattr(solver, name, replaced[name])
        yield
    finally:
        for name, value in saved.items():
            setattr(solver, name, value)
