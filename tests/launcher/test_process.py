"""run_process and the command lines, against real misbehaving programs (small scripts run by Python).

Every program gets the default timeout except the one that hangs on purpose: a busy machine makes them
slower, never a different outcome. No test measures how long anything took.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from curriculum_contract.launcher_adapter import _process
from curriculum_contract.launcher_adapter._errors import ContractViolation, ProcessFailed, TimedOut
from curriculum_contract.launcher_adapter._launch import DEFAULT_TIMEOUT_S
from curriculum_contract.launcher_adapter._process import (
    build_init_argv,
    build_run_argv,
    clean_environment,
    run_process,
)
from curriculum_contract.launcher_adapter._validate import parse_output

SCRIPTS = Path(__file__).parent / "misbehaving"
#: The hanging program's timeout: short, since it hangs for sure, but ample for it to start (well under 1 s loaded).
HANG_TIMEOUT_S = 3.0
#: How long a killed process may take to disappear before the test calls it a survivor (polled; rarely waited).
GONE_WITHIN_S = 60.0


def run_script(name: str, *args: str | Path, cwd: Path, timeout_s: float = DEFAULT_TIMEOUT_S, **kwargs) -> object:
    return run_process([sys.executable, SCRIPTS / name, *map(str, args)], cwd=cwd, timeout_s=timeout_s, **kwargs)


def gone(pid: int) -> bool:
    """The process no longer runs: it does not exist, or it is a zombie waiting for a reaper."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(b")") + 2 :].split()[0] == b"Z"


def wait_gone(pid: int, within_s: float = GONE_WITHIN_S) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if gone(pid):
            return True
        time.sleep(0.02)
    return gone(pid)


def test_exit_nonzero_is_returned_and_becomes_process_failed(tmp_path: Path) -> None:
    result = run_script("exit_nonzero.py", cwd=tmp_path)
    assert result.exit_code == 4
    assert result.stdout == b""
    error = ProcessFailed.from_result(result)
    assert error.child_exit_code == 4
    assert "exited with code 4" in str(error)
    assert "trials.csv has no 'outcome' column" in str(error)
    assert "\n" not in str(error)
    assert error.stderr_tail.endswith("no 'outcome' column\n")
    assert error.argv == result.argv


def test_killed_by_signal_names_the_signal(tmp_path: Path) -> None:
    result = run_script("killed_by_signal.py", cwd=tmp_path)
    assert result.exit_code == -signal.SIGKILL
    error = ProcessFailed.from_result(result)
    assert "killed by SIGKILL" in str(error)
    assert "allocating a huge array" in str(error)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to prove the processes are gone")
def test_timeout_kills_the_program_and_its_hanging_child(tmp_path: Path) -> None:
    """The real timeout: the outcome is typed and the whole group is gone (how long it took is not asserted)."""
    pidfile = tmp_path / "pids"
    with pytest.raises(TimedOut) as caught:
        run_script("hang_with_child.py", pidfile, cwd=tmp_path, timeout_s=HANG_TIMEOUT_S, kill_grace_s=0.3)
    assert pidfile.is_file(), f"the program did not get to write its pids within {HANG_TIMEOUT_S} s"
    parent, child = map(int, pidfile.read_text().split())
    assert wait_gone(parent) and wait_gone(child), "a process of the timed-out group survived"
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert error.timeout_s == HANG_TIMEOUT_S
    assert f"did not finish within {HANG_TIMEOUT_S:g} s; its process group was killed" in str(error)
    assert "waiting for something that never comes" in error.stderr_tail  # printed before the pids


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to prove the process is gone")
def test_child_left_behind_after_a_normal_exit_is_killed(tmp_path: Path) -> None:
    """The child would sleep for 600 s: it is gone only if run_process killed it (no time is measured)."""
    pidfile = tmp_path / "pid"
    result = run_script("leaves_child.py", pidfile, cwd=tmp_path)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"done": True}
    assert wait_gone(int(pidfile.read_text()))


