"""Pooled criteria: one value computed from several sessions together, as IBL computes its training status.

IBL fits one psychometric curve to the trials of the last three sessions and takes one median reaction
time over them. The contract's history carries each session's metrics, not its trials, so a session
carries the *sufficient statistics* instead, and the pool recombines them exactly:

- a psychometric fit depends on the trials only through, per signed contrast, the number of trials and
  of right choices (the binomial likelihood): ``choice_counts`` gives those rows, and the pooled fit is
  the fit of their sums (``fit_counts``), equal to a fit on the concatenated trials;
- a median does not decompose, so a session carries the reaction times themselves at the contrast that
  matters (``reaction_times``: the 0 % trials, some tens a session); the pooled median is their median;
- a count (``n_zero_contrast``) pools as its sum.

    (pooled("contrast_counts").psychometric("bias").abs() < 16).over_last(3)
    (pooled("rt_zero_contrast").median() < 2.0).over_last(3)
    (pooled("contrast_counts_80", "contrast_counts_20").bias_shift() > 5).over_last(3, stage="current")

A session whose source metric is undefined (``None``) makes the pooled value undefined, and a pooled
parameter the fit does not determine is undefined with the fit's reason: neither ever passes. A reducer
returns the value and a note: with NaN the note says why it is undefined, otherwise it qualifies the value
(a median among no-go trials is +inf, which the JSON document shows as null).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._contract import Scalar
from ._criteria import Comparison, Condition
from ._psychometric import PsychometricFit, fit_counts
from ._refs import Orderable

Reducer = Callable[[Sequence[Sequence[Any]]], tuple[float, str | None]]
PARAMETERS = ("bias", "threshold", "lapse_low", "lapse_high")


@dataclass(frozen=True)
class PooledRef(Orderable):
    """A value pooled from ``sources`` over a window of sessions, to be compared like ``metric(...)``."""

    sources: tuple[str, ...]
    name: str
    reducer: Reducer = field(compare=False)
    transform: Literal["value", "abs"] = "value"

    @property
    def label(self) -> str:
        return f"{self.name}({', '.join(self.sources)})"

    def compute(self, sessions: Sequence[Sequence[Any]]) -> tuple[float, str | None]:
        return self.reducer(sessions)

    def abs(self) -> PooledRef:
        """Compare the absolute value (``|bias| < 16``)."""
        return PooledRef(self.sources, self.name, self.reducer, "abs")

    def _compare(self, comparison: Comparison, threshold: Scalar) -> Condition:
        return Condition(self.label, comparison, threshold, transform=self.transform, mode="pooled", pool=self)


@dataclass(frozen=True)
class Pooled:
    """The sources of a pooled value; pick how they pool with one of the methods."""

    sources: tuple[str, ...]

    def psychometric(self, parameter: str) -> PooledRef:
        """``parameter`` of one fit on the counts of every session summed (one source of ``choice_counts``)."""
        _check_parameter(parameter)
        self._arity(1, "psychometric")
        return PooledRef(self.sources, f"pooled_{parameter}", functools.partial(_fit_parameter, parameter))

    def bias_shift(self) -> PooledRef:
        """Bias of the first source's pooled fit minus the second's (IBL: 80 % minus 20 % left blocks)."""
        self._arity(2, "bias_shift")
        return PooledRef(self.sources, "pooled_bias_shift", _bias_shift)

    def median(self) -> PooledRef:
        """Median of the sessions' lists together (``reaction_times``: ``None`` sorts above every number)."""
        self._arity(1, "median")
        return PooledRef(self.sources, "pooled_median", _median)

    def sum(self) -> PooledRef:
        """Sum over the sessions (counts)."""
        self._arity(1, "sum")
        return PooledRef(self.sources, "pooled_sum", _sum)

    def reduce(self, name: str, reducer: Reducer) -> PooledRef:
        """A pool of your own: ``reducer(sessions)`` gets each session's source values, oldest first, and
        returns the value and, when it is undefined (NaN), why."""
        return PooledRef(self.sources, name, reducer)

    def _arity(self, expected: int, what: str) -> None:
        if len(self.sources) != expected:
            raise ValueError(f"{what} pools {expected} metric(s), got {len(self.sources)}: {self.sources}")


def pooled(*sources: str) -> Pooled:
    """Refer to metrics whose values pool over a window of sessions (see the module docstring)."""
    if not sources or not all(isinstance(s, str) and s for s in sources):
        raise ValueError(f"pooled needs metric names, got {sources!r}")
    return Pooled(tuple(sources))


def pool_counts(sessions: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Summed ``choice_counts`` rows ``[contrast %, trials, right choices]`` over sessions, per level."""
    return _summed(_table(sessions))


def pooled_fit(sessions: Sequence[Any]) -> PsychometricFit:
    """One psychometric fit on the summed counts of ``sessions`` (each a ``choice_counts`` list)."""
    table = _table(sessions)
    return _fit_cached(table.tobytes()) if table.size else fit_counts(*_summed(table))


def _table(sessions: Sequence[Any]) -> np.ndarray:
    """Every session's rows in one float array (rows x 3), or a ``ValueError`` saying what they are instead."""
    rows = [row for session in sessions for row in session]
    if not rows:
        return np.empty((0, 3))
    table = np.asarray(rows, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 3:
        raise ValueError(f"choice counts are rows [contrast %, trials, right choices], got {rows[:2]!r}...")
    return table


def _summed(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not table.size:
        return np.empty(0), np.empty(0), np.empty(0)
    levels, inverse = np.unique(table[:, 0], return_inverse=True)
    return levels, np.bincount(inverse, weights=table[:, 1]), np.bincount(inverse, weights=table[:, 2])


@functools.lru_cache(maxsize=32)
def _fit_cached(table: bytes) -> PsychometricFit:
    """The four parameters of a pooled fit are compared by four conditions: pool and fit once. The key is the
    table's bytes: the same numbers, -0.0 told from 0.0 (a zero level's sign shows in the reasons)."""
    return fit_counts(*_summed(np.frombuffer(table).reshape(-1, 3)))


def _fit_parameter(parameter: str, sessions: Sequence[Sequence[Any]]) -> tuple[float, str | None]:
    fit = pooled_fit([row[0] for row in sessions])
    return getattr(fit, parameter), fit.undefined.get(parameter)


def _bias_shift(sessions: Sequence[Sequence[Any]]) -> tuple[float, str | None]:
    first, second = (pooled_fit([row[i] for row in sessions]) for i in (0, 1))
    for fit, which in ((first, "first"), (second, "second")):
        if "bias" in fit.undefined:
            return math.nan, f"bias of the {which} pooled fit: {fit.undefined['bias']}"
    return first.bias - second.bias, None


def _median(sessions: Sequence[Sequence[Any]]) -> tuple[float, str | None]:
    values = [math.inf if v is None else float(v) for row in sessions for v in row[0]]
    if not values:
        return math.nan, "no values in the pooled sessions"
    median = float(np.median(np.asarray(values)))
    if math.isinf(median):  # JSON has no infinity: the document shows null, and this note
        return median, "the median falls on trials without a response, slower than any response: +inf"
    return median, None


def _sum(sessions: Sequence[Sequence[Any]]) -> tuple[float, str | None]:
    return float(sum(row[0] for row in sessions)), None


def _check_parameter(parameter: str) -> None:
    if parameter not in PARAMETERS:
        raise ValueError(f"psychometric parameter must be one of {', '.join(PARAMETERS)}, got {parameter!r}")
