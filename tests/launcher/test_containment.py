"""Nothing a curriculum starts outlives its run, or its launcher: real processes, real daemons, a real kill -9.

Bounds are generous polls (a loaded machine makes things slower, never different); no test measures time.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_curriculum import DAEMON_DELAY_S, pid_file
from launcher_support import WITHIN_S, assert_intact, make_session, session_lock_free, tree_digest, wait_until
from test_process import gone, wait_gone

from curriculum_contract.launcher_adapter import launch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="containment is Linux's (subreaper)")

HERE = Path(__file__).parent


def _pids(data: Path) -> list[int]:
    path = pid_file(data)
    return [int(line) for line in path.read_text().split()] if path.is_file() else []


def test_a_daemon_the_curriculum_left_is_gone_when_launch_returns(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    session = make_session(tmp_path / "root" / "sessions", "M1_s1")
    before = tree_digest(session)
    launch(project, session, "M1", store=store_path, environment=program_for("daemon"))
    (daemon,) = _pids(session)
    assert wait_gone(daemon), f"the daemon {daemon} outlived the launch"
    time.sleep(DAEMON_DELAY_S + 1)  # past the moment it would have written: the proof it never will
    assert tree_digest(session)["trials.csv"] == before["trials.csv"]


def test_the_daemon_check_can_fail(tmp_path: Path) -> None:
    """The checker on a bad case: the same daemon without containment does write into the session."""
    from fake_curriculum import write_program

    from curriculum_contract.launcher_adapter._process import run_process

    session = make_session(tmp_path / "root" / "sessions", "M1_s1")
    (session / "curriculum").mkdir()
    from fake_curriculum import enrollment

    (session / "curriculum" / "trainer_state.json").write_text(json.dumps(enrollment()))
    program = write_program(tmp_path / "bin", "daemon")
    before = (session / "trials.csv").read_bytes()
    run_process([program, "run", "--path", session], cwd=tmp_path, timeout_s=120, contain=False)
    (daemon,) = _pids(session)
    assert wait_until(lambda: (session / "trials.csv").read_bytes() != before), "the uncontained daemon wrote"
    assert wait_gone(daemon)


def _start_launcher(spec: dict) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "launch_worker.py"), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def _lingering_launch(project: Path, program_for, store_path: Path, session: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A launch in its own process whose curriculum has started a child and a daemon; SIGKILLed after the block."""
    spec = {
        "project": str(project), "program": str(program_for("linger").executable), "session": str(session),
        "subject": "M1", "store": str(store_path),
    }  # fmt: skip
    launcher = _start_launcher(spec)
    try:
        assert wait_until(lambda: len(_pids(session)) == 3), "the curriculum started its child and its daemon"
        yield
    finally:
        launcher.kill()
        launcher.wait()
        launcher.stdout.close()  # type: ignore[union-attr]
        launcher.stderr.close()  # type: ignore[union-attr]


