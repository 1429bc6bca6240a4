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
    half = _half_erfc(np.abs(z))
    upper = z >= 0.0
    other = 1.0 - half
    big, small = np.where(upper, other, half), np.where(upper, half, other)
    m = n - k
    if lapses is None:
        n0, k0, n1, k1 = float(n[0]), float(k[0]), float(n[-1]), float(k[-1])
        seen = [min(max(r, _GRID_LAPSE_MIN), _GRID_LAPSE_MAX) for r in (k0 / n0, (n1 - k1) / n1)]
        lapses = [(0.0, 0.0), (seen[0], seen[1])]
    nll = np.empty((biases.size, _GRID_THRESHOLDS, len(lapses)))  # (bias, threshold, lapses)
    for il, (g, h) in enumerate(lapses):
        a = 1.0 - g - h
        if g == 0.0 and h == 0.0:  # 0 + 1 * p is p, bit for bit: two array operations fewer each side
            right, left = np.log(big), np.log(small)
        else:
            right, left = np.log(g + a * big), np.log(h + a * small)
        nll[:, :, il] = -(right @ k + left @ m)
    order = nll.ravel().argsort(kind="stable")
    shape = (_GRID_THRESHOLDS * len(lapses), len(lapses))
    # The first few points nearly always hold the ``count`` chosen: only those become Python ints at first.
    chosen = _choose(order[:_FIRST].tolist(), [], count, shape)
    if len(chosen) < count and order.size > _FIRST:
        chosen = _choose(order[_FIRST:].tolist(), chosen, count, shape)
    values = biases.tolist()
    return [np.array([values[ib], _LOG_THRESHOLD_VALUES[it], *lapses[il]]) for ib, it, il in chosen]


def _choose(
    order: list[int], chosen: list[tuple[int, int, int]], count: int, shape: tuple[int, int]
) -> list[tuple[int, int, int]]:
    """Add grid points (flat indices, best first) that are not next to a chosen one, up to ``count`` in all."""
    per_bias, per_threshold = shape
    for flat in order:
        ib, rest = divmod(flat, per_bias)
        it, il = divmod(rest, per_threshold)
        for cb, ct, _ in chosen:
            if -1 <= ib - cb <= 1 and -1 <= it - ct <= 1:
                break
        else:
            chosen.append((ib, it, il))
            if len(chosen) == count:
                break
    return chosen


def _grid_biases(levels: np.ndarray) -> np.ndarray:
    inside = np.minimum(np.maximum(levels, BIAS_BOUNDS[0]), BIAS_BOUNDS[1])  # np.clip, without its wrapper
    if inside.size > _GRID_BIASES_MAX // 2:
        return np.linspace(float(inside[0]), float(inside[-1]), _GRID_BIASES_MAX)
    biases = np.empty(2 * inside.size - 1)
    biases[0::2] = inside
    biases[1::2] = 0.5 * (inside[1:] + inside[:-1])
    return biases


_GRID_BIASES_MAX = 25
_GRID_THRESHOLDS = 9
_LOG_THRESHOLDS = np.linspace(math.log(0.5), math.log(THRESHOLD_BOUNDS[1]), _GRID_THRESHOLDS)
_LOG_THRESHOLD_VALUES = _LOG_THRESHOLDS.tolist()
_INVERSE_THRESHOLDS = np.exp(-_LOG_THRESHOLDS)[None, :, None]
_FIRST = 24
_GRID_LAPSE_MIN = 0.02  # Newton from a lapse of exactly 0 is slow when the optimum is just above it
_GRID_LAPSE_MAX = 0.3


def _half_erfc(x: np.ndarray) -> np.ndarray:
    """erfc(x) / 2 for x >= 0 to 1e-7 absolute (Abramowitz & Stegun 7.1.26), floored at ``TINY``: enough to rank.

    exp's argument is clipped at ``-_EXP_FLOOR``: beyond it the value (below 1e-174) is floored at ``TINY``
    anyway, and numpy's exp is slow where it underflows (the grid's far tails). The values are those of the
    unclipped formula, bit for bit.
    """
    t = 0.3275911 * x
    t += 1.0
    np.divide(1.0, t, out=t)
    poly = t * 1.061405429  # Horner's scheme, in place: the same operations as the nested expression
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += coefficient
        poly *= t
    square = x * x
    np.negative(square, out=square)
    np.maximum(square, -_EXP_FLOOR, out=square)
    poly *= np.exp(square, out=square)
    poly *= 0.5
    return np.maximum(poly, TINY, out=poly)


#: exp(-400) is 1.9e-174: times the polynomial (below 4.5 for t in (0, 1]) and 1/2, far below ``TINY`` (1e-150).
_EXP_FLOOR = 400.0
