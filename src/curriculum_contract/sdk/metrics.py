"""Metric helpers for two-alternative choice sessions (pandas, vectorized).

The trials table they read is documented in :mod:`curriculum_contract.sdk._trials`; the formulas and
edge cases (NaN for "undefined", never an exception) in each function's docstring.
"""

from ._metrics import (
    SessionSummary,
    choice_bias,
    choice_counts,
    fraction_correct,
    fraction_correct_easy,
    median_reaction_time,
    reaction_times,
    session_duration,
    summarize_session,
    trial_count,
)
from ._pooling import pool_counts, pooled_fit
from ._psychometric import PsychometricFit, fit_counts, fit_psychometric
from ._trials import TrialsError, coerce_trials, find_trials_file, load_trials

__all__ = [
    "PsychometricFit",
    "SessionSummary",
    "TrialsError",
    "choice_bias",
    "choice_counts",
    "coerce_trials",
    "find_trials_file",
    "fit_counts",
    "fit_psychometric",
    "fraction_correct",
    "fraction_correct_easy",
    "load_trials",
    "median_reaction_time",
    "pool_counts",
    "pooled_fit",
    "reaction_times",
    "session_duration",
    "summarize_session",
    "trial_count",
]
