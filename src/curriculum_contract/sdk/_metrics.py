"""Session metrics of a two-alternative choice task, computed from the trials table (see ``_trials``).

Each helper takes the table (from ``load_trials`` or ``coerce_trials``) and returns a plain number.
``where=`` (one boolean per trial) restricts a helper to some trials -- ``fraction_correct(trials,
where=block)`` is ``fraction_correct(trials[block])`` -- without pandas copying the table for each subset,
which on a few hundred trials cost more than the metric (see ``_rows``).
"Undefined" is NaN, never an exception: an empty session has ``trial_count`` 0 and NaN rates; a
session where the subject never responded has NaN ``fraction_correct`` and ``choice_bias``.
Exceptions (``TrialsError``) are for malformed input only: a column the metric needs is missing.
NaN compares false with every threshold, so a criterion such as ``fraction_correct >= 0.8`` fails
on an undefined value rather than passing.

No-go trials (``choice == 0``): they count in ``trial_count`` and ``session_duration``; the rates
and the psychometric fit use only trials with a response, because a trial without a choice says
nothing about which side the subject perceived. IBL's "performance on easy trials" counts no-go
trials as errors; pass ``count_no_go_as_incorrect=True`` to get that. Trials whose ``correct`` is
unknown (zero contrast without a ``correct`` column) are left out of the rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from ._frames import column_values
from ._psychometric import PsychometricFit, fit_psychometric
from ._rows import Where, _array, _rows, _select
from ._trials import _boolean, derive_correct

if TYPE_CHECKING:
    import pandas as pd

_SOURCE = "trials table"


@dataclass(frozen=True)
class SessionSummary:
    """Every metric of ``summarize_session`` in one value; ``as_dict`` flattens it for a ``Metrics``."""

    n_trials: int
    fraction_correct: float
    fraction_correct_easy: float
    choice_bias: float
    median_reaction_time: float
    session_duration: float
    psychometric: PsychometricFit

    def as_dict(self) -> dict[str, float | int | bool | str | None]:
        """Flat mapping of scalars; the fit's are prefixed ``psychometric_`` (NaN stays NaN).

        The fit's ``undefined`` mapping is left out (its gist is in ``psychometric_reason``): a ``Metrics``
        field holds one value, and ``fit_psychometric`` already declared each reason for the warnings.
        """
        flat: dict[str, float | int | bool | str | None] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "psychometric"
        }
        flat.update(
            {
                f"psychometric_{f.name}": getattr(self.psychometric, f.name)
                for f in fields(self.psychometric)
                if f.name != "undefined"
            }
        )
        return flat


def trial_count(trials: pd.DataFrame) -> int:
    """Number of trials, including those without a response."""
    return len(trials)


def fraction_correct(trials: pd.DataFrame, *, count_no_go_as_incorrect: bool = False, where: Where = None) -> float:
    """Fraction of responded trials that were correct (NaN when none); see the module docstring."""
    return _rate_correct(trials, _rows(trials, where), count_no_go_as_incorrect)


def fraction_correct_easy(
    trials: pd.DataFrame, threshold: float = 0.5, *, count_no_go_as_incorrect: bool = False, where: Where = None
) -> float:
    """``fraction_correct`` over trials with ``|signed_contrast| >= threshold`` (IBL: 0.5, i.e. 50 %, 100 %)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a contrast fraction in [0, 1], got {threshold!r}")
    easy = np.abs(_array(trials, "signed_contrast", np.float64)) >= threshold
    rows = _rows(trials, where)
    return _rate_correct(trials, easy if rows is None else easy & rows, count_no_go_as_incorrect)


def choice_bias(trials: pd.DataFrame, *, where: Where = None) -> float:
    """(right - left) / (right + left) among responded trials: -1 all left, +1 all right, NaN if none."""
    choice = _select(_array(trials, "choice"), _rows(trials, where))
    right = int(np.count_nonzero(choice == 1))
    left = int(np.count_nonzero(choice == -1))
    return (right - left) / (right + left) if right + left else math.nan


def median_reaction_time(trials: pd.DataFrame, *, contrast: float | None = None, where: Where = None) -> float:
    """Median reaction time (s) of responded trials, NaN when none has one.

    ``contrast`` restricts it to one signed contrast (IBL's trained_1b uses zero-contrast trials).
    """
    rt = _array(trials, "reaction_time", nan_for_missing=True)
    keep = (_array(trials, "choice") != 0) & np.isfinite(rt)
    if contrast is not None:
        keep &= _array(trials, "signed_contrast", np.float64) == contrast
    rows = _rows(trials, where)
    if rows is not None:
        keep &= rows
    return _median(rt[keep]) if keep.any() else math.nan


