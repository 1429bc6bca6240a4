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
    log_thresholds = np.linspace(math.log(0.5), math.log(THRESHOLD_BOUNDS[1]), _GRID_THRESHOLDS)
    z = (levels - biases[:, None, None]) * np.exp(-log_thresholds)[None, :, None]  # (bias, threshold, level)
    half = np.maximum(0.5 * _erfc_approx(np.abs(z)), TINY)
    upper = z >= 0.0
    big, small = np.where(upper, 1.0 - half, half), np.where(upper, half, 1.0 - half)
    m = n - k
    if lapses is None:
        seen = [min(max(float(r), _GRID_LAPSE_MIN), _GRID_LAPSE_MAX) for r in (k[0] / n[0], m[-1] / n[-1])]
        lapses = [(0.0, 0.0), (seen[0], seen[1])]
    columns = [-(np.log(g + (1.0 - g - h) * big) @ k + np.log(h + (1.0 - g - h) * small) @ m) for g, h in lapses]
    nll = np.stack(columns, axis=-1)  # (bias, threshold, lapses)
    order = np.argsort(nll, axis=None, kind="stable")
    chosen: list[tuple[int, int, int]] = []
    for flat in order.tolist():
        ib, it, il = np.unravel_index(flat, nll.shape)
        if all(abs(ib - cb) > 1 or abs(it - ct) > 1 for cb, ct, _ in chosen):
            chosen.append((int(ib), int(it), int(il)))
            if len(chosen) == count:
                break
    return [np.array([biases[ib], log_thresholds[it], *lapses[il]]) for ib, it, il in chosen]


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
_GRID_LAPSE_MIN = 0.02  # Newton from a lapse of exactly 0 is slow when the optimum is just above it
_GRID_LAPSE_MAX = 0.3


def _erfc_approx(x: np.ndarray) -> np.ndarray:
    """erfc for x >= 0 to 1e-7 absolute (Abramowitz & Stegun 7.1.26): enough to rank grid points."""
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return poly * np.exp(-x * x)
