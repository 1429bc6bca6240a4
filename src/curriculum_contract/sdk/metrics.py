"""Metric helpers for two-alternative choice sessions (pandas, vectorized).

The trials table they read is documented in :mod:`curriculum_contract.sdk._trials`; the formulas and
edge cases (NaN for "undefined", never an exception) in each function's docstring.
"""

from ._metrics import (
    SessionSummary,
    choice_bias,
    fraction_correct,
    fraction_correct_easy,
    median_reaction_time,
    session_duration,
    summarize_session,
    trial_count,
)
from ._psychometric import PsychometricFit, fit_counts, fit_psychometric
from ._trials import TrialsError, coerce_trials, find_trials_file, load_trials

__all__ = [
    "PsychometricFit",
    "SessionSummary",
    "TrialsError",
    "choice_bias",
    "coerce_trials",
    "find_trials_file",
    "fit_counts",
    "fit_psychometric",
    "fraction_correct",
    "fraction_correct_easy",
    "load_trials",
    "median_reaction_time",
    "session_duration",
    "summarize_session",
    "trial_count",
]