def choice_counts(trials: pd.DataFrame, *, count_no_go_as_left: bool = False, where: Where = None) -> list[list[float]]:
    """Per signed contrast (percent, ascending): ``[contrast, trials, right choices]``, JSON-ready.

    The sufficient statistics of the psychometric likelihood: carried in a session's metrics, they let
    ``pooled(...).psychometric(...)`` fit several sessions at once without their trials. No-go trials are
    left out, or with ``count_no_go_as_left`` counted as not rightward (IBL's ``compute_psychometric``).
    """
    contrast = _array(trials, "signed_contrast", np.float64) * 100.0
    choice = _array(trials, "choice")
    keep = _rows(trials, where)
    if not count_no_go_as_left:
        keep = choice != 0 if keep is None else keep & (choice != 0)
    levels, inverse = np.unique(_select(contrast, keep), return_inverse=True)
    n = np.bincount(inverse, minlength=levels.size)
    right = np.bincount(inverse, weights=(_select(choice, keep) == 1), minlength=levels.size)
    return [[c, t, r] for c, t, r in zip(levels.tolist(), n.tolist(), right.astype(np.int64).tolist(), strict=True)]


def reaction_times(trials: pd.DataFrame, *, contrast: float = 0.0, where: Where = None) -> list[float | None]:
    """Reaction times (s) at one signed contrast, ascending, then ``None`` for each trial without a response.

    A median does not decompose over sessions, so a session carries the values (the 0 % trials: some tens).
    A no-go trial counts as slower than every response, as in IBL, whose no-go ends at the response
    window; a response with an unknown reaction time is left out (``nanmedian``).
    """
    rt = _array(trials, "reaction_time", nan_for_missing=True)
    at = _array(trials, "signed_contrast", np.float64) == contrast
    rows = _rows(trials, where)
    if rows is not None:
        at &= rows
    no_go = _array(trials, "choice") == 0
    responded = np.sort(rt[at & ~no_go & np.isfinite(rt)])
    return responded.tolist() + [None] * int(np.count_nonzero(at & no_go))


def session_duration(trials: pd.DataFrame) -> float:
    """Seconds from the earliest ``start_time`` to the latest ``end_time``; NaN if either is unknown."""
    start = _array(trials, "start_time", nan_for_missing=True)
    end = _array(trials, "end_time", nan_for_missing=True)
    start, end = start[np.isfinite(start)], end[np.isfinite(end)]
    return float(end.max() - start.min()) if start.size and end.size else math.nan


def summarize_session(trials: pd.DataFrame, *, easy_threshold: float = 0.5) -> SessionSummary:
    """All the metrics above plus the psychometric fit, for authors who want everything in one call."""
    return SessionSummary(
        n_trials=trial_count(trials),
        fraction_correct=fraction_correct(trials),
        fraction_correct_easy=fraction_correct_easy(trials, easy_threshold),
        choice_bias=choice_bias(trials),
        median_reaction_time=median_reaction_time(trials),
        session_duration=session_duration(trials),
        psychometric=fit_psychometric(trials),
    )


def _median(values: np.ndarray) -> float:
    """``np.median`` of finite values, bit for bit, without its NaN checks and generic reduction (a third of
    the cost of ``median_reaction_time``)."""
    half = values.size // 2
    if values.size % 2:
        return float(np.partition(values, half)[half])
    low, high = np.partition(values, (half - 1, half))[half - 1 : half + 1]
    return float((low + high) / 2.0)


def _rate_correct(trials: pd.DataFrame, subset: np.ndarray | None, no_go_incorrect: bool) -> float:
    responded = _array(trials, "choice") != 0
    value, known = _correct(trials)
    counted = responded & known
    if no_go_incorrect:
        counted |= ~responded
        value = value & responded
    if subset is not None:
        counted &= subset
    total = int(np.count_nonzero(counted))
    return int(np.count_nonzero(value & counted)) / total if total else math.nan


def _correct(trials: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``correct`` as (value, known) boolean arrays, derived from contrast and choice when absent."""
    import pandas as pd

    array = column_values(trials, "correct")
    if not isinstance(array, pd.arrays.BooleanArray):  # a canonical table's column is one: read as it is
        if "correct" in trials.columns:
            array = _boolean(trials["correct"], _SOURCE)
        else:
            array = derive_correct(_array(trials, "signed_contrast", np.float64), _array(trials, "choice"))
    return array.to_numpy(dtype=bool, na_value=False), ~array.isna()
