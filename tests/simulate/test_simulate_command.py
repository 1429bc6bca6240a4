"""``curriculum simulate``, the SDK's command, in-process (click's runner) over a real curriculum."""

import json
from pathlib import Path

from click.testing import CliRunner
from tiny_curriculum import spec

from curriculum_contract.sdk._app import make_cli


def invoke(threshold: float, *args: str) -> object:
    return CliRunner().invoke(make_cli(lambda: {"Tiny": spec(threshold)}), ["simulate", *args])


def test_simulate_writes_tables_plot_and_prints_the_summary(tmp_path: Path) -> None:
    result = invoke(0.8, "--subjects", "4", "--sessions", "8", "--seed", "3", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    assert "trained" in result.output and "results in" in result.output
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["format"] == 1 and run["subjects"] == 4 and run["seed"] == 3 and "median_rule" in run
    assert (tmp_path / "a" / "time_to_stage.png").stat().st_size > 1000


def test_compare_against_an_earlier_run_reports_the_difference_and_interval(tmp_path: Path) -> None:
    common = ["--subjects", "10", "--sessions", "16", "--seed", "5", "--resamples", "300"]
    assert invoke(0.8, *common, "--out", str(tmp_path / "a")).exit_code == 0
    result = invoke(0.95, *common, "--out", str(tmp_path / "b"), "--compare", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    assert "95% CI" in result.output and "B - A > 0: B reaches the stage later" in result.output
    assert (tmp_path / "b" / "comparison.csv").is_file() and (tmp_path / "b" / "comparison.png").is_file()


def test_compare_with_another_population_fails_in_one_line(tmp_path: Path) -> None:
    assert invoke(0.8, "--subjects", "2", "--sessions", "3", "--out", str(tmp_path / "a")).exit_code == 0
    other = ["--subjects", "3", "--sessions", "3", "--out", str(tmp_path / "b"), "--compare", str(tmp_path / "a")]
    result = invoke(0.8, *other)
    assert result.exit_code == 3
    assert "field subjects is 2 in A and 3 in B" in result.output


def test_a_missing_results_directory_and_bad_parameters_are_named(tmp_path: Path) -> None:
    missing = invoke(0.8, "--out", str(tmp_path / "b"), "--compare", str(tmp_path / "nowhere"))
    assert missing.exit_code == 3 and "nowhere/run.json: no simulation results here" in missing.output
    assert "a git revision is for `curriculum-contract simulate --compare REV`" in missing.output
    for version in ("A", "B"):
        made = invoke(0.8, "--subjects", "2", "--sessions", "2", "--out", str(tmp_path / "cmp" / version))
        assert made.exit_code == 0, made.output
    comparison = invoke(0.8, "--out", str(tmp_path / "c"), "--compare", str(tmp_path / "cmp"))
    assert comparison.exit_code == 3 and f"it holds a comparison: pass {tmp_path / 'cmp' / 'A'}" in comparison.output
    bad = invoke(0.8, "--out", str(tmp_path / "b"), "--plateau", "2")
    assert bad.exit_code == 2, bad.output
    assert "curriculum: error: --plateau: learner parameter plateau = 2.0 is out of range (0 < plateau <= 1)" in (
        bad.output
    )
    unknown = invoke(0.8, "--out", str(tmp_path / "b"), "--learner", "nope")
    assert unknown.exit_code == 2 and "unknown learner 'nope'" in unknown.output


def test_another_population_is_refused_before_anything_trains(tmp_path: Path) -> None:
    """Exit 3 for the mismatch, not 5 for a learner that would fail on its second session: nothing ran."""
    assert invoke(0.8, "--subjects", "2", "--sessions", "3", "--out", str(tmp_path / "a")).exit_code == 0
    other = ["--subjects", "2", "--sessions", "3", "--seed", "9", "--out", str(tmp_path / "b")]
    result = invoke(0.8, *other, "--compare", str(tmp_path / "a"), "--learner", "tiny_curriculum:failing_learner")
    assert result.exit_code == 3, result.output
    assert "field learner is 'two_afc' in A and 'tiny_curriculum:failing_learner' in B" in result.output
    assert not (tmp_path / "b" / "run.json").exists()