def test_a_launcher_killed_by_sigkill_takes_the_curriculum_and_its_children_with_it(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    session = make_session(tmp_path / "root" / "sessions", "M1_s1")
    before = tree_digest(session)
    with _lingering_launch(project, program_for, store_path, session):
        pass  # then SIGKILL: no cleanup in the launcher at all
    for pid in _pids(session):  # the daemon, the program, its child
        assert wait_gone(pid), f"process {pid} of the curriculum outlived its launcher: {_describe(pid)}"
    # The supervisor holds the locks until it has ended the run; it may still be exiting on a busy machine.
    assert wait_until(lambda: session_lock_free(session)), "the killed run never released its lock"
    from curriculum_contract.launcher_adapter._unfinished import recover

    line = recover(session, None)
    assert "trials.csv" in line and "restored" in line, line
    assert_intact(session, before)


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def _open_paths(pid: int) -> set[str]:
    paths = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            paths.add(os.readlink(fd))
        except OSError:  # closed meanwhile
            continue
    return paths


def test_a_killed_launchers_session_lock_is_held_until_nothing_of_the_run_is_left(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    """The supervisor holds the launcher's session and preserve-folder locks (the program never does): once
    the session lock can be taken after a kill -9, every process of the curriculum is already gone."""
    from curriculum_contract.launcher_adapter._lock import session_lock_path

    enrolled("M1")
    session = make_session(tmp_path / "root" / "sessions", "M1_s1")
    lock = session_lock_path(session)
    with _lingering_launch(project, program_for, store_path, session):
        program = _pids(session)[0]
        supervisor = _parent_of(program)
        held = _open_paths(supervisor)
        assert str(lock) in held, f"the supervisor does not hold the session lock: {sorted(held)}"
        assert any(".curriculum-preserve-" in path for path in held), f"nor the preserve folder's: {sorted(held)}"
        assert str(lock) not in _open_paths(program), "the curriculum itself must not hold the launcher's lock"
    assert wait_until(lambda: session_lock_free(session)), "the session lock was never released"
    for pid in _pids(session):
        assert gone(pid), f"process {pid} of the curriculum was alive after the session lock was released"


def _lingering_run(tmp_path: Path) -> tuple[Path, threading.Thread, list[object], int]:
    """``run_process`` (in a thread) on a program whose child and double-forked daemon linger: the session,
    the thread, the list its result goes to, and the supervisor's pid, once all three processes run."""
    from fake_curriculum import enrollment, write_program

    from curriculum_contract.launcher_adapter._process import run_process

    session = make_session(tmp_path / "root" / "sessions", "M1_s1")
    (session / "curriculum").mkdir()
    (session / "curriculum" / "trainer_state.json").write_text(json.dumps(enrollment()))
    program = write_program(tmp_path / "bin", "linger")
    results: list[object] = []
    runner = threading.Thread(
        target=lambda: results.append(run_process([program, "run", "--path", session], cwd=tmp_path, timeout_s=600))
    )
    runner.start()
    assert wait_until(lambda: len(_pids(session)) == 3), "the program did not start its child and daemon"
    supervisor = _parent_of(_pids(session)[0])
    assert b"_supervisor" in Path(f"/proc/{supervisor}/cmdline").read_bytes()
    return session, runner, results, supervisor


def test_sigterm_to_the_supervisor_alone_still_kills_the_daemon(tmp_path: Path) -> None:
    """The launcher's timeout path sends SIGTERM to the supervisor: everything below it is killed, the
    program's child and its double-forked daemon included. SIGTERM is sent once the program has started
    them (its pid file is written), however long that takes on a loaded machine."""
    session, runner, results, supervisor = _lingering_run(tmp_path)
    os.kill(supervisor, signal.SIGTERM)
    runner.join(WITHIN_S)
    assert not runner.is_alive() and results, "run_process did not return after its supervisor was terminated"
    for pid in _pids(session):
        assert wait_gone(pid), f"process {pid} survived the supervisor's SIGTERM"


def test_the_supervisor_reports_the_signal_that_killed_the_program(tmp_path: Path) -> None:
    from curriculum_contract.launcher_adapter._process import run_process

    result = run_process([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
                         cwd=tmp_path, timeout_s=120)  # fmt: skip
    assert result.exit_code == -signal.SIGTERM
    result = run_process([sys.executable, "-c", "import sys; sys.exit(3)"], cwd=tmp_path, timeout_s=120)
    assert result.exit_code == 3


def _storm(pid: int, signum: int, stop: threading.Event) -> None:
    """Send ``signum`` to ``pid`` as fast as possible until ``stop`` or it has exited (a pidfd: never a stranger)."""
    pidfd = os.pidfd_open(pid)
    try:
        while not stop.is_set():
            try:
                signal.pidfd_send_signal(pidfd, signum)
            except ProcessLookupError:
                return
    finally:
        os.close(pidfd)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm_timeout", "sighup_launcher_gone"])
def test_a_storm_of_signals_cannot_cut_the_supervisors_cleanup_short(tmp_path: Path, signum: int) -> None:
    """A launcher killed outright sends the supervisor one pdeathsig (SIGHUP) per dying thread, the last ones
    while it cleans up; SIGTERM (a timeout) may come again too. However many come, whenever they land, the
    supervisor still kills everything below it, then exits (a handler that raised once let it exit early, the
    program and its daemon running on)."""
    session, runner, results, supervisor = _lingering_run(tmp_path)
    stop = threading.Event()
    storm = threading.Thread(target=_storm, args=(supervisor, signum, stop))
    storm.start()
    runner.join(WITHIN_S)
    stop.set()
    storm.join()
    left = [f"{pid} ({_describe(pid)})" for pid in _pids(session) if not wait_gone(pid)]
    assert not left, f"alive after the supervisor's end: {left}"
    assert not runner.is_alive() and results, "run_process did not return under the storm"
    assert results[0].exit_code == 128 + signal.SIGTERM  # type: ignore[attr-defined]  # the run was ended


def _describe(pid: int) -> str:
    """A process's state, parent and command line, for a failure message."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone meanwhile"
    return f"state {fields[0]}, parent {fields[1]}: {command[:120]}"
