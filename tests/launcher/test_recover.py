"""A launcher killed at several points (a real ``kill -9`` of a real launcher process), then ``recover``.

Each time the session ends byte-identical to before (only the adapter's inputs added), no preserve folder
or journal is left, and the store agrees with the session's outputs: both or neither.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_curriculum import pid_file
from launcher_support import assert_intact, make_session, session_lock_free, tree_digest, wait_until
from test_process import wait_gone

from curriculum_contract.launcher_adapter import HistoryStore, launch
from curriculum_contract.launcher_adapter._cli import recover
from curriculum_contract.launcher_adapter._feed import SUGGESTION_FILE

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="containment is Linux's (subreaper)")

HERE = Path(__file__).parent


def _kill_launcher_when(spec: dict, ready) -> None:  # type: ignore[no-untyped-def]
    launcher = subprocess.Popen([sys.executable, str(HERE / "launch_worker.py"), json.dumps(spec)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        if not wait_until(lambda: ready() or launcher.poll() is not None) or launcher.poll() is not None:
            raise AssertionError(f"the launcher did not reach the point to kill it at: {launcher.stderr.read()}")  # type: ignore[union-attr]
        launcher.kill()
    finally:
        launcher.wait()
        launcher.stderr.close()  # type: ignore[union-attr]
    # The killed run's supervisor holds the session lock until it has ended every process of the run.
    assert wait_until(lambda: session_lock_free(Path(spec["session"]))), "the killed run never released its lock"


@pytest.fixture
def case(project: Path, program_for, store_path: Path, enrolled, tmp_path: Path):  # type: ignore[no-untyped-def]
    enrolled("M1")
    session = make_session(tmp_path / "data" / "sessions", "M1_s1", session_json={"subject_id": "M1", "rig": "R2"})
    return session, tree_digest(session), {
        "project": str(project), "session": str(session), "subject": "M1", "store": str(store_path),
    }  # fmt: skip


def _leftovers(session: Path) -> list[str]:
    return sorted(p.name for p in session.parent.iterdir() if p.name.startswith("."))


def test_killed_mid_run_after_the_curriculum_edited_the_session(case, program_for, store_path: Path) -> None:
    session, before, spec = case
    spec["program"] = str(program_for("linger").executable)
    _kill_launcher_when(
        spec, lambda: len(pid_file(session).read_text().split()) == 3 if pid_file(session).exists() else False
    )
    for pid in map(int, pid_file(session).read_text().split()):
        assert wait_gone(pid)
    assert tree_digest(session)["trials.csv"] != before["trials.csv"], "the damage the recovery must undo"
    assert _leftovers(session), "a journal and a preserve folder were left"
    result = CliRunner().invoke(recover, ["--store", str(store_path), "--sessions-root", str(session.parent.parent)])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1 and "rolled back" in result.output and "restored trials.csv" in result.output
    assert_intact(session, before)
    (row,) = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "skipped" and row["reason"].startswith("launch interrupted")


def test_killed_before_the_store_recorded_rolls_the_outputs_back(case, program_for, store_path: Path, tmp_path) -> None:
    session, before, spec = case
    marker = tmp_path / "held"
    spec.update(program=str(program_for("ok").executable), hold="before_record", marker=str(marker))
    _kill_launcher_when(spec, marker.exists)
    assert (session / SUGGESTION_FILE).is_file(), "the outputs were written, the record was not"
    result = CliRunner().invoke(recover, ["--store", str(store_path), "--session", str(session)])
    assert result.exit_code == 0, result.output
    assert "curriculum/suggestion.json: removed" in result.output and "session.json: put back" in result.output
    assert_intact(session, before)
    assert [r["status"] for r in HistoryStore(store_path).session_rows("M1")] == ["skipped"]


def test_killed_after_the_store_recorded_keeps_outputs_and_record(
    case, program_for, store_path: Path, tmp_path
) -> None:
    session, before, spec = case
    marker = tmp_path / "held"
    spec.update(program=str(program_for("ok").executable), hold="after_record", marker=str(marker))
    _kill_launcher_when(spec, marker.exists)
    suggestion = (session / SUGGESTION_FILE).read_bytes()
    annotated = (session / "session.json").read_bytes()
    result = CliRunner().invoke(recover, ["--store", str(store_path)])  # the store's data roots
    assert result.exit_code == 0, result.output
    assert "had committed" in result.output, result.output
    assert (session / SUGGESTION_FILE).read_bytes() == suggestion
    assert (session / "session.json").read_bytes() == annotated
    assert _leftovers(session) == []
    (row,) = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "ok" and row["suggestion"] == json.loads(suggestion)
    assert {k: v for k, v in tree_digest(session).items() if k in before and k != "session.json"} == {
        k: v for k, v in before.items() if k != "session.json"
    }


def test_the_next_launch_recovers_first(case, program_for, project: Path, store_path: Path) -> None:
    """No `recover` run: the next launch of the session finds the journal and finishes it before anything else."""
    session, before, spec = case
    spec["program"] = str(program_for("linger").executable)
    _kill_launcher_when(
        spec, lambda: len(pid_file(session).read_text().split()) == 3 if pid_file(session).exists() else False
    )
    result = launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert any("an interrupted launch of this session was finished" in w for w in result.warnings)
    assert tree_digest(session)["trials.csv"] == before["trials.csv"], "decided on the pristine data"
    assert result.metrics["n_trials"] == 10
    assert _leftovers(session) == []


def test_recover_with_nothing_to_do(tmp_path: Path) -> None:
    (tmp_path / "sessions" / "s1").mkdir(parents=True)
    result = CliRunner().invoke(recover, ["--store", str(tmp_path / "none.sqlite"), "--sessions-root", str(tmp_path)])
    assert result.exit_code == 0 and result.output == "nothing to recover\n"
