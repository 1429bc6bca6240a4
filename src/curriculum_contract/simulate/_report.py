"""Plain-text summaries of an experiment and of a comparison, for a terminal (the tables are the data)."""

from __future__ import annotations

import pandas as pd

from ._results import ExperimentResults


def _cell(value: object) -> str:
    return "-" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def format_summary(results: ExperimentResults) -> str:
    """Per stage: how many reached it and the median sessions (or why it is undefined)."""
    d = results.description
    lines = [
        f"{d['curriculum']} {d['curriculum_version']}: {d['subjects']} {d['learner']} learners x "
        f"{d['sessions']} sessions (seed {d['seed']})",
        f"{'stage':<36} {'reached':>9} {'median':>7}  range",
    ]
    for row in results.summary.itertuples():
        reached = f"{row.reached}/{row.subjects}"
        median = _cell(row.median_sessions)
        spread = f"{_cell(row.min_sessions)}-{_cell(row.max_sessions)}"
        note = f"  ({row.median_note})" if row.median_note and not pd.isna(row.median_note) else ""
        lines.append(f"{row.stage:<36} {reached:>9} {median:>7}  {spread}{note}")
    return "\n".join(lines) + "\n"


def format_comparison(table: pd.DataFrame) -> str:
    """Per stage: the two medians, B - A and its interval, and the reasons for any null."""
    lines = [f"{'stage':<36} {'A':>5} {'B':>5} {'B-A':>6}  95% CI"]
    for row in table.itertuples():
        interval = f"[{_cell(row.ci_low)}, {_cell(row.ci_high)}]"
        note = f"  ({row.note})" if row.note else ""
        lines.append(
            f"{row.stage:<36} {_cell(row.median_a):>5} {_cell(row.median_b):>5} {_cell(row.difference):>6}  "
            f"{interval}{note}"
        )
    if len(table):
        lines.append(f"(B - A > 0: B reaches the stage later; {table['rule'].iloc[0]})")
    return "\n".join(lines) + "\n"
