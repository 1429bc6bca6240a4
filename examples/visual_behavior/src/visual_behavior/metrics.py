"""Change-detection session metrics, from the session's trials table.

The trials table (``trials.csv``, ``.parquet`` or ``.jsonl`` in the data directory, or in its
``behavior/`` folder), one row per trial, times in seconds from the session start:

==================  ========  ==========================================================
column              type      meaning
==================  ========  ==========================================================
start_time          float     trial start
end_time            float     trial end
is_change           bool      a go trial (the stimulus changed); False: a catch trial
aborted             bool      the subject licked before the change; the trial ended early
hit                 bool      go trial with a lick in the response window
false_alarm         bool      catch trial with a lick in the response window
reward_volume_ul    float     water delivered on the trial (0 when none)
stimulus            str       the stimulus set shown (``gratings``, ``images_A``, ...)
flashed             bool      flashed stimulus (False: static)
==================  ========  ==========================================================

Optional columns (kept, not required): ``trial``, ``change_time``, ``response``,
``response_latency``, ``miss``, ``correct_reject``, ``auto_rewarded``, ``initial_image``,
``change_image``.

Definitions, after the Allen Institute's Visual Behavior analyses:

- Rates use non-aborted trials; ``d_prime = Z(hit rate) - Z(false alarm rate)`` with each rate
  clipped to ``[1/(2N), 1 - 1/(2N)]`` (N the trials it is computed on), so it stays finite.
- A trial is *engaged* when the reward rate around it (25 trials, centred) is at least 2 rewards per
  minute; ``engaged_minutes`` sums the duration of engaged trials, and the ``*_engaged`` rates use
  engaged non-aborted trials only.
- A value that cannot be computed (no go or no catch trial) is ``None``; a criterion on it fails.
"""

import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
from aind_behavior_curriculum import Metrics
from curriculum_contract.sdk import InputError
from pydantic import Field

TRIALS_FILE_NAMES = ("trials.parquet", "trials.csv", "trials.jsonl")
REQUIRED_COLUMNS = (
    "start_time",
    "end_time",
    "is_change",
    "aborted",
    "hit",
    "false_alarm",
    "reward_volume_ul",
    "stimulus",
    "flashed",
)
BOOLEAN_COLUMNS = ("is_change", "aborted", "hit", "false_alarm", "flashed")
ENGAGED_REWARDS_PER_MIN = 2.0
ENGAGEMENT_WINDOW_TRIALS = 25


class ChangeDetectionMetrics(Metrics):
    """One change-detection session's metrics (see the module docstring for the definitions)."""

    n_trials: int = Field(description="All trials, aborted ones included.")
    n_go: int = Field(description="Non-aborted go (change) trials.")
    n_catch: int = Field(description="Non-aborted catch trials.")
    fraction_aborted: float | None = Field(description="Fraction of trials aborted by an early lick.")
    hit_rate: float | None = Field(description="Hits / non-aborted go trials.")
    false_alarm_rate: float | None = Field(description="False alarms / non-aborted catch trials.")
    d_prime: float | None = Field(description="Z(hit rate) - Z(false alarm rate), rates clipped.")
    hit_rate_engaged: float | None = Field(description="Hit rate over engaged trials.")
    false_alarm_rate_engaged: float | None = Field(description="False alarm rate over engaged trials.")
    d_prime_engaged: float | None = Field(description="d-prime over engaged trials.")
    engaged_minutes: float = Field(description="Minutes of trials with a reward rate >= 2 per minute.")
    session_duration_min: float | None = Field(description="From the first trial's start to the last one's end.")
    water_delivered_ul: float = Field(description="Water delivered (microliters).")
    stimulus: str = Field(description="The stimulus set shown (the most frequent one); empty without trials.")
    flashed: bool = Field(description="Whether the stimulus was flashed in most trials.")


