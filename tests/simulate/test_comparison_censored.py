"""A against B when a median is censored: B - A stays null but its one-sided bound (``M - median_A`` when only
B's is censored, ``median_B - M`` when only A's is), the direction, the note and the terminal line say what the
data determines; both censored, no sign. And ``comparison.png``: its title inside the figure, each defined
median marked at half the subjects, B - A with its interval in the legend."""

import re
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from matplotlib.figure import Figure
from tiny_curriculum import spec

from curriculum_contract.simulate import Experiment, ExperimentResults, compare
from curriculum_contract.simulate._plot import draw_survival, median_gid, plot_survival
from curriculum_contract.simulate._report import format_comparison, format_summary

SESSIONS = 10
#: Sessions to reach ``trained`` per subject (None: not within the 10): the censored median is the 3rd of 6.
MEDIAN_4 = [2, 3, 4, 5, 6, 7]
MEDIAN_6 = [4, 5, 6, 7, 8, 9]  # every subject 2 sessions after MEDIAN_4's
TWO_OF_SIX = [3, 5, None, None, None, None]  # fewer than half: censored
ONE_OF_SIX = [3, None, None, None, None, None]
NONE_OF_SIX = [None] * 6
#: The title ``write_comparison`` gives, with labels as long as a checkout's path and a git revision.
LONG_TITLE = (
    "Tiny: time to stage, A = /home/someone/projects/curricula/a-checkout-with-a-long-name/ibl_2afc (solid), "
    "B = 0123456789abcdef0123456789abcdef01234567 (dashed)"
)
TOLERANCE = 1e-9  # sessions are whole numbers: a float here is one exactly


def results(times: list[int | None], sessions: int = SESSIONS, last: str = "trained") -> ExperimentResults:
    """Six subjects enrolled in ``training``; ``times`` says when each reached ``last`` (None: censored)."""
    rows = []
    for index, time in enumerate(times):
        subject = f"sim-{index + 1:03d}"
        rows.append({"subject": subject, "stage": "training", "order": 0, "reached": True, "sessions_to_reach": 0})
        reached = time is not None
        rows.append({"subject": subject, "stage": last, "order": 1, "reached": reached, "sessions_to_reach": time})
    stages = pd.DataFrame(rows).astype({"sessions_to_reach": "Int64"})
    description = {
        "curriculum": "Tiny", "curriculum_version": "1.0.0", "stages": ["training", last], "learner": "two_afc",
        "parameters": {}, "subjects": len(times), "sessions": sessions, "seed": 1,
    }  # fmt: skip
    return ExperimentResults.from_stage_table(pd.DataFrame(), stages, sessions, description)


def trained(table: pd.DataFrame) -> pd.Series:
    return table.set_index("stage").loc["trained"]


def line_of(text: str, stage: str) -> str:
    (line,) = [line for line in text.splitlines() if line.split()[:1] == [stage]]
    return line


def test_b_censored_gives_b_later_by_more_than_m_minus_median_a() -> None:
    table = compare(results(MEDIAN_4), results(TWO_OF_SIX), resamples=500, seed=3)
    row = trained(table)
    assert pd.isna(row["difference"]) and pd.isna(row["median_b"])  # the exact value is undefined
    assert row["median_a"] == 4
    assert row["difference_more_than"] == SESSIONS - 4
    assert pd.isna(row["difference_less_than"])
    assert row["later"] == "B"
    assert "B later by more than 6 sessions (B's median is beyond the 10 simulated)" in row["note"]
    # B's resampled median is defined only when 3 of the 6 draws are its 2 early subjects (p = 0.32): the
    # upper bound is +inf, the lower a difference of a resample where both are defined (B 3 or 5, A 2 to 7)
    assert pd.isna(row["ci_high"]) and row["ci_high_infinite"] == "+inf" and pd.isna(row["ci_low_infinite"])
    assert -4 <= row["ci_low"] <= 3 and float(row["ci_low"]).is_integer()
    assert "upper bound unbounded: B's median undefined in" in row["note"]
    line = line_of(format_comparison(table), "trained")
    assert line.split()[:4] == ["trained", "4", "-", ">+6"]
    assert re.search(r"  \[[+-]?\d+, unbounded\)  \(", line), line


def test_a_censored_gives_b_earlier_by_more_than_m_minus_median_b() -> None:
    table = compare(results(TWO_OF_SIX), results(MEDIAN_4), resamples=500, seed=3)
    row = trained(table)
    assert pd.isna(row["difference"]) and pd.isna(row["difference_more_than"])
    assert row["difference_less_than"] == 4 - SESSIONS
    assert row["later"] == "A"
    assert "B earlier by more than 6 sessions (A's median is beyond the 10 simulated)" in row["note"]
    assert pd.isna(row["ci_low"]) and row["ci_low_infinite"] == "-inf" and pd.isna(row["ci_high_infinite"])
    line = line_of(format_comparison(table), "trained")
    assert line.split()[:4] == ["trained", "-", "4", "<-6"]
    assert re.search(r"  \(unbounded, [+-]?\d+\]  \(", line), line


