"""Version A against version B on the same seeded population: per stage, the difference in median sessions.

``difference = median_B - median_A`` (positive: B reaches the stage later), each median by the censored rule
of ``_results`` (null when fewer than half the subjects reached the stage). Its 95 % interval is a paired
percentile bootstrap: ``resamples`` draws of the subjects with replacement (a seeded generator), the same
draw for both versions, the difference computed in each, a censored median counted as later than any
session (+inf). The interval is the 2.5th and 97.5th percentiles of those differences (actual resampled
values, no interpolation); a bound that is infinite is reported null ("unbounded", the version's median is
undefined in that many resamples), and the whole interval is null when more than 5 % of the resamples have
both medians undefined. ``ci_low_infinite`` / ``ci_high_infinite`` say which infinity a null bound stands for
(``+inf``: B's median undefined in that many resamples, ``-inf``: A's).

When one median is censored the difference is undefined (null) but bounded on one side: a censored median is
beyond the M sessions simulated, so with B's censored ``B - A > M - median_A`` (``difference_more_than``), with
A's ``B - A < median_B - M`` (``difference_less_than``). ``later`` is the version that reaches the stage later
whenever the data determines it (``A``, ``B``, ``neither``); null when both medians are undefined; its note
says when the interval includes 0 (the point estimate's sign is not shown at 95 %), and every stage's when
there are fewer than ``FEW_SUBJECTS`` subjects. A stage
that only one version has (``only_in``) is listed with that version's median and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._errors import ResultsUnreadable
from ._results import ExperimentResults, median_sessions
from ._words import counted

RESAMPLES = 2000
#: Above this share of resamples with both medians undefined, no interval is reported.
MAX_UNDEFINED = 0.05
#: Below this many subjects an interval is flagged: a bootstrap over so few (one: a single value) says little.
FEW_SUBJECTS = 10
BOOTSTRAP_RULE = (
    "95% paired percentile bootstrap over subjects ({resamples} resamples, seed {seed}); a censored median "
    "counts as +inf, an infinite bound is null (unbounded)"
)


#: The columns of ``compare``'s table, in order; the whole numbers among them (sessions) are nullable integers.
COLUMNS = (
    "stage",
    "median_a",
    "median_b",
    "difference",
    "difference_more_than",
    "difference_less_than",
    "later",
    "ci_low",
    "ci_high",
    "ci_low_infinite",
    "ci_high_infinite",
    "only_in",
    "resamples",
    "rule",
    "note",
)
INTEGER_COLUMNS = (*COLUMNS[1:6], "ci_low", "ci_high")


def _medians(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The censored median of each resample (row of ``draws``), +inf when undefined."""
    ordered = np.sort(values[draws], axis=1)
    return ordered[:, math.ceil(values.size / 2) - 1]