def compute_metrics(data_directory: Path) -> ChangeDetectionMetrics:
    """The metrics of the change-detection session in ``data_directory``."""
    trials = load_change_trials(data_directory)
    done = ~trials["aborted"].to_numpy(dtype=bool)
    go = done & trials["is_change"].to_numpy(dtype=bool)
    catch = done & ~trials["is_change"].to_numpy(dtype=bool)
    hit = trials["hit"].to_numpy(dtype=bool)
    fa = trials["false_alarm"].to_numpy(dtype=bool)
    engaged = engaged_trials(trials)
    duration = trials["end_time"].max() - trials["start_time"].min() if len(trials) else math.nan
    rates = _rates(hit, fa, go, catch)
    engaged_rates = _rates(hit, fa, go & engaged, catch & engaged)
    per_trial_minutes = (trials["end_time"] - trials["start_time"]).to_numpy(dtype=np.float64) / 60.0
    return ChangeDetectionMetrics(
        n_trials=len(trials),
        n_go=int(go.sum()),
        n_catch=int(catch.sum()),
        fraction_aborted=_defined(float((~done).mean())) if len(trials) else None,
        hit_rate=rates[0],
        false_alarm_rate=rates[1],
        d_prime=rates[2],
        hit_rate_engaged=engaged_rates[0],
        false_alarm_rate_engaged=engaged_rates[1],
        d_prime_engaged=engaged_rates[2],
        engaged_minutes=round(float(per_trial_minutes[engaged].sum()), 3),
        session_duration_min=_defined(duration / 60.0),
        water_delivered_ul=round(float(trials["reward_volume_ul"].sum()), 3),
        stimulus=str(trials["stimulus"].mode().iloc[0]) if len(trials) else "",
        flashed=bool(trials["flashed"].mean() > 0.5) if len(trials) else False,
    )


def load_change_trials(data_directory: Path) -> pd.DataFrame:
    """The trials table of ``data_directory``, checked against the module docstring's columns."""
    path = _find(Path(data_directory))
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif path.suffix == ".csv":
            frame = pd.read_csv(path)
        else:
            frame = pd.read_json(path, lines=True) if path.read_bytes().strip() else pd.DataFrame()
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: unreadable trials table: {type(error).__name__}: {error}") from None
    if frame.empty and not len(frame.columns):
        frame = pd.DataFrame({column: [] for column in REQUIRED_COLUMNS})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (found: {found})")
    for column in BOOLEAN_COLUMNS:
        values = frame[column]
        if values.dtype != bool:
            text = values.astype(str).str.strip().str.lower()
            if not text.isin(["true", "false", "1", "0"]).all():
                bad = values[~text.isin(["true", "false", "1", "0"])].iloc[0]
                raise InputError(f"{path}: column {column} must be true/false, found {bad!r}")
            frame[column] = text.isin(["true", "1"])
    return frame


def _find(directory: Path) -> Path:
    for sub in ("", "behavior"):
        for name in TRIALS_FILE_NAMES:
            candidate = directory / sub / name
            if candidate.is_file():
                return candidate
    raise InputError(f"{directory}: no trials file found (looked for {', '.join(TRIALS_FILE_NAMES)})")


def engaged_trials(trials: pd.DataFrame) -> np.ndarray:
    """Trials whose surrounding reward rate (25 trials, centred) is at least 2 rewards per minute."""
    if trials.empty:
        return np.zeros(0, dtype=bool)
    rewarded = (trials["reward_volume_ul"] > 0).astype(float)
    window = {"window": ENGAGEMENT_WINDOW_TRIALS, "center": True, "min_periods": 1}
    rewards = rewarded.rolling(**window).sum()
    span = trials["end_time"].rolling(**window).max() - trials["start_time"].rolling(**window).min()
    rate = rewards / (span / 60.0)
    return (rate >= ENGAGED_REWARDS_PER_MIN).to_numpy(dtype=bool)


def _rates(hit: np.ndarray, fa: np.ndarray, go: np.ndarray, catch: np.ndarray) -> tuple[float | None, ...]:
    n_go, n_catch = int(go.sum()), int(catch.sum())
    hit_rate = int((hit & go).sum()) / n_go if n_go else math.nan
    fa_rate = int((fa & catch).sum()) / n_catch if n_catch else math.nan
    d = d_prime(hit_rate, n_go, fa_rate, n_catch)
    return _defined(hit_rate), _defined(fa_rate), _defined(d)


def d_prime(hit_rate: float, n_go: int, false_alarm_rate: float, n_catch: int) -> float:
    """``Z(hit) - Z(false alarm)``, each rate clipped to ``[1/(2N), 1 - 1/(2N)]``; NaN if N is 0."""
    if not (n_go and n_catch) or math.isnan(hit_rate) or math.isnan(false_alarm_rate):
        return math.nan
    z = NormalDist().inv_cdf
    hit = min(max(hit_rate, 1 / (2 * n_go)), 1 - 1 / (2 * n_go))
    fa = min(max(false_alarm_rate, 1 / (2 * n_catch)), 1 - 1 / (2 * n_catch))
    return z(hit) - z(fa)


def _defined(value: float) -> float | None:
    return round(float(value), 6) if math.isfinite(value) else None
