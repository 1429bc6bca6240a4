"""Session metrics of a two-alternative choice task, computed from the trials table (see ``_trials``).

Each helper takes the table (from ``load_trials`` or ``coerce_trials``) and returns a plain number.
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

from ._psychometric import PsychometricFit, fit_psychometric
from ._trials import TrialsError, _boolean, derive_correct

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


def fraction_correct(trials: pd.DataFrame, *, count_no_go_as_incorrect: bool = False) -> float:
    """Fraction of responded trials that were correct (NaN when none); see the module docstring."""
    return _rate_correct(trials, None, count_no_go_as_incorrect)


def fraction_correct_easy(
    trials: pd.DataFrame, threshold: float = 0.5, *, count_no_go_as_incorrect: bool = False
) -> float:
    """``fraction_correct`` over trials with ``|signed_contrast| >= threshold`` (IBL: 0.5, i.e. 50 %, 100 %)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a contrast fraction in [0, 1], got {threshold!r}")
    easy = np.abs(_column(trials, "signed_contrast").to_numpy(dtype=np.float64)) >= threshold
    return _rate_correct(trials, easy, count_no_go_as_incorrect)


def choice_bias(trials: pd.DataFrame) -> float:
    """(right - left) / (right + left) among responded trials: -1 all left, +1 all right, NaN if none."""
    choice = _column(trials, "choice").to_numpy()
    right = int(np.count_nonzero(choice == 1))
    left = int(np.count_nonzero(choice == -1))
    return (right - left) / (right + left) if right + left else math.nan


def median_reaction_time(trials: pd.DataFrame, *, contrast: float | None = None) -> float:
    """Median reaction time (s) of responded trials, NaN when none has one.

    ``contrast`` restricts it to one signed contrast (IBL's trained_1b uses zero-contrast trials).
    """
    rt = _column(trials, "reaction_time").to_numpy(dtype=np.float64, na_value=np.nan)
    keep = (_column(trials, "choice").to_numpy() != 0) & np.isfinite(rt)
    if contrast is not None:
        keep &= _column(trials, "signed_contrast").to_numpy(dtype=np.float64) == contrast
    return float(np.median(rt[keep])) if keep.any() else math.nan


def choice_counts(trials: pd.DataFrame, *, count_no_go_as_left: bool = False) -> list[list[float]]:
    """Per signed contrast (percent, ascending): ``[contrast, trials, right choices]``, JSON-ready.

    The sufficient statistics of the psychometric likelihood: carried in a session's metrics, they let
    ``pooled(...).psychometric(...)`` fit several sessions at once without their trials. No-go trials are
    left out, or with ``count_no_go_as_left`` counted as not rightward (IBL's ``compute_psychometric``).
    """
    contrast = _column(trials, "signed_contrast").to_numpy(dtype=np.float64) * 100.0
    choice = _column(trials, "choice").to_numpy()
    keep = np.ones(choice.shape, dtype=bool) if count_no_go_as_left else choice != 0
    levels, inverse = np.unique(contrast[keep], return_inverse=True)
    n = np.bincount(inverse, minlength=levels.size)
    right = np.bincount(inverse, weights=(choice[keep] == 1), minlength=levels.size)
    return [[float(c), int(t), int(r)] for c, t, r in zip(levels, n, right, strict=True)]


def reaction_times(trials: pd.DataFrame, *, contrast: float = 0.0) -> list[float | None]:
    """Reaction times (s) at one signed contrast, ascending, then ``None`` for each trial without a response.

    A median does not decompose over sessions, so a session carries the values (the 0 % trials: some tens).
    A no-go trial counts as slower than every response, as in IBL, whose no-go ends at the response
    window; a response with an unknown reaction time is left out (``nanmedian``).
    """
    rt = _column(trials, "reaction_time").to_numpy(dtype=np.float64, na_value=np.nan)
    at = _column(trials, "signed_contrast").to_numpy(dtype=np.float64) == contrast
    no_go = _column(trials, "choice").to_numpy() == 0
    responded = np.sort(rt[at & ~no_go & np.isfinite(rt)])
    return [float(v) for v in responded] + [None] * int(np.count_nonzero(at & no_go))


def session_duration(trials: pd.DataFrame) -> float:
    """Seconds from the earliest ``start_time`` to the latest ``end_time``; NaN if either is unknown."""
    start = _column(trials, "start_time").to_numpy(dtype=np.float64, na_value=np.nan)
    end = _column(trials, "end_time").to_numpy(dtype=np.float64, na_value=np.nan)
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


def _column(trials: pd.DataFrame, name: str) -> pd.Series:
    try:
        return trials[name]
    except KeyError:
        found = ", ".join(map(str, trials.columns)) or "none"
        raise TrialsError(_SOURCE, f"missing column {name} (found: {found})") from None


def _rate_correct(trials: pd.DataFrame, subset: np.ndarray | None, no_go_incorrect: bool) -> float:
    responded = _column(trials, "choice").to_numpy() != 0
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
    if "correct" in trials.columns:
        array = _boolean(trials["correct"], _SOURCE)
    else:
        contrast = _column(trials, "signed_contrast").to_numpy(dtype=np.float64)
        array = derive_correct(contrast, _column(trials, "choice").to_numpy())
    known = ~np.asarray(array.isna())
    return array.to_numpy(dtype=bool, na_value=False), known
