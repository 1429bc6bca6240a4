"""Forked workers never outlive the run: when the process that forked them is killed (it cannot stop the
pool), they end too instead of waiting for work for ever. Real processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import alive

HERE = Path(__file__).resolve().parent
RUN = (
    "from tiny_curriculum import spec\n"
    "from curriculum_contract.simulate import Experiment\n"
    "Experiment(spec(0.8), learner='tiny_curriculum:slow_learner', subjects=4, sessions=200, workers=2).run()\n"
)
#: Generous: the workers check every half second; a loaded machine may take far longer to schedule them.
ENDED_WITHIN_S = 60.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_the_run_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "SIMULATE_PIDS": str(pids), "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    run = subprocess.Popen([sys.executable, "-c", RUN], env=env, stderr=subprocess.DEVNULL)
    try:
        while len({path.name for path in pids.iterdir()}) < 2:  # both workers are in a session
            assert run.poll() is None, "the run ended before its workers started"
            time.sleep(0.05)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    workers = [int(path.name) for path in pids.iterdir()]
    assert run.pid not in workers and len(workers) == 2
    end = time.monotonic() + ENDED_WITHIN_S
    while any(alive(pid) for pid in workers) and time.monotonic() < end:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "a worker outlived the run"
