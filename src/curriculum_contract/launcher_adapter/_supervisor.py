"""Run one program so that nothing it starts outlives it, or outlives the launcher (Linux; POSIX best effort).

``run_process`` starts this file as a script (``python -I -S _supervisor.py --parent PID --grace S
--status FD --hold FD,FD -- ARGV...``; standard library only, no package import, so it costs a bare interpreter
start) instead of the program itself. Why a supervisor process rather than a subreaper in the
launcher: the launcher is a library inside someone's application, which may have threads and
children of its own; making *it* a subreaper would hand it every orphan of that application, and
nothing inside the launcher survives its own SIGKILL. A small process of ours between the two can
do both jobs:

- it makes itself a **child subreaper** (``prctl(PR_SET_CHILD_SUBREAPER)``): anything the program
  leaves orphaned — a double-forked, ``setsid`` daemon included, which escapes a process-group kill —
  is re-parented to it rather than to init;
- it asks for ``SIGTERM`` when the launcher dies (``PR_SET_PDEATHSIG``; a SIGKILLed launcher or a
  crashed one included), and checks ``getppid()`` after asking, for a launcher that died before;
- when the program exits, when the launcher dies, or on ``SIGTERM`` (the launcher's timeout), it kills
  every remaining descendant and reaps it: it SIGKILLs its **direct children** only (a child's pid
  cannot be reused before its parent reaps it, so the signal cannot hit a stranger), reaps one, and
  repeats; each killed child's own children are re-parented to it and killed in the next round.
  ``waitpid`` failing with ``ECHILD`` proves that no descendant is left;
- it keeps the ``--hold`` descriptors (the launcher's session and preserve-folder locks) open, and
  never passes them to the program: a lock outlives a killed launcher until the last descendant is
  gone, so no other launch or ``recover`` touches the session while anything of the run still lives;
- it exits with the program's exit code; a program killed by a signal is reported by dying of the
  same signal (core dumps off), so the launcher's negative ``exit_code`` means what it meant.

A failure to start the program is written to the ``--status`` descriptor as one JSON line
(``errno``, ``strerror``, ``filename``) so the launcher raises the same ``ProcessFailed`` (exit 127 or
126) as without a supervisor. The supervisor never writes to stdout, which the launcher parses.

``PR_SET_PDEATHSIG`` fires when the *thread* that started the supervisor ends: ``run_process`` starts
and waits for it in one call, so that thread lives for the whole run. macOS has neither prctl: the
supervisor then polls ``getppid()`` and kills its process group (a daemon that left the group escapes:
best effort). Windows does not use it (see ``_process``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: How often the supervisor checks for a dead launcher where there is no ``PR_SET_PDEATHSIG``.
POLL_S = 0.05
LINUX = sys.platform.startswith("linux")


class _Stop(Exception):
    """SIGTERM (the launcher's timeout) or SIGTERM from the launcher's death (pdeathsig)."""


def _on_term(_signum: int, _frame: object) -> None:
    raise _Stop


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _direct_children() -> list[int]:
    """The supervisor's live children, from /proc (Linux) — every other descendant hangs below one."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children", "rb") as listing:
            return [int(pid) for pid in listing.read().split()]
    except OSError:
        pass
    return [pid for pid, fields in process_stats() if len(fields) > 1 and int(fields[1]) == me]


def process_stats() -> Iterator[tuple[int, list[bytes]]]:
    """Each process's pid and its /proc stat fields after the command name (state ppid pgrp ...); Linux.

    Raises ``OSError`` when /proc cannot be listed; a process that ends while it is read is skipped.
    """
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        yield int(name), stat[stat.rfind(b")") + 2 :].split()


def _kill_all_descendants() -> None:
    """SIGKILL and reap every descendant, round after round, until none is left (ECHILD)."""
    if not LINUX:  # no subreaper, no /proc: the process group is all we can reach (best effort)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(0), signal.SIGTERM)  # ignored by the supervisor itself
    while True:
        if LINUX:
            for pid in _direct_children():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _wait_program(pid: int, parent: int) -> int:
    """Wait for the program, reaping re-parented orphans meanwhile; return its wait status."""
    while True:
        if LINUX:
            done, status = os.waitpid(-1, 0)
        else:
            done, status = os.waitpid(-1, os.WNOHANG)
            if done == 0:
                if os.getppid() != parent:
                    raise _Stop
                time.sleep(POLL_S)
                continue
        if done == pid:
            return status


def _wait_with_grace(pid: int, grace_s: float) -> None:
    """After SIGTERM: give the program ``grace_s`` to exit on its own (reaping whatever exits)."""
    end = time.monotonic() + grace_s
    while time.monotonic() < end:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if done == pid:
            return
        if done == 0:
            time.sleep(0.02)


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP cannot be set (nor caught)
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [number])
        os.kill(os.getpid(), number)
        time.sleep(1)  # a signal that does not kill (it should): fall through to a plain exit
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status))


def main(argv: list[str]) -> None:
    parent, grace_s, status_fd = 0, 2.0, -1
    while argv and argv[0] != "--":
        option, value, argv = argv[0], argv[1], argv[2:]
        if option == "--parent":
            parent = int(value)
        elif option == "--grace":
            grace_s = float(value)
        elif option == "--status":
            status_fd = int(value)
        # --hold FD,...: the launcher's locks, inherited open; nothing to do but not close them
    program = argv[1:]
    signal.signal(signal.SIGTERM, _on_term)
    if LINUX:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    try:
        if parent and os.getppid() != parent:  # the launcher died before pdeathsig was armed
            raise _Stop
        try:
            child = subprocess.Popen(program, stdin=subprocess.DEVNULL, close_fds=True)
        except OSError as exc:
            if status_fd >= 0:
                report = {"errno": exc.errno, "strerror": exc.strerror or str(exc), "filename": program[0]}
                os.write(status_fd, (json.dumps(report) + "\n").encode())
            os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
        if status_fd >= 0:
            os.close(status_fd)
        try:
            status = _wait_program(child.pid, parent)
        except _Stop:
            if parent and os.getppid() == parent:  # the launcher's timeout: a grace period first
                with contextlib.suppress(_Stop):
                    _wait_with_grace(child.pid, grace_s)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _kill_all_descendants()
            os._exit(128 + signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # from here on nothing may interrupt the cleanup
        _kill_all_descendants()
    except _Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _kill_all_descendants()
        os._exit(128 + signal.SIGTERM)
    _exit_like(status)


if __name__ == "__main__":
    main(sys.argv[1:])
