"""``history`` you can read (issue 10, point 7): key metrics as columns, events inline, CSV and Parquet;
``launch`` prints the task parameters that changed. In-process with CliRunner, a ready fake curriculum."""

from __future__ import annotations

import csv
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from launcher_support import make_session, ready_project

from curriculum_contract.launcher_adapter._cli import register
from curriculum_contract.launcher_adapter._history_view import key_metrics, parameter_changes
from curriculum_contract.launcher_adapter._override_cli import override


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    group = click.Group("curriculum-contract")
    register(group)
    group.add_command(override)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CURRICULUM_CONTRACT_STORE", raising=False)
    return lambda *args: CliRunner().invoke(group, [str(a) for a in args], catch_exceptions=False)


def _two_sessions_and_an_override(run, tmp_path: Path) -> Path:
    project = ready_project(tmp_path)
    assert run("enroll", "--curriculum", project, "--subject", "M1").exit_code == 0
    first = run("launch", "--curriculum", project, "--session", make_session(tmp_path / "s", "M1_s1", 7),
                "--subject", "M1")  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "parameter reward_ul: 3.0 -> 2.0\n" in first.stdout, "stage_a -> stage_b changes the reward"
    moved = run("override", "--subject", "M1", "--curriculum", project, "--stage", "stage_a", "--reason",
                "bias came back", "--operator", "alice")  # fmt: skip
    assert moved.exit_code == 0, moved.output
    second = run("launch", "--curriculum", project, "--session", make_session(tmp_path / "s", "M1_s2", 2),
                 "--subject", "M1")  # fmt: skip
    assert second.exit_code == 0, second.output
    assert "parameter" not in second.stdout, "nothing changed: no parameter line"
    return project


def test_history_text_shows_key_metrics_and_events_in_time_order(run, tmp_path: Path) -> None:
    _two_sessions_and_an_override(run, tmp_path)
    lines = run("history", "--subject", "M1").stdout.splitlines()
    assert lines[0].split()[-2:] == ["n_trials", "reason"], "the numeric metric as a column (plain-callable criteria)"
    assert len(lines) == 4
    assert "M1_s1" in lines[1] and " 7 " in f"{lines[1]} "
    assert (
        lines[2].startswith("-- event ")
        and "M1: override by alice: stage_b -> stage_a; reason: bias came back" in lines[2]
    )
    assert "M1_s2" in lines[3] and "stage_a -> stage_a" in lines[3] and lines[3].rstrip().endswith("2")
    chosen = run("history", "--subject", "M1", "--columns", "n_trials,absent").stdout.splitlines()
    assert chosen[0].split()[-3:] == ["n_trials", "absent", "reason"]


def test_history_exports_csv_and_parquet(run, tmp_path: Path) -> None:
    _two_sessions_and_an_override(run, tmp_path)
    assert run("history", "--csv", tmp_path / "h.csv", "--parquet", tmp_path / "h.parquet").exit_code == 0
    with (tmp_path / "h.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["session"], r["stage_before"], r["stage_after"], r["metrics.n_trials"]) for r in rows] == [
        ("M1_s1", "stage_a", "stage_b", "7"),
        ("M1_s2", "stage_a", "stage_a", "2"),
    ]
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "h.parquet").to_pylist()
    assert [(r["session"], r["metrics.n_trials"]) for r in table] == [("M1_s1", 7), ("M1_s2", 2)]
    assert table[0]["started_at"] == rows[0]["started_at"]


def test_parquet_without_pyarrow_is_one_line_naming_what_to_install(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_sessions_and_an_override(run, tmp_path)
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it fails, as without the package
    result = run("history", "--parquet", tmp_path / "h.parquet")
    assert result.exit_code == 15
    assert result.stderr.splitlines() == [
        "curriculum-contract: error: history --parquet needs pyarrow: pip install pyarrow"
    ]
    assert not (tmp_path / "h.parquet").exists()


def test_key_metrics_are_those_the_criteria_compare() -> None:
    def row(*metrics: str, values: dict | None = None) -> dict:
        conditions = [{"metric": name} for name in metrics]
        return {"suggestion": {"decision": {"transitions": [{"conditions": conditions}]}}, "metrics": values or {}}

    rows = [row("performance_easy", values={"n_trials": 3, "bias": 0.1}), row("n_trials", "performance_easy")]
    assert key_metrics(rows) == ["performance_easy", "n_trials"]
    plain = [row(values={"label": "x", "flag": True, "a": 1, "b": 2.5, "c": 3, "d": 4})]
    assert key_metrics(plain) == ["a", "b", "c"], "no criteria: the first numeric metrics"


def test_parameter_changes_compare_by_name() -> None:
    def state(**parameters) -> dict:
        return {"stage": {"task": {"task_parameters": parameters}}}

    assert parameter_changes(state(a=1, b=2), state(a=1, b=3, c=None)) == [("b", 2, 3), ("c", None, None)]
    assert parameter_changes(None, state(a=1)) == [("a", None, 1)]