def test_flood_of_output_is_capped_without_blocking_the_program(tmp_path: Path) -> None:
    cap = 1 << 20
    result = run_script("flood.py", cwd=tmp_path, max_output_bytes=cap)
    assert result.exit_code == 0  # it could write all 100 MB: nothing blocked
    assert result.stdout_truncated and len(result.stdout) == cap
    assert result.stderr == b"flood done\n" and not result.stderr_truncated
    with pytest.raises(ContractViolation, match=f"more than {cap} bytes"):
        parse_output(result.stdout, truncated=result.stdout_truncated)


def test_stderr_keeps_its_tail_when_capped(tmp_path: Path) -> None:
    result = run_script("stderr_flood.py", cwd=tmp_path, max_output_bytes=64 * 1024)
    assert result.stderr_truncated
    assert len(result.stderr) == 64 * 1024
    assert result.stderr.endswith(b"RuntimeError: the line that matters\n")
    assert "the line that matters" in str(ProcessFailed.from_result(result))


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("text_before_json.py", "text before the JSON document"),
        ("two_documents.py", "more than one JSON document"),
        ("invalid_json.py", "not valid JSON"),
        ("wrong_shape.py", "neither a contract document"),
    ],
)
def test_bad_outputs_end_in_contract_violations(tmp_path: Path, script: str, message: str) -> None:
    result = run_script(script, tmp_path, cwd=tmp_path)
    assert result.exit_code == 0
    with pytest.raises(ContractViolation, match=message):
        parse_output(result.stdout)


def test_program_gets_a_clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", "/somewhere/.venv")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/src")
    monkeypatch.setenv("PYTHONHOME", "/somewhere")
    monkeypatch.setenv("LAUNCHER_SECRET_TOKEN", "x")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    probe = tmp_path / "probe.py"
    probe.write_text("import json, os; print(json.dumps(dict(os.environ)))", encoding="utf-8")
    result = run_process([sys.executable, str(probe)], cwd=tmp_path, timeout_s=DEFAULT_TIMEOUT_S)
    seen = json.loads(result.stdout)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LAUNCHER_SECRET_TOKEN"):
        assert name not in seen
    assert seen["LC_ALL"] == "C.UTF-8"
    assert seen["PATH"] == os.environ["PATH"]
    assert seen["PYTHONUNBUFFERED"] == "1" and seen["PYTHONIOENCODING"] == "utf-8" and seen["NO_COLOR"] == "1"


def test_clean_environment_extra_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", "/somewhere/.venv")
    env = clean_environment({"MPLBACKEND": "Agg", "NO_COLOR": "0"})
    assert env["MPLBACKEND"] == "Agg" and env["NO_COLOR"] == "0"
    assert "VIRTUAL_ENV" not in env


def test_cwd_is_honoured(tmp_path: Path) -> None:
    result = run_process(
        [sys.executable, "-c", "import os; print(os.getcwd())"], cwd=tmp_path, timeout_s=DEFAULT_TIMEOUT_S
    )
    assert Path(result.stdout.decode().strip()) == tmp_path.resolve()
    assert result.duration_s > 0


def test_contract_run_argv(tmp_path: Path) -> None:
    exe = tmp_path / "curriculum"
    argv = build_run_argv(
        exe,
        "contract",
        Path("session"),
        input_trainer_state=Path("state.json"),
        curriculum_name="demo",
        opts={"reward": "3", "mode": "a=b"},
    )
    assert argv == [
        str(exe), "run", "--path", os.path.abspath("session"),
        "--input-trainer-state", os.path.abspath("state.json"), "--curriculum", "demo",
        "--opt", "reward=3", "--opt", "mode=a=b",
    ]  # fmt: skip
    assert build_run_argv(exe, "contract", tmp_path) == [str(exe), "run", "--path", str(tmp_path)]


