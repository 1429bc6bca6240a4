"""The lab-meeting plot: per stage, the fraction of subjects that reached it by session N (time-to-stage).

One line per stage (the enrollment stage left out: everyone starts there); with two experiments, A solid and
B dashed in the same colour per stage. Each defined median is marked where its curve reaches half the
subjects (A filled, B open); given ``compare``'s table, each stage's legend entry ends with B - A and its 95 %
interval (``>+12`` when only B's median is censored). The title is wrapped until it fits in the figure: the
labels can be long paths or git revisions. matplotlib is imported here only (the ``simulate`` extra), on a
``Figure`` of its own (no pyplot state, no display needed).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._results import ExperimentResults

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

_STYLES = ("-", "--")
#: Face of A's and B's median markers: filled, open (a ring, so a median both share shows both).
_MEDIAN_MARKERS = ({"markersize": 5}, {"markersize": 9, "markerfacecolor": "none"})
_TITLE_SIZE = 9
#: Inches: the figure without its legend, and one row of the legend (under the curves, never over them).
_HEIGHT, _LEGEND_ROW = 3.9, 0.16
#: Up to this many legend entries, one column.
_ONE_COLUMN = 3
#: The fewest characters a title line is wrapped to, whatever the figure.
_NARROWEST_TITLE = 20
#: Sessions the axis runs on past the last one simulated, so that the fraction reached by it shows as a step.
_TAIL = 0.5


def plot_survival(
    experiments: Sequence[tuple[str, ExperimentResults]],
    path: Path,
    title: str = "",
    *,
    comparison: pd.DataFrame | None = None,
) -> Path:
    """Draw the curves of one or two experiments (``(label, results)``) into ``path`` (PNG), atomically;
    ``comparison`` (``compare(a, b)``) adds B - A and its interval per stage."""
    figure = draw_survival(experiments, title, comparison=comparison)
    temporary = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temporary)
    temporary.replace(path)
    return path


def draw_survival(
    experiments: Sequence[tuple[str, ExperimentResults]],
    title: str = "",
    *,
    comparison: pd.DataFrame | None = None,
) -> Figure:
    """The figure ``plot_survival`` saves, laid out (for a test to look at its artists)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    first = experiments[0][1]
    stages: list[str] = []  # after each one's first (where every subject starts): the first's, then any other's
    for _, results in experiments:
        stages += [stage for stage in results.description["stages"][1:] if stage not in stages]
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    sessions = int(first.description["sessions"])
    figure = Figure(figsize=(7.5, 4.5), dpi=120, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.axhline(0.5, color="0.6", linewidth=0.6, linestyle=":", zorder=0)
    last: dict[str, Line2D] = {}  # per stage, the legend entry that carries B - A
    shown = experiments[: len(_STYLES)]
    medians = [results.summary.set_index("stage")["median_sessions"] for _, results in shown]
    for position, stage in enumerate(stages):  # stage by stage: the legend lists A and B of a stage together
        color = colors[position % len(colors)]
        for index, (label, results) in enumerate(shown):
            curve = results.survival[results.survival["stage"] == stage]
            if curve.empty:
                continue
            name = f"{stage} ({label})" if label else stage
            # the value by session M drawn on to the axis' end (M + 1/2): a step at M would be a point
            x = [*curve["session"].tolist(), sessions + _TAIL]
            y = [*curve["fraction_reached"].tolist(), curve["fraction_reached"].iloc[-1]]
            (last[stage],) = axes.step(
                x, y, where="post", linestyle=_STYLES[index], color=color, label=name
            )  # fmt: skip
            median = medians[index].get(stage)
            if _defined(median):
                axes.plot(
                    [int(median)], [0.5], marker="o", linestyle="none", color=color, zorder=3,
                    gid=median_gid(label, stage), **_MEDIAN_MARKERS[index],
                )  # fmt: skip
    for index, (label, _) in enumerate(shown):
        name = f"median ({label})" if label else "median (half the subjects reached it)"
        axes.plot([], [], marker="o", linestyle="none", color="0.3", label=name, **_MEDIAN_MARKERS[index])
    legend_title = None
    if comparison is not None:
        _annotate(comparison, last)
        legend_title = "B-A median sessions [95% CI]"
    description = first.description
    axes.set_xlabel("sessions trained")
    axes.set_ylabel("fraction of subjects that reached the stage")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlim(0, sessions + _TAIL)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # sessions are whole numbers
    axes.grid(alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    columns = 1 if len(handles) <= _ONE_COLUMN else 2
    figure.set_figheight(_HEIGHT + _LEGEND_ROW * -(-len(handles) // columns))  # the curves keep their height
    figure.legend(
        handles, labels, loc="outside lower center", ncol=columns, fontsize=7, title=legend_title,
        title_fontsize=7, frameon=False,
    )  # fmt: skip
    text = title or (
        f"{description['curriculum']}: time to stage, {description['subjects']} simulated "
        f"{description['learner']} learners (seed {description['seed']})"
    )
    _fit_title(figure, axes, canvas, text)
    return figure


def median_gid(label: str, stage: str) -> str:
    """The id of a median marker (``Line2D.get_gid``): which experiment and stage it marks."""
    return f"median {label}: {stage}"


def _defined(value: object) -> bool:
    import pandas as pd

    return value is not None and not pd.isna(value)


def _annotate(comparison: pd.DataFrame, last: dict[str, Line2D]) -> None:
    """Append ``B-A +3 [+1, +5]`` to each compared stage's last legend entry (B's, or A's if B has none)."""
    from ._report import difference_text, interval_text

    for row in comparison.to_dict("records"):
        line = last.get(str(row["stage"]))
        if line is None:
            continue
        difference, interval = difference_text(row), interval_text(row)
        if isinstance(row.get("only_in"), str):
            line.set_label(f"{line.get_label()}: only in {row['only_in']}")
        elif difference == "-":
            line.set_label(f"{line.get_label()}: B-A undefined (both medians censored)")
        else:
            line.set_label(f"{line.get_label()}: B-A {difference}" + (f" {interval}" if interval != "-" else ""))


def _fit_title(figure: Figure, axes: Axes, canvas: FigureCanvasAgg, text: str) -> None:
    """Wrap the title (and lay the figure out) until it lies inside the figure, narrower each time."""
    width = int(figure.get_figwidth() * 72 / (_TITLE_SIZE * 0.6))  # characters of the figure's width
    while True:
        axes.set_title("\n".join(textwrap.wrap(text, width)), fontsize=_TITLE_SIZE)
        canvas.draw()  # the constrained layout places the title
        box = axes.title.get_window_extent(canvas.get_renderer())
        inside = box.x0 >= 0 and box.x1 <= figure.bbox.x1 and box.y1 <= figure.bbox.y1
        if inside or width <= _NARROWEST_TITLE:
            return
        width = max(_NARROWEST_TITLE, int(width * 0.85))