def test_b_censored_in_every_resample_says_so_instead_of_an_unbounded_lower_bound() -> None:
    row = trained(compare(results(MEDIAN_4), results(NONE_OF_SIX), resamples=200))
    assert row["difference_more_than"] == 6 and row["later"] == "B"
    assert pd.isna(row["ci_low"]) and pd.isna(row["ci_high"])
    assert row["ci_low_infinite"] == row["ci_high_infinite"] == "+inf"
    assert "both bounds +inf (unbounded): B's median undefined in 100% of resamples, B later in them" in row["note"]
    assert "lower bound unbounded" not in row["note"]  # the lower bound is not -inf
    text = format_comparison(compare(results(MEDIAN_4), results(NONE_OF_SIX), resamples=200))
    assert line_of(text, "trained").split()[3:6] == [">+6", "(B", "censored)"]


def test_both_censored_gives_no_sign_and_no_interval() -> None:
    table = compare(results(ONE_OF_SIX), results(NONE_OF_SIX), resamples=500)
    row = trained(table)
    for column in ("difference", "difference_more_than", "difference_less_than", "later", "ci_low", "ci_high"):
        assert pd.isna(row[column]), column
    assert "no sign can be given: both medians are beyond the 10 sessions simulated" in row["note"]
    assert "no interval: both medians undefined in" in row["note"]
    assert line_of(format_comparison(table), "trained").split()[:5] == ["trained", "-", "-", "-", "-"]


def test_both_defined_keeps_the_exact_difference() -> None:
    table = compare(results(MEDIAN_4), results(MEDIAN_6), resamples=500)
    row = trained(table)
    assert row["difference"] == pytest.approx(2.0, abs=TOLERANCE)
    assert pd.isna(row["difference_more_than"]) and pd.isna(row["difference_less_than"])
    assert row["later"] == "B" and row["note"] == "only 6 subjects: the interval means little"
    # every subject is exactly 2 sessions later in B: so is every resample's median
    assert row["ci_low"] == pytest.approx(2.0, abs=TOLERANCE) and row["ci_high"] == pytest.approx(2.0, abs=TOLERANCE)
    assert line_of(format_comparison(table), "trained").split()[:6] == ["trained", "4", "6", "+2", "[+2,", "+2]"]
    enrolled = table.set_index("stage").loc["training"]
    assert enrolled["difference"] == pytest.approx(0.0, abs=TOLERANCE) and enrolled["later"] == "neither"


def test_a_later_median_whose_interval_includes_0_says_so() -> None:
    """One subject of twelve a session later in B: B's median is later, and no resample has it earlier, but
    many have it the same: ``later`` is B, and the note says the interval does not show it."""
    a = list(range(1, 13))
    b = [*range(1, 6), 7, *range(7, 13)]
    row = trained(compare(results(a, sessions=20), results(b, sessions=20), resamples=500))
    assert (row["median_a"], row["median_b"], row["later"]) == (6, 7, "B")
    assert row["ci_low"] == pytest.approx(0.0, abs=TOLERANCE) and row["ci_high"] == pytest.approx(1.0, abs=TOLERANCE)
    assert row["note"] == "the interval includes 0: B later, but not shown at 95%"
    same = trained(compare(results(a, sessions=20), results(a, sessions=20), resamples=500))
    assert same["later"] == "neither" and same["note"] == ""  # no sign claimed: nothing to qualify


def test_the_bound_from_a_short_run_holds_for_the_longer_run_of_the_same_population() -> None:
    """A real run: 9 sessions are too few for half of B (threshold 0.95) to graduate; 20 show by how much."""

    def run(threshold: float, sessions: int) -> ExperimentResults:
        return Experiment(spec(threshold), subjects=12, sessions=sessions, seed=5).run().results()

    short = trained(compare(run(0.8, 9), run(0.95, 9), resamples=300, seed=5))
    assert pd.isna(short["median_b"]) and short["later"] == "B"
    assert short["difference_more_than"] == 9 - short["median_a"]
    long = trained(compare(run(0.8, 20), run(0.95, 20), resamples=300, seed=5))
    assert long["median_a"] == short["median_a"]  # the first 9 sessions are the same sessions
    assert long["difference"] > short["difference_more_than"]


def comparison_figure(b_times: list[int | None]) -> tuple[Figure, pd.DataFrame]:
    a, b = results(MEDIAN_4), results(b_times)
    table = compare(a, b, resamples=300)
    return draw_survival([("A", a), ("B", b)], LONG_TITLE, comparison=table), table


def medians_on(figure: Figure, label: str) -> list[tuple[float, float]]:
    (axes,) = figure.axes
    lines = [line for line in axes.get_lines() if line.get_gid() == median_gid(label, "trained")]
    return [(float(x), float(y)) for line in lines for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)]


def legend_texts(figure: Figure) -> list[str]:
    (legend,) = figure.legends
    return [text.get_text() for text in legend.get_texts()]


