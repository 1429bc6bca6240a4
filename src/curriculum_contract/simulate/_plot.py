"""The lab-meeting plot: per stage, the fraction of subjects that reached it by session N (time-to-stage).

One line per stage (the enrollment stage left out: everyone starts there); with two experiments, A solid and
B dashed in the same colour per stage. matplotlib is imported here only (the ``simulate`` extra), headless.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._results import ExperimentResults

_STYLES = ("-", "--")


def plot_survival(experiments: Sequence[tuple[str, ExperimentResults]], path: Path, title: str = "") -> Path:
    """Draw the curves of one or two experiments (``(label, results)``) into ``path`` (PNG), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = experiments[0][1]
    stages = list(first.description["stages"])[1:]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figure, axes = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for style, (label, results) in zip(_STYLES, experiments, strict=False):
        survival = results.survival
        for position, stage in enumerate(stages):
            curve = survival[survival["stage"] == stage]
            if curve.empty:
                continue
            name = f"{stage} ({label})" if label else stage
            axes.step(
                curve["session"], curve["fraction_reached"], where="post", linestyle=style,
                color=colors[position % len(colors)], label=name,
            )  # fmt: skip
    description = first.description
    axes.set_xlabel("sessions trained")
    axes.set_ylabel("fraction of subjects that reached the stage")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlim(0, int(description["sessions"]))
    axes.grid(alpha=0.3)
    axes.set_title(
        title
        or f"{description['curriculum']}: time to stage, {description['subjects']} simulated "
        f"{description['learner']} learners (seed {description['seed']})",
        fontsize=9,
    )
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    temporary = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temporary)
    plt.close(figure)
    temporary.replace(path)
    return path
