"""``history`` you can read (issue 10, point 7): key metrics as columns, events inline, CSV and Parquet;
``launch`` prints the task parameters that changed. In-process with CliRunner, a ready fake curriculum."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from launcher_support import make_session, ready_project

from curriculum_contract.launcher_adapter._cli import register
from curriculum_contract.launcher_adapter._history_view import format_event, key_metrics, parameter_changes
from curriculum_contract.launcher_adapter._override_cli import override
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord, now


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
    chosen = run("history", "--subject", "M1", "--columns", "n_trials").stdout.splitlines()
    assert chosen[0].split()[-2:] == ["n_trials", "reason"]
    refused = run("history", "--subject", "M1", "--columns", "n_trials,absent")
    assert refused.exit_code == 2 and refused.stdout == "", "a name no session recorded is refused, not an empty column"
    assert refused.stderr.splitlines() == [
        "curriculum-contract: error: history --columns: no metric named 'absent' is recorded; known: n_trials"
    ]


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


def _recorded(store: HistoryStore, session: str, ran_at: datetime, metrics: dict, **values: Any) -> None:
    store.record_session(
        SessionRecord(
            subject="M1", session=session, session_path=f"/data/{session}", status="ok", started_at=now(),
            finished_at=now(), stage_before="stage_a", stage_after="stage_a", metrics=metrics, session_time=ran_at,
            curriculum_name="Fake", **values,
        )
    )  # fmt: skip


def test_rows_are_in_session_time_order_and_the_export_holds_every_metric(run, tmp_path: Path) -> None:
    """A late session (recorded second, ran first) is listed first, with its session time; the CSV and
    Parquet files carry every metric, not only the table's key ones (the first three numeric)."""
    store = HistoryStore(tmp_path / "curriculum-history.sqlite")
    day = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    every = {"a": 1, "b": 2, "c": 3, "d": 4.5, "label": "x", "curve": [1, 2]}
    _recorded(store, "ran_second", day + timedelta(days=1), every)
    _recorded(store, "ran_first", day, {**every, "a": 0, "label": 7})  # mixed types: text in Parquet
    store.close()
    lines = run("history").stdout.splitlines()
    assert lines[0].split()[:6] == ["id", "subject", "session", "session", "time", "(UTC)"]
    assert lines[0].split()[-4:] == ["a", "b", "c", "reason"], "the table: key metrics only"
    assert [line.split()[:5] for line in lines[1:]] == [
        ["2", "M1", "ran_first", "2024-03-01", "09:00:00"],
        ["1", "M1", "ran_second", "2024-03-02", "09:00:00"],
    ]
    assert run("history", "--csv", tmp_path / "h.csv", "--parquet", tmp_path / "h.parquet").exit_code == 0
    with (tmp_path / "h.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    metric_columns = ["metrics.a", "metrics.b", "metrics.c", "metrics.d", "metrics.label", "metrics.curve"]
    assert [name for name in rows[0] if name.startswith("metrics.")] == metric_columns
    assert [(r["session"], r["session_time"], r["metrics.d"], r["metrics.curve"]) for r in rows] == [
        ("ran_first", "2024-03-01T09:00:00+00:00", "4.5", "[1, 2]"),
        ("ran_second", "2024-03-02T09:00:00+00:00", "4.5", "[1, 2]"),
    ]
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "h.parquet").to_pylist()
    assert [(r["session"], r["metrics.a"], r["metrics.label"]) for r in table] == [
        ("ran_first", 0, "7"),
        ("ran_second", 1, "x"),
    ]


def _event(kind: str, detail: dict, session: str | None = None) -> dict:
    when = datetime(2024, 3, 1, tzinfo=UTC)
    return {"id": 5, "created_at": when, "subject": "M1", "kind": kind, "detail": detail, "session": session,
            "reason": None}  # fmt: skip


def test_events_say_who_moved_the_subject_from_where_to_where_never_a_question_mark() -> None:
    state_b = {"stage": {"name": "full_contrasts"}}
    migrated = {"trainer_state": state_b, "operator": "erin", "from_stage": "old_b", "to_stage": "full_contrasts"}
    assert format_event(_event("stage-migration", migrated)).endswith(
        "M1: stage-migration by erin: old_b -> full_contrasts"
    )
    before_operators = {key: value for key, value in migrated.items() if key != "operator"}
    assert format_event(_event("stage-migration", before_operators)).endswith(
        "M1: stage-migration: old_b -> full_contrasts"
    ), "an event written before migrate recorded its operator"
    back_on = {"trainer_state": {"stage": {"name": "all_contrasts"}}, "operator": "root",
               "previous_stage": "all_contrasts"}  # fmt: skip
    assert format_event(_event("on-curriculum", back_on)).endswith(
        "M1: on-curriculum by root: off the curriculum -> all_contrasts"
    )
    kept_local = {"keep": "local", "conflicts": ["rig1#3"], "rig": "rig1", "trainer_state": state_b,
                  "superseded": {"state": None, "stage": "easy", "sessions": ["s1"]}}  # fmt: skip
    assert format_event(_event("offline-conflict-resolved", kept_local)).endswith(
        "M1: offline-conflict-resolved on rig rig1: easy -> full_contrasts"
    )
    kept_remote = {"keep": "remote", "conflicts": ["rig1#3"], "rig": "rig1", "dropped": [{}, {}]}
    assert format_event(_event("offline-conflict-resolved", kept_remote)).endswith(
        "M1: offline-conflict-resolved on rig rig1: the store's state kept, 2 offline decision(s) dropped"
    )
    lines = [
        format_event(_event(kind, detail))
        for kind, detail in [
            ("stage-migration", {"trainer_state": state_b}), ("override", {"trainer_state": state_b}),
            ("offline-conflict-resolved", {"trainer_state": state_b}), ("off-curriculum", {"trainer_state": None}),
        ]
    ]  # fmt: skip
    assert all("?" not in line for line in lines), lines
    assert lines[0].endswith("M1: stage-migration: now full_contrasts")