def test_the_long_title_lies_inside_the_figure() -> None:
    figure, _ = comparison_figure(MEDIAN_6)
    title = figure.axes[0].title
    box = title.get_window_extent(figure.canvas.get_renderer())
    bounds = figure.bbox
    assert box.x0 >= bounds.x0 - 1 and box.x1 <= bounds.x1 + 1 and box.y1 <= bounds.y1 + 1, (box, bounds)
    assert title.get_text().replace("\n", " ").split() == LONG_TITLE.split()  # wrapped, not shortened


def test_each_defined_median_is_marked_at_half_the_subjects() -> None:
    figure, _ = comparison_figure(MEDIAN_6)
    assert medians_on(figure, "A") == [pytest.approx((4.0, 0.5), abs=TOLERANCE)]
    assert medians_on(figure, "B") == [pytest.approx((6.0, 0.5), abs=TOLERANCE)]
    censored, _ = comparison_figure(TWO_OF_SIX)
    assert medians_on(censored, "A") == [pytest.approx((4.0, 0.5), abs=TOLERANCE)]
    assert medians_on(censored, "B") == []  # B's median is undefined: nothing to mark


def test_the_legend_gives_b_minus_a_and_its_interval_per_stage() -> None:
    figure, _ = comparison_figure(MEDIAN_6)
    assert "trained (B): B-A +2 [+2, +2]" in legend_texts(figure)
    censored, _ = comparison_figure(TWO_OF_SIX)
    (label,) = [text for text in legend_texts(censored) if text.startswith("trained (B)")]
    assert re.fullmatch(r"trained \(B\): B-A >\+6 \[[+-]?\d+, unbounded\)", label), label
    both, _ = comparison_figure(NONE_OF_SIX)
    assert "trained (B): B-A >+6 (B censored)" in legend_texts(both)


def test_the_comparison_and_the_single_plot_are_written_as_png(tmp_path: Path) -> None:
    a, b = results(MEDIAN_4), results(TWO_OF_SIX)
    path = plot_survival([("A", a), ("B", b)], tmp_path / "comparison.png", LONG_TITLE, comparison=compare(a, b))
    single = plot_survival([("", a)], tmp_path / "time_to_stage.png")
    for written in (path, single):
        assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(written).shape[1] == 900  # 7.5 in at 120 dpi
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comparison.png", "time_to_stage.png"]
    figure = draw_survival([("", a)])
    assert medians_on(figure, "") == [pytest.approx((4.0, 0.5), abs=TOLERANCE)]
    assert figure.axes[0].get_title() == "Tiny: time to stage, 6 simulated two_afc learners (seed 1)"


def test_a_stage_only_one_version_has_is_listed_with_its_median_and_compared_with_nothing() -> None:
    """B renamed ``trained``: both stages are in the table, each with the one median there is, no B - A."""
    a, b = results(MEDIAN_4), results(MEDIAN_6, last="trained_v2")
    table = compare(a, b, resamples=200, seed=1).set_index("stage")
    assert list(table.index) == ["training", "trained", "trained_v2"]
    assert table.loc["training", "difference"] == 0 and pd.isna(table.loc["training", "only_in"])
    only_a, only_b = table.loc["trained"], table.loc["trained_v2"]
    assert (only_a["only_in"], only_a["median_a"], only_b["only_in"], only_b["median_b"]) == ("A", 4, "B", 6)
    for row in (only_a, only_b):
        for column in ("difference", "difference_more_than", "difference_less_than", "later", "ci_low", "ci_high"):
            assert pd.isna(row[column]), (column, row)
    assert only_a["note"] == "only in A: B has no stage trained, nothing to compare"
    assert pd.isna(only_a["median_b"]) and pd.isna(only_b["median_a"])
    text = format_comparison(table.reset_index())
    assert "only in B: A has no stage trained_v2" in line_of(text, "trained_v2")
    figure = draw_survival([("A", a), ("B", b)], LONG_TITLE, comparison=table.reset_index())
    assert "trained (A): only in A" in legend_texts(figure) and "trained_v2 (B): only in B" in legend_texts(figure)


def test_the_comparison_counts_sessions_in_whole_numbers() -> None:
    table = compare(results(MEDIAN_4), results(MEDIAN_6), resamples=200, seed=1)
    for column in ("median_a", "median_b", "difference", "ci_low", "ci_high"):
        assert str(table[column].dtype) == "Int64", column
    assert table.to_csv(index=False).splitlines()[2].split(",")[1:4] == ["4", "6", "2"]


def test_the_summary_gives_each_stage_its_range_or_a_dash_when_no_subject_reached_it() -> None:
    reached = line_of(format_summary(results(MEDIAN_4)), "trained").split()
    assert reached[1:4] == ["6/6", "4", "2-7"]
    never = line_of(format_summary(results(NONE_OF_SIX)), "trained").split()
    assert never[1:4] == ["0/6", "-", "-"]
