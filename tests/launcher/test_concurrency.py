"""One session, one launch at a time; one subject, one "read history, run, record" at a time: real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from launcher_support import make_session, tree_digest

from curriculum_contract.launcher_adapter import HistoryStore, SessionBusy, launch
from curriculum_contract.launcher_adapter._lock import session_lock

HERE = Path(__file__).parent


def _race(specs: list[dict], barrier: Path) -> list[str]:
    """Start the launchers, release them together once each is ready, return each one's line."""
    command = [sys.executable, str(HERE / "launch_worker.py")]
    workers = [
        subprocess.Popen([*command, json.dumps({**spec, "barrier": str(barrier)})],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for spec in specs
    ]  # fmt: skip
    deadline = time.monotonic() + 300  # a bound for a broken worker, not a speed the test expects
    while len(list(barrier.parent.glob(f"{barrier.name}.ready-*"))) < len(workers) and time.monotonic() < deadline:
        assert all(worker.poll() is None for worker in workers), "a worker exited before the race"
        time.sleep(0.01)
    barrier.write_text("go")
    lines = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        lines.append(out.strip())
    return lines


def test_two_launches_of_one_session_at_once_one_wins_the_other_is_busy(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    session = make_session(tmp_path / "sessions", "M1_s1", session_json={"subject_id": "M1"})
    spec = {
        "project": str(project), "program": str(program_for("slow").executable), "session": str(session),
        "subject": "M1", "store": str(store_path),
    }  # fmt: skip
    lines = _race([spec, spec], tmp_path / "go")
    assert sorted(line.split(":")[0] for line in lines) == ["error SessionBusy", "ok stage_b"], lines
    rows = HistoryStore(store_path).session_rows("M1")
    assert [(r["status"], r["attempts"]) for r in rows] == [("ok", 1)], "the loser recorded nothing"
    after = json.loads((session / "session.json").read_text())
    assert after["curriculum"]["stage_after"] == "stage_b", "the winner's entry is intact"
    assert (session / "curriculum" / "suggestion.json").is_file()


def test_a_busy_session_is_refused_without_a_trace(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    """In-process: while the lock is held (through a symlink to the session), launch fails fast."""
    enrolled("M1")
    session = make_session(tmp_path / "sessions", "M1_s1")
    link = tmp_path / "link-to-s1"
    link.symlink_to(session)
    before = tree_digest(session)
    with session_lock(session):
        try:
            launch(project, link, "M1", store=store_path, environment=program_for("ok"))
        except SessionBusy as error:
            assert "being launched by another process" in str(error)
        else:
            raise AssertionError("a launch through a symlink of a locked session ran")
    assert tree_digest(session) == before
    assert HistoryStore(store_path).session_rows("M1") == []
    result = launch(project, link, "M1", store=store_path, environment=program_for("ok"))
    assert result.session_dir == session.resolve(), "recorded under its real path"
    assert [p.name for p in session.parent.iterdir() if p.name.startswith(".")] == []


def test_two_launches_of_one_subject_are_serialized(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    sessions = [make_session(tmp_path / "sessions", f"M1_s{n}") for n in (1, 2)]
    program = str(program_for("slow").executable)
    specs = [
        {"project": str(project), "program": program, "session": str(s), "subject": "M1", "store": str(store_path)}
        for s in sessions
    ]
    lines = _race(specs, tmp_path / "go")
    assert all(line.startswith("ok") for line in lines), lines
    rows = HistoryStore(store_path).session_rows("M1")
    seen = sorted(row["suggestion"]["decision"]["previous_sessions"] for row in rows)
    assert seen == [0, 1], "the second launch read the history the first one recorded"
    # the one that ran second read one previous session (started_at is taken before the wait for the lock)
    [second] = [row for row in rows if row["suggestion"]["decision"]["previous_sessions"] == 1]
    assert second["stage_before"] == "stage_b", "and started from the first one's suggestion"
