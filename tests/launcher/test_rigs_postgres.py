"""Eight rigs, one PostgreSQL server: 8 launcher processes x 25 sessions, subjects moving between rigs.

Each launch of a subject must read every session of it recorded before, on whichever rig, and start
from the latest one's suggestion: the per-subject advisory lock serializes "read history, run,
record" across machines. Nothing lost, nothing duplicated.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_curriculum import enrollment

from curriculum_contract.launcher_adapter import HistoryStore

HERE = Path(__file__).parent
RIGS, SESSIONS, SUBJECTS = 8, 25, [f"M{n}" for n in range(1, 7)]


def _jobs(rig: int) -> list[list[str]]:
    """Rig ``rig``'s sessions: the subjects in turn, shifted per rig, so a subject runs on every rig."""
    return [[SUBJECTS[(3 * rig + k) % len(SUBJECTS)], f"{SUBJECTS[(3 * rig + k) % len(SUBJECTS)]}_r{rig}_{k:02d}"]
            for k in range(SESSIONS)]  # fmt: skip


@pytest.mark.e2e
def test_eight_rigs_sharing_one_server_keep_the_store_consistent(
    pg_url: str, project: Path, program_for, tmp_path: Path
) -> None:
    store = HistoryStore(pg_url)
    for subject in SUBJECTS:
        state = enrollment()
        store.record_enrollment(subject, state, curriculum_name=state["curriculum"]["name"], stage="stage_a")
    program = str(program_for("ok").executable)
    barrier = tmp_path / "go"
    env = {**os.environ, "CURRICULUM_CONTRACT_STORE": pg_url}
    workers = []
    for rig in range(RIGS):
        spec = {"project": str(project), "program": program, "root": str(tmp_path / f"rig{rig}"),
                "jobs": _jobs(rig), "barrier": str(barrier)}  # fmt: skip
        workers.append(subprocess.Popen([sys.executable, str(HERE / "rig_worker.py"), json.dumps(spec)], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    deadline = time.monotonic() + 300  # a bound for a broken worker, not a speed expected
    while len(list(tmp_path.glob("go.ready-*"))) < RIGS and time.monotonic() < deadline:
        assert all(worker.poll() is None for worker in workers), "a rig exited before the start"
        time.sleep(0.05)
    barrier.write_text("go")
    lines = []
    for worker in workers:
        out, err = worker.communicate(timeout=1800)
        assert worker.returncode == 0, err[-3000:]
        lines += out.splitlines()
    assert len(lines) == RIGS * SESSIONS and all(line.startswith("ok ") for line in lines), [
        line for line in lines if not line.startswith("ok ")
    ][:5]

    launched = {subject: sorted(n for _, s, n, _ in (line.split() for line in lines) if s == subject)
                for subject in SUBJECTS}  # fmt: skip
    for subject in SUBJECTS:
        rows = store.session_rows(subject)  # oldest first: the order they were recorded
        assert sorted(r["session"] for r in rows) == launched[subject], f"{subject}: lost or duplicated"
        assert all(r["status"] == "ok" and r["attempts"] == 1 for r in rows)
        seen = [r["suggestion"]["decision"]["previous_sessions"] for r in rows]
        assert seen == list(range(len(rows))), f"{subject}: a launch missed a session recorded before it: {seen}"
        assert rows[0]["stage_before"] == "stage_a"
        for previous, row in itertools.pairwise(rows):
            assert row["stage_before"] == previous["stage_after"], f"{subject} {row['session']}: wrong start"
            assert row["input_trainer_state"] == previous["trainer_state"]
        rigs = {Path(r["session_path"]).parent.name for r in rows}
        assert len(rigs) >= 4, f"{subject} ran on {sorted(rigs)}: the test must move subjects between rigs"
    assert len(store.session_rows()) == RIGS * SESSIONS
    store.close()
