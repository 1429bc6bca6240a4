"""Version A against version B on the same seeded population: per stage, the difference in median sessions.

``difference = median_B - median_A`` (positive: B reaches the stage later), each median by the censored rule
of ``_results`` (null when fewer than half the subjects reached the stage). Its 95 % interval is a paired
percentile bootstrap: ``resamples`` draws of the subjects with replacement (a seeded generator), the same
draw for both versions, the difference computed in each, a censored median counted as later than any
session (+inf). The interval is the 2.5th and 97.5th percentiles of those differences (actual resampled
values, no interpolation); a bound that is infinite is reported null ("unbounded", the version's median is
undefined in that many resamples), and the whole interval is null when more than 5 % of the resamples have
both medians undefined.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._errors import ResultsUnreadable
from ._results import ExperimentResults, median_sessions

RESAMPLES = 2000
#: Above this share of resamples with both medians undefined, no interval is reported.
MAX_UNDEFINED = 0.05
BOOTSTRAP_RULE = (
    "95% paired percentile bootstrap over subjects ({resamples} resamples, seed {seed}); a censored median "
    "counts as +inf, an infinite bound is null (unbounded)"
)


def _medians(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The censored median of each resample (row of ``draws``), +inf when undefined."""
    ordered = np.sort(values[draws], axis=1)
    return ordered[:, math.ceil(values.size / 2) - 1]


def compare(a: ExperimentResults, b: ExperimentResults, *, resamples: int = RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Per stage of A: both medians, their difference and its bootstrap interval, with the reasons for nulls."""
    _check_same_population(a, b)
    subjects = a.stages.drop_duplicates("subject")["subject"].tolist()
    order_b = b.stages.drop_duplicates("subject")["subject"].tolist()
    rng = np.random.default_rng([seed, 0xB007])
    draws = rng.integers(len(subjects), size=(resamples, len(subjects)))
    position_b = {subject: i for i, subject in enumerate(order_b)}
    rows = []
    for stage in a.description["stages"]:
        times_a = a.sessions_to_reach(stage)
        times_b = b.sessions_to_reach(stage) if stage in b.description["stages"] else np.full(len(subjects), np.inf)
        if stage in b.description["stages"]:
            times_b = times_b[[position_b[s] for s in subjects]]  # pair by subject id
        rows.append(_compare_stage(stage, times_a, times_b, draws, resamples, seed))
    table = pd.DataFrame(rows)
    return table.astype({column: "Int64" for column in ("median_a", "median_b")})


def _compare_stage(
    stage: str, times_a: np.ndarray, times_b: np.ndarray, draws: np.ndarray, resamples: int, seed: int
) -> dict[str, object]:
    median_a, median_b = median_sessions(times_a), median_sessions(times_b)
    both = math.isfinite(median_a) and math.isfinite(median_b)
    notes = [f"A: median undefined ({int(np.isfinite(times_a).sum())} of {times_a.size} reached)"] * (
        not math.isfinite(median_a)
    ) + [f"B: median undefined ({int(np.isfinite(times_b).sum())} of {times_b.size} reached)"] * (
        not math.isfinite(median_b)
    )
    boot_a, boot_b = _medians(times_a, draws), _medians(times_b, draws)
    with np.errstate(invalid="ignore"):
        differences = boot_b - boot_a  # inf - inf is nan: both undefined
    undefined = float(np.isnan(differences).mean())
    low = high = None
    if undefined > MAX_UNDEFINED:
        notes.append(f"no interval: both medians undefined in {undefined:.0%} of resamples")
    else:
        kept = differences[~np.isnan(differences)]
        bounds = np.quantile(kept, [0.025, 0.975], method="inverted_cdf")
        low, high = (float(x) if math.isfinite(x) else None for x in bounds)
        for name, value, raw in (("lower", low, bounds[0]), ("upper", high, bounds[1])):
            if value is None:
                share = float(np.isinf(kept).mean())
                side = "A" if raw < 0 else "B"
                notes.append(f"{name} bound unbounded: {side}'s median undefined in {share:.0%} of resamples")
    return {
        "stage": stage,
        "median_a": None if math.isnan(median_a) else int(median_a),
        "median_b": None if math.isnan(median_b) else int(median_b),
        "difference": median_b - median_a if both else None,
        "ci_low": low,
        "ci_high": high,
        "resamples": resamples,
        "rule": BOOTSTRAP_RULE.format(resamples=resamples, seed=seed),
        "note": "; ".join(notes),
    }


def _check_same_population(a: ExperimentResults, b: ExperimentResults) -> None:
    """Both runs must be the same seeded population: same learner, parameters, subjects, sessions, seed."""
    keys = ("learner", "parameters", "subjects", "sessions", "seed")
    for key in keys:
        if a.description.get(key) != b.description.get(key):
            raise ResultsUnreadable(
                f"the two results are of different populations: field {key} is "
                f"{a.description.get(key)!r} in A and {b.description.get(key)!r} in B"
            )
    if set(a.stages["subject"]) != set(b.stages["subject"]):
        raise ResultsUnreadable("the two results are of different populations: their subject ids differ")
