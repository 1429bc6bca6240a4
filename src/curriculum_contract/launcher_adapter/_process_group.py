"""Waiting for a program and ending its process group: the leader kept a zombie, the group then killed.

On POSIX the program leads its own group (a new session). Until the launcher reaps it, the exited
leader stays a zombie that holds the group id, so signalling the group can never hit an unrelated
process that reused the number. On Windows the tree is ended with ``taskkill /T``.

``run_interruptible`` runs a program the user waits for (``simulate``): Ctrl-C reaches it as it would at
the terminal, it gets a grace period to end its run (remove its scratch, stop its workers), then what is left
of its group is killed.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._supervisor import process_stats

#: How long past the kill grace the launcher waits for the supervisor to finish killing everything.
SUPERVISOR_MARGIN_S = 10.0


def _wait_exit(proc: subprocess.Popen[Any], deadline: float) -> bool:
    """Wait until the child exits or the deadline passes, WITHOUT reaping it on POSIX.

    Leaving the child a zombie keeps its pid (= the group id) reserved, so signalling the group
    afterwards cannot hit an unrelated process that reused the number.
    """
    if os.name != "posix":
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        return True
    pidfd = _pidfd_open(proc.pid)
    if pidfd is not None:
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _exited(proc)
                ready, _, _ = select.select([pidfd], [], [], remaining)
                if ready:
                    return True
        finally:
            os.close(pidfd)
    delay = 0.001
    while not _exited(proc):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
    return True


def _pidfd_open(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except OSError:
        return None


def _exited(proc: subprocess.Popen[Any]) -> bool:
    """Whether the child exited; where ``waitid`` exists it stays unreaped (a zombie holding its id)."""
    if hasattr(os, "waitid"):
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    return proc.poll() is not None  # reaps: the group id may then be reused, a narrow window


def _signal_group(proc: subprocess.Popen[Any], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_leftovers(proc: subprocess.Popen[Any]) -> None:
    """The program exited: kill what it left running in its group (the zombie still holds the id)."""
    if os.name == "posix":
        _signal_group(proc, signal.SIGKILL)


def _terminate_group(proc: subprocess.Popen[Any], grace_s: float, *, supervised: bool = False) -> None:
    """SIGTERM the group, wait up to ``grace_s`` for all of it to go, then SIGKILL the group.

    A supervisor gives the program half the grace, then kills every descendant itself: it is waited
    for longer (``SUPERVISOR_MARGIN_S``), since a SIGKILL to it mid-cleanup would let a daemon escape.
    """
    if os.name != "posix":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
        return
    _signal_group(proc, signal.SIGTERM)
    end = time.monotonic() + grace_s + (SUPERVISOR_MARGIN_S if supervised else 0.0)
    while time.monotonic() < end:
        # The leader stays a zombie (unreaped), so the group exists until every member is gone.
        if _exited(proc) and not _group_has_live_members(proc.pid):
            break
        time.sleep(0.02)
    _signal_group(proc, signal.SIGKILL)


def _group_has_live_members(pgid: int) -> bool:
    """Whether a process other than a zombie remains in the group (Linux: read /proc; else assume so)."""
    if not sys.platform.startswith("linux"):
        return _group_alive(pgid)
    try:
        return any(len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z" for _pid, fields in process_stats())
    except OSError:
        return _group_alive(pgid)


#: Seconds a program interrupted with Ctrl-C has to end its own run before its group is killed.
INTERRUPT_GRACE_S = 10.0


def run_interruptible(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], grace_s: float = INTERRUPT_GRACE_S
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to its end, its output captured. Interrupted (Ctrl-C, or any exception here): SIGINT
    to its group (POSIX), up to ``grace_s`` to exit, then the group is killed, and the interruption re-raised."""
    posix = os.name == "posix"
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=posix,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate()
    except BaseException:
        if posix:
            _signal_group(proc, signal.SIGINT)
            _wait_exit(proc, time.monotonic() + grace_s)  # unreaped: the group id stays ours
            _signal_group(proc, signal.SIGKILL)
        proc.kill()
        proc.wait()
        raise
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