def test_aind_run_argv(tmp_path: Path) -> None:
    exe = tmp_path / "curriculum"
    state = tmp_path / "state.json"
    assert build_run_argv(exe, "aind", tmp_path, input_trainer_state=state, curriculum_name="depletion") == [
        str(exe), "run", "--data-directory", str(tmp_path), "--input-trainer-state", str(state),
        "--curriculum", "depletion",
    ]  # fmt: skip


def test_aind_dialect_requires_a_trainer_state_and_refuses_opts(tmp_path: Path) -> None:
    exe = tmp_path / "curriculum"
    with pytest.raises(ValueError, match="requires an input trainer state"):
        build_run_argv(exe, "aind", tmp_path)
    with pytest.raises(ValueError, match="has no --opt; cannot pass reward"):
        build_run_argv(exe, "aind", tmp_path, input_trainer_state=tmp_path / "s.json", opts={"reward": "3"})


@pytest.mark.parametrize("key", ["", "a=b", " padded"])
def test_bad_opt_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="--opt key"):
        build_run_argv(tmp_path / "curriculum", "contract", tmp_path, opts={key: "1"})


def test_unknown_dialect_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        build_run_argv(tmp_path / "curriculum", "bonsai", tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown dialect"):
        build_init_argv(tmp_path / "curriculum", "bonsai")  # type: ignore[arg-type]


def test_init_argv(tmp_path: Path) -> None:
    exe = tmp_path / "curriculum"
    assert build_init_argv(exe, "contract") == [str(exe), "init"]
    assert build_init_argv(exe, "contract", stage="s2", curriculum_name="demo") == [
        str(exe), "init", "--curriculum", "demo", "--stage", "s2",
    ]  # fmt: skip
    assert build_init_argv(exe, "aind", curriculum_name="depletion") == [str(exe), "init", "--curriculum", "depletion"]
    with pytest.raises(ValueError, match="requires a curriculum name"):
        build_init_argv(exe, "aind", stage="s2")


def test_a_program_that_cannot_start_is_a_process_failure(tmp_path: Path) -> None:
    missing = tmp_path / ".venv" / "bin" / "curriculum"
    with pytest.raises(ProcessFailed, match=f"cannot start {missing}: No such file or directory") as caught:
        run_process([missing, "run"], cwd=tmp_path, timeout_s=DEFAULT_TIMEOUT_S)
    assert caught.value.child_exit_code == 127
    not_executable = tmp_path / "curriculum"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(ProcessFailed, match="Permission denied") as caught:
        run_process([not_executable], cwd=tmp_path, timeout_s=DEFAULT_TIMEOUT_S)
    assert caught.value.child_exit_code == 126


@pytest.mark.parametrize("interrupted", ["the first drain", "the second drain"])
def test_an_interruption_right_after_the_start_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupted: str
) -> None:
    """Ctrl-C between starting the program and watching it: the program is still killed and reaped, and
    its pipes closed (a leak would be a running supervisor and a ResourceWarning, an error in this suite)."""
    pids: list[int] = []
    original_popen, original_start = _process.subprocess.Popen, _process._Drain.start
    starts = {"the first drain": 1, "the second drain": 2}[interrupted]

    def popen(*args: object, **kwargs: object) -> object:
        proc = original_popen(*args, **kwargs)  # type: ignore[call-overload]
        pids.append(proc.pid)
        return proc

    def start(self: object) -> None:
        nonlocal starts
        starts -= 1
        if starts == 0:
            raise KeyboardInterrupt
        original_start(self)  # type: ignore[arg-type]

    monkeypatch.setattr(_process.subprocess, "Popen", popen)
    monkeypatch.setattr(_process._Drain, "start", start)
    with pytest.raises(KeyboardInterrupt):
        run_script("hang_with_child.py", tmp_path / "pids", cwd=tmp_path)
    assert pids and gone(pids[0]), "the supervised program was left running"
    gc.collect()  # a Popen or pipe left open warns here, and warnings are errors in this suite
