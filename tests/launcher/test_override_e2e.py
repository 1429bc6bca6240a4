"""Issue 10 as a new user tries it: a curriculum generated from the template, a submodule of a task repo;
`enroll`, `override` (a stage by hand, with parameters), `launch`, `override --off`, `history`, as real processes."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from launcher_support import cli, task_repo_with

from curriculum_contract.scaffold import new_curriculum

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_override_launch_and_history_with_a_generated_curriculum(tmp_path: Path) -> None:
    upstream = new_curriculum(tmp_path / "upstream" / "mouse-2afc", {"curriculum_name": "mouse-2afc"},
                              defaults=True, sdk_requirement=str(ROOT), lock=True)  # fmt: skip
    submodule = task_repo_with(upstream, tmp_path, "mouse-2afc")
    task = submodule.parents[1]
    curriculum = str(submodule)
    store = str(tmp_path / "history.sqlite")
    common = ("--subject", "M7", "--store", store)

    assert cli("enroll", "--curriculum", curriculum, *common, cwd=task).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"reward_volume_ul": "a lot"}')
    refused = cli("override", "--curriculum", curriculum, *common, "--stage", "all_contrasts", "--parameters",
                  str(bad), "--reason", "r", cwd=task)  # fmt: skip
    assert refused.returncode == 2
    assert f"parameters file {bad}: field 'reward_volume_ul' must be a number" in refused.stderr.splitlines()[0]
    good = tmp_path / "params.json"
    good.write_text('{"reward_volume_ul": 2.5}')
    moved = cli("override", "--curriculum", curriculum, *common, "--stage", "all_contrasts", "--parameters",
                str(good), "--reason", "skipped ahead by hand", "--operator", "alice", cwd=task)  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout == "override by alice: M7 is now at stage all_contrasts (was easy_contrasts)\n"

    sample = sorted(p for p in (upstream / "tests" / "data").iterdir() if p.is_dir())[0]
    session = tmp_path / "sessions" / "M7" / "2026-11-10_001"
    session.mkdir(parents=True)
    shutil.copy(sample / "trials.csv", session / "trials.csv")
    launched = cli("launch", "--curriculum", curriculum, "--session", str(session), *common, cwd=task)
    assert launched.returncode == 0, launched.stderr
    fed = json.loads((session / "curriculum" / "trainer_state.json").read_text())
    assert fed["stage"]["name"] == "all_contrasts"
    assert fed["stage"]["task"]["task_parameters"]["reward_volume_ul"] == 2.5
    [event] = json.loads((session / "curriculum" / "history.json").read_text())["events"]
    assert (event["kind"], event["operator"], event["stage"]) == ("override", "alice", "all_contrasts")
    assert "started from an override to stage all_contrasts by alice" in launched.stderr
    summary = json.loads((session / "curriculum" / "suggestion.json").read_text())["decision"]["summary"]
    assert summary.endswith("(started from an override by alice: skipped ahead by hand)")
    assert launched.stdout.startswith("M7 2026-11-10_001: all_contrasts -> ")

    assert cli("override", *common, "--off", "--reason", "health check", cwd=task).returncode == 0
    again = tmp_path / "sessions" / "M7" / "2026-11-11_001"
    again.mkdir()
    shutil.copy(sample / "trials.csv", again / "trials.csv")
    off = cli("launch", "--curriculum", curriculum, "--session", str(again), *common, cwd=task)
    assert off.returncode == 19 and "health check" in off.stderr and "override --subject M7 --on" in off.stderr

    shown = cli("history", "--store", store, "--subject", "M7", "--csv", str(tmp_path / "h.csv"), cwd=task)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    events = [line for line in lines if line.startswith("-- event ")]
    assert len(events) == 2 and "override by alice: easy_contrasts -> all_contrasts" in events[0]
    assert "off-curriculum by " in events[1] and "health check" in events[1]
    with open(tmp_path / "h.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    metric_columns = [name for name in rows[0] if name.startswith("metrics.")]
    decision = json.loads((session / "curriculum" / "suggestion.json").read_text())["decision"]
    compared = [c["metric"] for rule in decision["transitions"] for c in rule["conditions"]]
    recorded = json.loads((session / "curriculum" / "suggestion.json").read_text())["metrics"]
    assert set(metric_columns) == {f"metrics.{name}" for name in recorded}, "every metric is exported"
    assert {f"metrics.{name}" for name in compared} <= set(metric_columns), "the criteria's metrics among them"
    assert all(name in lines[0] for name in dict.fromkeys(compared)), "the criteria's metrics head the text table"
    assert rows[0]["metrics.n_trials"] == str(len((session / "trials.csv").read_text().splitlines()) - 1)
    assert [row["status"] for row in rows] == ["ok", "skipped"]