def compare(a: ExperimentResults, b: ExperimentResults, *, resamples: int = RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Per stage (A's, then those only B has): both medians, their difference (or its one-sided bound) and its
    bootstrap interval, with the reasons for nulls. A stage only one version has is listed with its median and
    ``only_in``, and compared with nothing."""
    _check_same_population(a, b)
    subjects = a.stages.drop_duplicates("subject")["subject"].tolist()
    order_b = b.stages.drop_duplicates("subject")["subject"].tolist()
    rng = np.random.default_rng([seed, 0xB007])
    draws = rng.integers(len(subjects), size=(resamples, len(subjects)))
    position_b = {subject: i for i, subject in enumerate(order_b)}
    sessions = int(a.description["sessions"])
    stages_a, stages_b = a.description["stages"], b.description["stages"]
    rows = []
    for stage in [*stages_a, *(stage for stage in stages_b if stage not in stages_a)]:
        if stage not in stages_b or stage not in stages_a:
            rows.append(_one_version_stage(stage, a if stage in stages_a else b, "A" if stage in stages_a else "B"))
            continue
        times_b = b.sessions_to_reach(stage)[[position_b[s] for s in subjects]]  # paired by subject id
        rows.append(_compare_stage(stage, a.sessions_to_reach(stage), times_b, draws, sessions))
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["resamples"], table["rule"] = resamples, BOOTSTRAP_RULE.format(resamples=resamples, seed=seed)
    return table.astype({column: "Int64" for column in INTEGER_COLUMNS})


def _one_version_stage(stage: str, results: ExperimentResults, version: str) -> dict[str, object]:
    """A stage only one version has (added, renamed or removed): its median; nothing to compare it with."""
    median = median_sessions(results.sessions_to_reach(stage))
    other = "B" if version == "A" else "A"
    return {
        "stage": stage,
        f"median_{version.lower()}": int(median) if math.isfinite(median) else None,
        "only_in": version,
        "note": f"only in {version}: {other} has no stage {stage}, nothing to compare",
    }


def _compare_stage(
    stage: str, times_a: np.ndarray, times_b: np.ndarray, draws: np.ndarray, sessions: int
) -> dict[str, object]:
    median_a, median_b = median_sessions(times_a), median_sessions(times_b)
    defined_a, defined_b = math.isfinite(median_a), math.isfinite(median_b)
    notes = [
        f"{name}: median undefined ({int(np.isfinite(times).sum())} of {times.size} reached)"
        for name, times, defined in (("A", times_a, defined_a), ("B", times_b, defined_b))
        if not defined
    ]
    more_than = less_than = None
    if defined_a and defined_b:
        difference: float | None = median_b - median_a
        later = "B" if difference > 0 else "A" if difference < 0 else "neither"
    elif defined_a:  # B's median is beyond the M sessions: B - A > M - median_A
        difference, later, more_than = None, "B", sessions - int(median_a)
        notes.append(f"B later by more than {more_than} sessions (B's median is beyond the {sessions} simulated)")
    elif defined_b:
        difference, later, less_than = None, "A", int(median_b) - sessions
        notes.append(f"B earlier by more than {-less_than} sessions (A's median is beyond the {sessions} simulated)")
    else:
        difference = later = None
        notes.append(f"no sign can be given: both medians are beyond the {sessions} sessions simulated")
    low, high, infinite, interval_notes = _interval(times_a, times_b, draws)
    lowest = -math.inf if infinite[0] == "-inf" else math.inf if infinite[0] == "+inf" else low
    highest = math.inf if infinite[1] == "+inf" else -math.inf if infinite[1] == "-inf" else high
    if later in ("A", "B") and lowest is not None and highest is not None and lowest <= 0 <= highest:
        interval_notes.append(f"the interval includes 0: {later} later, but not shown at 95%")
    if times_a.size < FEW_SUBJECTS:
        interval_notes.append(f"only {counted(times_a.size, 'subject')}: the interval means little")
    return {
        "stage": stage,
        "median_a": int(median_a) if defined_a else None,
        "median_b": int(median_b) if defined_b else None,
        "difference": difference,
        "difference_more_than": more_than,
        "difference_less_than": less_than,
        "later": later,
        "ci_low": low,
        "ci_high": high,
        "ci_low_infinite": infinite[0],
        "ci_high_infinite": infinite[1],
        "note": "; ".join(notes + interval_notes),
    }


def _interval(
    times_a: np.ndarray, times_b: np.ndarray, draws: np.ndarray
) -> tuple[float | None, float | None, tuple[str | None, str | None], list[str]]:
    """The bootstrap bounds (null when infinite or when there is no interval), which infinity each null bound
    stands for, and the notes that say why."""
    boot_a, boot_b = _medians(times_a, draws), _medians(times_b, draws)
    with np.errstate(invalid="ignore"):
        differences = boot_b - boot_a  # inf - inf is nan: both undefined
    undefined = float(np.isnan(differences).mean())
    if undefined > MAX_UNDEFINED:
        return None, None, (None, None), [f"no interval: both medians undefined in {undefined:.0%} of resamples"]
    kept = differences[~np.isnan(differences)]
    bounds = np.quantile(kept, [0.025, 0.975], method="inverted_cdf")
    if np.isposinf(bounds[0]) or np.isneginf(bounds[1]):  # the whole interval is one infinity
        side = "B" if bounds[0] > 0 else "A"
        share = float((kept == bounds[0]).mean())
        sign = "+inf" if bounds[0] > 0 else "-inf"
        note = f"both bounds {sign} (unbounded): {side}'s median undefined in {share:.0%} of resamples, "
        note += f"{side} later in them"
        return None, None, (sign, sign), [note]
    notes, infinite = [], []
    for name, raw in (("lower", bounds[0]), ("upper", bounds[1])):
        if math.isfinite(raw):
            infinite.append(None)
            continue
        side = "A" if raw < 0 else "B"
        share = float((kept == raw).mean())
        infinite.append("-inf" if raw < 0 else "+inf")
        notes.append(f"{name} bound unbounded: {side}'s median undefined in {share:.0%} of resamples")
    low, high = (float(x) if math.isfinite(x) else None for x in bounds)
    return low, high, (infinite[0], infinite[1]), notes


def check_same_population(a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    """Two runs' ``run.json`` descriptions must be of one seeded population: learner, parameters, subjects,
    sessions, seed (checked before a run trains, against the results it will be compared with)."""
    for key in ("learner", "parameters", "subjects", "sessions", "seed"):
        if a.get(key) != b.get(key):
            raise ResultsUnreadable(
                f"the two results are of different populations: field {key} is {a.get(key)!r} in A and "
                f"{b.get(key)!r} in B"
            )


def _check_same_population(a: ExperimentResults, b: ExperimentResults) -> None:
    check_same_population(a.description, b.description)
    if set(a.stages["subject"]) != set(b.stages["subject"]):
        raise ResultsUnreadable("the two results are of different populations: their subject ids differ")
