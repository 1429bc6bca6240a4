"""Deterministic starting points for the psychometric fit: the best points of one coarse, vectorized grid."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._psychometric_model import BIAS_BOUNDS, THRESHOLD_BOUNDS, TINY


def start_points(
    levels: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    count: int,
    lapses: Sequence[tuple[float, float]] | None = None,
) -> list[np.ndarray]:
    """The ``count`` best points of a coarse grid that are not neighbours of one another (search coordinates).

    Biases at the levels and halfway between them (the curve's midpoint is near or between two levels),
    thresholds 0.5..1000 %, lapse pairs 0 or the rates seen at the extreme levels (or ``lapses``). One
    vectorized pass (with an approximate erfc, fine for ranking) costs about two Newton steps.
    """
    biases = _grid_biases(levels)
    z = (levels - biases[:, None, None]) * _INVERSE_THRESHOLDS  # (bias, threshold, level)
    half = _erfc_approx(np.abs(z))
    half *= 0.5
    np.maximum(half, TINY, out=half)
    upper = z >= 0.0
    other = 1.0 - half
    big, small = np.where(upper, other, half), np.where(upper, half, other)
    m = n - k
    if lapses is None:
        seen = [min(max(float(r), _GRID_LAPSE_MIN), _GRID_LAPSE_MAX) for r in (k[0] / n[0], m[-1] / n[-1])]
        lapses = [(0.0, 0.0), (seen[0], seen[1])]
    nll = np.empty((biases.size, _GRID_THRESHOLDS, len(lapses)))  # (bias, threshold, lapses)
    for il, (g, h) in enumerate(lapses):
        a = 1.0 - g - h
        if g == 0.0 and h == 0.0:  # 0 + 1 * p is p, bit for bit: two array operations fewer each side
            right, left = np.log(big), np.log(small)
        else:
            right, left = np.log(g + a * big), np.log(h + a * small)
        nll[:, :, il] = -(right @ k + left @ m)
    order = np.argsort(nll, axis=None, kind="stable").tolist()
    per_bias, per_threshold = _GRID_THRESHOLDS * len(lapses), len(lapses)
    chosen: list[tuple[int, int, int]] = []
    for flat in order:
        ib, rest = divmod(flat, per_bias)
        it, il = divmod(rest, per_threshold)
        if all(abs(ib - cb) > 1 or abs(it - ct) > 1 for cb, ct, _ in chosen):
            chosen.append((ib, it, il))
            if len(chosen) == count:
                break
    return [np.array([biases[ib], _LOG_THRESHOLDS[it], *lapses[il]]) for ib, it, il in chosen]


def _grid_biases(levels: np.ndarray) -> np.ndarray:
    inside = np.clip(levels, *BIAS_BOUNDS)
    if inside.size > _GRID_BIASES_MAX // 2:
        return np.linspace(float(inside[0]), float(inside[-1]), _GRID_BIASES_MAX)
    biases = np.empty(2 * inside.size - 1)
    biases[0::2] = inside
    biases[1::2] = 0.5 * (inside[1:] + inside[:-1])
    return biases


_GRID_BIASES_MAX = 25
_GRID_THRESHOLDS = 9
_LOG_THRESHOLDS = np.linspace(math.log(0.5), math.log(THRESHOLD_BOUNDS[1]), _GRID_THRESHOLDS)
_INVERSE_THRESHOLDS = np.exp(-_LOG_THRESHOLDS)[None, :, None]
_GRID_LAPSE_MIN = 0.02  # Newton from a lapse of exactly 0 is slow when the optimum is just above it
_GRID_LAPSE_MAX = 0.3


def _erfc_approx(x: np.ndarray) -> np.ndarray:
    """erfc for x >= 0 to 1e-7 absolute (Abramowitz & Stegun 7.1.26): enough to rank grid points."""
    t = 0.3275911 * x
    t += 1.0
    np.divide(1.0, t, out=t)
    poly = t * 1.061405429  # Horner's scheme, in place: the same operations as the nested expression
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += coefficient
        poly *= t
    square = x * x
    np.negative(square, out=square)
    poly *= _exp_exact(square)
    return poly


def _exp_exact(x: np.ndarray) -> np.ndarray:
    """``np.exp(x)``, the same values, without its slow underflow path on the grid's far tails.

    Below -746 exp is exactly 0.0; between -746 and -700 (subnormal and near) it is computed as usual, on
    those elements only; elsewhere on an argument clipped at -700 (which changes none of the values kept).
    """
    out = np.exp(np.maximum(x, -700.0))
    low = x < -700.0
    if low.any():
        zero = x < -746.0
        out[zero] = 0.0
        middle = low & ~zero
        out[middle] = np.exp(x[middle])
    return out
