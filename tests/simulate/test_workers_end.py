"""Forked workers never outlive the run, and a Ctrl-C ends it cleanly: every process of the run gets the
signal (as from a terminal), the subjects in training stop at their next session, and nothing is left (no
worker, no scratch directory, no ``--out`` it made). When the process that forked the workers is killed (it
cannot stop them), they end too, through the same cleanup. Real processes."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import alive

HERE = Path(__file__).resolve().parent
PROGRAM = "import sys; from curriculum_contract.sdk import main; main(sys.argv[1:], specs=['tiny_curriculum:SPEC'])"
ARGS = ["simulate", "--subjects", "6", "--sessions", "200", "--workers", "2", "--learner",
        "tiny_curriculum:slow_learner"]  # fmt: skip
#: Generous bounds: a loaded machine may take long to schedule the processes.
ENDED_WITHIN_S = 60.0
#: A Ctrl-C ends the run at the subjects' next sessions (a fifth of a second each here: under a second on an
#: idle machine); a worker interrupted inside the pool's queues took 40-80 s (or hung for ever).
CTRL_C_ENDS_WITHIN_S = 30.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX groups, /proc")


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The run in a process group of its own, once both workers are in a session; its pid and scratch folders."""
    pids, scratch = tmp_path / "pids", tmp_path / "scratch"
    pids.mkdir()
    scratch.mkdir()
    env = {**os.environ, "SIMULATE_PIDS": str(pids), "TMPDIR": str(scratch),
           "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}  # fmt: skip
    run = subprocess.Popen([sys.executable, "-c", PROGRAM, *ARGS, *args], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    while len(list(pids.iterdir())) < 2:
        assert run.poll() is None, "the run ended before its workers started"
        time.sleep(0.05)
    return run, pids, scratch


def gone(pids: Path) -> list[int]:
    """The workers (every pid but none) still alive after waiting up to ``ENDED_WITHIN_S``."""
    workers = [int(path.name) for path in pids.iterdir()]
    end = time.monotonic() + ENDED_WITHIN_S
    while any(alive(pid) for pid in workers) and time.monotonic() < end:
        time.sleep(0.1)
    return [pid for pid in workers if alive(pid)]


@pytest.mark.parametrize("second", [None, 0.05, 0.5])
def test_ctrl_c_ends_the_run_with_130_and_leaves_nothing(second: float | None, tmp_path: Path) -> None:
    """Also when a second Ctrl-C follows (``timeout`` and ``uv run`` may deliver two): it must not cut the
    cleanup of the first short (a pool's shutdown hung, a staged folder was half removed)."""
    out = tmp_path / "new" / "out"
    run, pids, scratch = start(tmp_path, "--keep-sessions", "--out", str(out))
    os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    if second is not None:
        time.sleep(second)
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.killpg(run.pid, signal.SIGINT)
    try:
        _, stderr = run.communicate(timeout=CTRL_C_ENDS_WITHIN_S)
    finally:
        if run.poll() is None:  # it did not end: leave nothing running either
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    # 130; or killed by the second Ctrl-C (-SIGINT, which a shell shows as 130) when it came after the cleanup,
    # while the interpreter was exiting: either way with the one error line, and nothing left (below)
    assert run.returncode in (130, -signal.SIGINT), stderr.decode()[-2000:]
    assert stderr.decode().startswith("curriculum: error: interrupted (Ctrl-C)"), stderr.decode()[-2000:]
    assert gone(pids) == [], "a worker outlived the run"
    assert not (tmp_path / "new").exists(), "the --out it made (and its staged sessions) is removed"
    assert list(scratch.iterdir()) == [], "every scratch directory is removed"


def test_workers_end_when_the_run_is_killed(tmp_path: Path) -> None:
    run, pids, scratch = start(tmp_path, "--out", str(tmp_path / "out"))
    run.send_signal(signal.SIGKILL)
    run.communicate()
    assert run.pid not in [int(path.name) for path in pids.iterdir()]
    assert gone(pids) == [], "a worker outlived the run"
    assert list(scratch.iterdir()) == [], "the workers removed their scratch directories on the way out"


@pytest.mark.parametrize(
    ("signum", "to_group"), [(signal.SIGTERM, False), (signal.SIGHUP, False), (signal.SIGTERM, True)]
)
def test_sigterm_and_sighup_end_the_run_as_ctrl_c_does(signum: int, to_group: bool, tmp_path: Path) -> None:
    """``kill PID``, a cancelled job or ``timeout`` (to the program alone), a closed terminal, a killed process
    group (the workers get it too): the run stops its workers and cleans up, as after a Ctrl-C, and exits
    128 + the signal's number. By default Python died at once, leaving its workers training."""
    out = tmp_path / "new" / "out"
    run, pids, scratch = start(tmp_path, "--keep-sessions", "--out", str(out))
    if to_group:
        os.killpg(run.pid, signum)
    else:
        run.send_signal(signum)
    try:
        _, stderr = run.communicate(timeout=CTRL_C_ENDS_WITHIN_S)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    name = signal.Signals(signum).name
    assert run.returncode == 128 + signum, stderr.decode()[-2000:]
    assert stderr.decode().startswith(f"curriculum: error: interrupted ({name}): nothing more was done\n"), (
        stderr.decode()[-2000:]
    )
    assert gone(pids) == [], "a worker outlived the run"
    assert not (tmp_path / "new").exists(), "the --out it made (and its staged sessions) is removed"
    assert list(scratch.iterdir()) == [], "every scratch directory is removed"
