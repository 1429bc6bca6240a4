"""Presenting the demo's sessions: a table for the terminal and a plot for the lab wiki.

Both read plain rows (one per launched session), so they show exactly what the launcher recorded.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SessionRow:
    """One simulated session and what the curriculum said after it."""

    subject: str
    index: int
    session: str
    stage_before: str | None
    stage_after: str | None
    status: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


#: How the table shows a metric the session's data did not determine (null in the document).
UNDEFINED = "undef"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNDEFINED
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def format_table(rows: Sequence[SessionRow], metrics: Sequence[str]) -> str:
    """Stage per session with the key metrics, one subject after another."""
    header = ["subject", "#", "stage", "next stage", *metrics, "status"]
    body = []
    for row in rows:
        moved = row.stage_after if row.stage_after != row.stage_before else "="
        status = row.status if row.status == "ok" else f"skipped: {row.reason}"
        body.append(
            [
                row.subject,
                str(row.index + 1),
                row.stage_before or "-",
                moved or "-",
                *(_cell(row.metrics.get(name)) if row.status == "ok" else "-" for name in metrics),
                status,
            ]
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, [("-" * w) for w in widths], *body]
    ]
    if any(UNDEFINED in line[4:] for line in body):
        lines.append(f"{UNDEFINED}: not determined by the session's data (its suggestion's warnings say why)")
    return "\n".join(lines)


def stage_order(rows: Sequence[SessionRow], known: Sequence[str] = ()) -> list[str]:
    """Stages in curriculum order when known, else in the order subjects reached them."""
    seen = list(known)
    for row in rows:
        for stage in (row.stage_before, row.stage_after):
            if stage is not None and stage not in seen:
                seen.append(stage)
    return seen


def plot_progress(
    rows: Sequence[SessionRow],
    path: Path,
    *,
    performance: str,
    count: str,
    stages: Sequence[str] = (),
    title: str = "Training progress",
) -> Path:
    """One panel per subject: the stage as coloured bands, performance and trial count over sessions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    order = stage_order(rows, stages)
    colours = dict(zip(order, plt.get_cmap("Pastel2").colors, strict=False))
    subjects = list(dict.fromkeys(row.subject for row in rows))
    figure, axes = plt.subplots(len(subjects), 1, figsize=(10, 3.2 * len(subjects) + 0.8), squeeze=False, sharex=True)
    for axis, subject in zip(axes[:, 0], subjects, strict=True):
        own = [row for row in rows if row.subject == subject]
        x = [row.index + 1 for row in own]
        # Stage bands and trial counts on the back axis; performance on the front one, over both.
        back = axis.twinx()
        for row, position in zip(own, x, strict=True):
            if row.stage_before is not None:
                back.axvspan(position - 0.5, position + 0.5, color=colours[row.stage_before], linewidth=0, zorder=0)
        back.bar(x, [_number(row.metrics.get(count)) for row in own], width=0.35, color="#555555", alpha=0.45,
                 zorder=1)  # fmt: skip
        back.set_ylabel(count.replace("_", " "))
        axis.set_zorder(back.get_zorder() + 1)
        axis.patch.set_visible(False)
        axis.plot(x, [_number(row.metrics.get(performance)) for row in own], "o-", color="#1f4e79")
        axis.set_ylim(0, 1.05)
        axis.set_ylabel(performance.replace("_", " "))
        axis.set_title(f"subject {subject}", loc="left", fontsize=11)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        for row, position in zip(own, x, strict=True):
            if row.status != "ok":
                axis.annotate("skipped", (position, 0.05), ha="center", fontsize=8, color="#b00000")
    axes[-1, 0].set_xlabel("session (the band is the stage the session ran in)")
    handles = [Patch(color=colours[name], label=name) for name in order]
    handles += [
        plt.Line2D([], [], color="#1f4e79", marker="o", label=performance.replace("_", " ")),
        Patch(color="#7f7f7f", alpha=0.5, label=count.replace("_", " ")),
    ]
    figure.legend(
        handles=handles, loc="upper center", ncol=min(len(handles), 6), frameon=False, bbox_to_anchor=(0.5, 1.0)
    )
    figure.suptitle(title, y=1.04, fontsize=13)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(figure)
    return path


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
