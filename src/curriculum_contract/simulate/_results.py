"""The tables of a population experiment, and the censoring rule every summary of them follows.

``sessions_to_reach`` of a subject and a stage is the number of sessions it ran before the curriculum first
put it in that stage or in a stage beyond it (``_stage_graph.stages_after``; 0 for the stage it enrolled in;
``k`` when the suggestion after its k-th session moved it there). A subject that went past the stage without
running in it has *skipped* it: reached, with no session in it. A subject that got neither there nor beyond
within the experiment's M sessions is *censored*: NA, never M.

The median sessions to a stage is the smallest N by which at least half the subjects had reached it (the
Kaplan-Meier median; all censoring happens at M). When fewer than half reached it, it is undefined: null,
with the reason in ``median_note``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._words import counted

#: ``run.json``'s format; a reader refuses another major.
RESULTS_FORMAT = 1
MEDIAN_RULE = (
    "median sessions to a stage = the smallest N by which at least half the subjects had reached it; "
    "undefined (null) when fewer than half reached it within the simulated sessions (censored subjects)"
)


@dataclass(frozen=True)
class SessionRecord:
    """One simulated session: who, which (1-based), the stage it ran in, the stage suggested after it."""

    subject: str
    session: int
    stage: str
    next_stage: str
    metrics: dict[str, Any]


def median_sessions(values: np.ndarray) -> float:
    """The censored median of ``values`` (``inf`` = censored) by the module's rule; ``nan`` when undefined."""
    if values.size == 0:
        return math.nan
    ordered = np.sort(values)
    median = ordered[math.ceil(values.size / 2) - 1]
    return float(median) if math.isfinite(median) else math.nan


@dataclass(frozen=True)
class ExperimentResults:
    """Per session, per subject and stage, per stage, and the fraction reached by session N."""

    sessions: pd.DataFrame
    """One row per simulated session: subject, session, stage, next_stage, then the curriculum's metrics."""
    stages: pd.DataFrame
    """One row per subject and stage: reached, skipped, sessions_to_reach (NA if censored), dwell_sessions."""
    summary: pd.DataFrame
    """One row per stage: subjects, reached (of which skipped), fraction_reached, median_sessions (null +
    median_note), min, max."""
    survival: pd.DataFrame
    """One row per stage and session N (0..M): fraction_reached by N (the curve of the plot)."""
    description: dict[str, Any]
    """What made these results (``run.json``)."""

    @classmethod
    def from_records(
        cls,
        records: Sequence[SessionRecord],
        stages: Sequence[str],
        sessions: int,
        description: dict[str, Any],
        *,
        after: Mapping[str, Collection[str]] | None = None,
    ) -> ExperimentResults:
        """``after``: per stage, the stages beyond it (reaching one of them reaches it); None: none."""
        rows = [
            {"subject": r.subject, "session": r.session, "stage": r.stage, "next_stage": r.next_stage, **_flat(r)}
            for r in records
        ]
        session_table = pd.DataFrame(rows)
        subjects = list(dict.fromkeys(r.subject for r in records))
        return cls.from_stage_table(
            session_table,
            _stage_table(records, subjects, stages, after or {}),
            sessions,
            {**description, "stages": list(stages)},
        )

    @classmethod
    def from_stage_table(
        cls, sessions: pd.DataFrame, stages: pd.DataFrame, count: int, description: dict[str, Any]
    ) -> ExperimentResults:
        """Summary and survival from the per-subject stage table (also what reading results back uses)."""
        order = list(description["stages"])
        summary, survival = [], []
        for position, stage in enumerate(order):
            values = _reach_times(stages, stage)
            n, reached = values.size, int(np.isfinite(values).sum())
            skipped = int(stages.loc[stages["stage"] == stage, "skipped"].sum()) if "skipped" in stages else 0
            median = median_sessions(values)
            note = f"only {reached} of {n} subjects reached {stage} in {counted(count, 'session')}"
            note = "" if math.isfinite(median) else note
            finite = values[np.isfinite(values)]
            summary.append(
                {
                    "stage": stage,
                    "order": position,
                    "subjects": n,
                    "reached": reached,
                    "skipped": skipped,
                    "fraction_reached": reached / n if n else math.nan,
                    "median_sessions": None if math.isnan(median) else int(median),
                    "median_note": note,
                    "min_sessions": int(finite.min()) if finite.size else None,
                    "max_sessions": int(finite.max()) if finite.size else None,
                }
            )
            for number in range(count + 1):
                fraction = float((values <= number).sum()) / n if n else math.nan
                survival.append({"stage": stage, "session": number, "fraction_reached": fraction})
        summary_table = pd.DataFrame(summary).astype({"median_sessions": "Int64", "min_sessions": "Int64"})
        summary_table = summary_table.astype({"max_sessions": "Int64"})
        return cls(sessions, stages, summary_table, pd.DataFrame(survival), {**description, "median_rule": MEDIAN_RULE})

    def sessions_to_reach(self, stage: str) -> np.ndarray:
        """Per subject (in order), sessions to reach ``stage``, ``inf`` when censored."""
        return _reach_times(self.stages, stage)

    def median(self, stage: str) -> int | None:
        value = self.summary.set_index("stage").loc[stage, "median_sessions"]
        return None if pd.isna(value) else int(value)


def _reach_times(stages: pd.DataFrame, stage: str) -> np.ndarray:
    column = stages.loc[stages["stage"] == stage, "sessions_to_reach"]
    return pd.to_numeric(column).astype("Float64").fillna(np.inf).to_numpy(dtype=np.float64)


def _stage_table(
    records: Sequence[SessionRecord],
    subjects: list[str],
    stages: Sequence[str],
    after: Mapping[str, Collection[str]],
) -> pd.DataFrame:
    by_subject: dict[str, list[SessionRecord]] = {subject: [] for subject in subjects}
    for record in records:
        by_subject[record.subject].append(record)
    rows = []
    for subject, own in by_subject.items():
        first: dict[str, int] = {own[0].stage: 0} if own else {}
        for record in own:
            first.setdefault(record.next_stage, record.session)
        dwell = pd.Series([r.stage for r in own]).value_counts().to_dict()
        for position, stage in enumerate(stages):
            # the stage itself or one beyond it, whichever came first (beyond it, then demoted back: reached then)
            reach = min((first[other] for other in (stage, *after.get(stage, ())) if other in first), default=None)
            rows.append(
                {
                    "subject": subject,
                    "stage": stage,
                    "order": position,
                    "reached": reach is not None,
                    "skipped": stage not in first and reach is not None,
                    "sessions_to_reach": reach,
                    "dwell_sessions": int(dwell.get(stage, 0)),
                }
            )
    return pd.DataFrame(rows).astype({"sessions_to_reach": "Int64"})


def _flat(record: SessionRecord) -> dict[str, Any]:
    """The metrics as columns: scalars as they are, anything else as its JSON text; names kept unless taken."""
    import json

    taken = {"subject", "session", "stage", "next_stage"}
    flat = {}
    for name, value in record.metrics.items():
        column = f"metric_{name}" if name in taken else name
        flat[column] = value if value is None or isinstance(value, bool | int | float | str) else json.dumps(value)
    return flat
