"""Plain-text summaries of an experiment and of a comparison, for a terminal (the tables are the data)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ._results import ExperimentResults
from ._words import counted


def _cell(value: object) -> str:
    return "-" if _null(value) else str(value)


def format_summary(results: ExperimentResults) -> str:
    """Per stage: how many reached it and the median sessions (or why it is undefined)."""
    d = results.description
    lines = [
        f"{d['curriculum']} {d['curriculum_version']}: {d['subjects']} {d['learner']} learners x "
        f"{counted(int(d['sessions']), 'session')} (seed {d['seed']})",
        f"{'stage':<36} {'reached':>9} {'median':>7}  range",
    ]
    for row in results.summary.itertuples():
        reached = f"{row.reached}/{row.subjects}"
        median = _cell(row.median_sessions)
        spread = "-" if _null(row.min_sessions) else f"{row.min_sessions}-{row.max_sessions}"  # none reached it
        notes = [row.median_note] if row.median_note and not pd.isna(row.median_note) else []
        skipped = getattr(row, "skipped", 0)  # results written before skips were counted have no column
        if not _null(skipped) and skipped:
            notes.append(f"{skipped} skipped it: went on to a later stage without a session in it")
        note = f"  ({'; '.join(notes)})" if notes else ""
        lines.append(f"{row.stage:<36} {reached:>9} {median:>7}  {spread}{note}")
    return "\n".join(lines) + "\n"


def format_comparison(table: pd.DataFrame) -> str:
    """Per stage: the two medians, B - A (``>+12`` when only B's median is censored) and its interval, and the
    reasons for any null."""
    lines = [f"{'stage':<36} {'A':>5} {'B':>5} {'B-A':>6}  95% CI"]
    for row in table.to_dict("records"):
        note = f"  ({row['note']})" if row["note"] else ""
        lines.append(
            f"{row['stage']:<36} {_cell(row['median_a']):>5} {_cell(row['median_b']):>5} {difference_text(row):>6}  "
            f"{interval_text(row)}{note}"
        )
    if len(table):
        lines.append(f"(B - A > 0: B reaches the stage later; {table['rule'].iloc[0]})")
    return "\n".join(lines) + "\n"


def difference_text(row: Mapping[str, object]) -> str:
    """B - A of a row of ``compare`` as the terminal and the plot show it: ``+3``, ``>+12`` or ``<-5`` when one
    median is censored, ``-`` when neither is defined."""
    if not _null(row["difference"]):
        return _signed(row["difference"])
    if not _null(row["difference_more_than"]):
        return f">{_signed(row['difference_more_than'])}"
    if not _null(row["difference_less_than"]):
        return f"<{_signed(row['difference_less_than'])}"
    return "-"


def interval_text(row: Mapping[str, object]) -> str:
    """The row's 95 % interval: ``[+1, +5]``, ``[+8, unbounded)``, ``(B censored)`` when both bounds are the
    same infinity, ``-`` when there is none."""
    low_infinite, high_infinite = row["ci_low_infinite"], row["ci_high_infinite"]
    if not _null(low_infinite) and low_infinite == high_infinite:
        return f"({'B' if low_infinite == '+inf' else 'A'} censored)"
    if _null(low_infinite) and _null(high_infinite) and _null(row["ci_low"]):
        return "-"
    low = "(unbounded" if not _null(low_infinite) else f"[{_signed(row['ci_low'])}"
    high = "unbounded)" if not _null(high_infinite) else f"{_signed(row['ci_high'])}]"
    return f"{low}, {high}"


def _null(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _signed(value: object) -> str:
    """``+3``, ``-2``, ``0``: sessions are whole numbers (a float only if a table was built otherwise)."""
    number = float(value)  # type: ignore[arg-type]
    if not number:
        return "0"
    return f"{int(number):+d}" if number.is_integer() else f"{number:+.1f}"
