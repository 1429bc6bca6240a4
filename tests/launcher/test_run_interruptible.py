"""``run_interruptible`` (what ``curriculum-contract simulate`` runs the curriculum's program with): Ctrl-C
reaches the program as at a terminal, it ends its own run, then nothing of its group is left. Real
processes; the Ctrl-C is a SIGALRM handler raising KeyboardInterrupt in this (the main) thread."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from processes import alive

from curriculum_contract.launcher_adapter._process_group import run_interruptible

#: The program: a grandchild that ignores SIGINT (only the group kill ends it), then it waits for Ctrl-C,
#: cleans up and exits 130, as the SDK's commands do.
PROGRAM = """
import os, signal, sys, time
from pathlib import Path
here = Path(sys.argv[1])
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    (here / "grandchild").write_text(str(os.getpid()))
    time.sleep(600)
    os._exit(0)
(here / "ready").touch()
try:
    time.sleep(600)
except KeyboardInterrupt:
    (here / "cleaned").touch()
    sys.exit(130)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX groups, /proc")
def test_ctrl_c_lets_the_program_clean_up_then_kills_what_is_left(tmp_path: Path) -> None:
    def interrupt(_signum: int, _frame: object) -> None:
        if (tmp_path / "ready").exists() and (tmp_path / "grandchild").exists():
            raise KeyboardInterrupt
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # not started yet (a loaded machine): later

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_interruptible([sys.executable, "-c", PROGRAM, str(tmp_path)], cwd=tmp_path, env=dict(os.environ))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert (tmp_path / "cleaned").exists(), "the program got the Ctrl-C and ended its run"
    grandchild = int((tmp_path / "grandchild").read_text())
    for _ in range(100):  # SIGKILL is delivered at once; the kernel may take a moment to tear it down
        if not alive(grandchild):
            break
        time.sleep(0.05)
    assert not alive(grandchild), "what ignored Ctrl-C was killed with the group"


def test_a_program_that_ends_returns_its_output_and_exit_code(tmp_path: Path) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    done = run_interruptible([sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ))
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


#: What ``curriculum-contract simulate`` does around the program: SIGTERM to it alone (``kill``, a cancelled
#: job) ends it as a Ctrl-C does, the program included.
LAUNCHER = """
import os, sys
from pathlib import Path
from curriculum_contract._cli_errors import reporting_errors
from curriculum_contract.launcher_adapter._process_group import run_interruptible
from curriculum_contract.simulate._signals import ending_like_ctrl_c
with reporting_errors("launcher"), ending_like_ctrl_c():
    run_interruptible([sys.executable, "-c", sys.argv[1], sys.argv[2]], cwd=Path(sys.argv[2]), env=dict(os.environ))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX groups, /proc")
def test_sigterm_to_the_launcher_alone_ends_the_program_as_ctrl_c_does(tmp_path: Path) -> None:
    import subprocess

    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, PROGRAM, str(tmp_path)], stderr=subprocess.PIPE)
    try:
        while not ((tmp_path / "ready").exists() and (tmp_path / "grandchild").exists()):
            assert launcher.poll() is None, "the launcher ended before its program started"
            time.sleep(0.05)
        launcher.send_signal(signal.SIGTERM)
        _, stderr = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert launcher.returncode == 128 + signal.SIGTERM, stderr.decode()
    assert stderr.decode() == "launcher: error: interrupted (SIGTERM): nothing more was done\n"
    assert (tmp_path / "cleaned").exists(), "the program got the interrupt and ended its run"
    grandchild = int((tmp_path / "grandchild").read_text())
    for _ in range(100):
        if not alive(grandchild):
            break
        time.sleep(0.05)
    assert not alive(grandchild), "what ignored Ctrl-C was killed with the group"
