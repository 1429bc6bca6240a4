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
- it asks for ``SIGHUP`` when the launcher dies (``PR_SET_PDEATHSIG``; a SIGKILLed launcher or a
  crashed one included), and checks ``getppid()`` after asking, for a launcher that died before. A
  signal of its own, not the timeout's ``SIGTERM``: the kernel sends it each time the supervisor is
  re-parented, so a multi-threaded launcher killed outright sends it once per dying thread, and for
  all but the last the parent's pid is still the launcher's (a sibling thread adopts the supervisor),
  so ``getppid()`` cannot tell a dying launcher from a timeout;
- when the program exits, when the launcher dies, or after ``SIGTERM`` (the launcher's timeout) and a
  grace period, it kills every remaining descendant and reaps it: it SIGKILLs its **direct children**
  only (a child's pid cannot be reused before its parent reaps it, so the signal cannot hit a stranger),
  reaps what exited, and repeats, listing its children afresh each round; each killed child's own
  children are re-parented to it and killed in the next round. ``waitpid`` failing with ``ECHILD``
  proves that no descendant is left;
- signals only set a flag and wake its one loop (``signal.set_wakeup_fd``): a handler never raises, so
  no signal, however many and whenever they come, can cut the cleanup short (an exception from a third
  SIGTERM once let it exit with the program still running);
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
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: How often the supervisor checks for a dead launcher where there is no ``PR_SET_PDEATHSIG``, and lists its
#: children again while a killed one is still dying.
POLL_S = 0.05
LINUX = sys.platform.startswith("linux")


class _Events:
    """What the signals said, as flags; ``wake`` is readable once a signal came (the self-pipe trick)."""

    def __init__(self) -> None:
        self.terminate = False  # SIGTERM: the launcher's timeout (or anyone's kill): a grace, then the end
        self.orphaned = False  # SIGHUP, the pdeathsig: the launcher is gone: the end now
        self.wake, writer = os.pipe()  # not inherited by the program (PEP 446)
        for end in (self.wake, writer):
            os.set_blocking(end, False)
        signal.set_wakeup_fd(writer, warn_on_full_buffer=False)  # a burst fills it: no matter
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_signal)
        signal.signal(signal.SIGCHLD, self._on_signal)  # a handler (not SIG_IGN, which would reap for us)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGTERM:
            self.terminate = True
        elif signum == signal.SIGHUP:
            self.orphaned = True

    def sleep(self, timeout_s: float | None) -> None:
        """Until a signal comes (a child's exit included) or ``timeout_s`` passes (None: no limit)."""
        select.select([self.wake], [], [], timeout_s)
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wake, 512):
                pass


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


def _kill_all_descendants(events: _Events) -> None:
    """SIGKILL and reap every descendant, round after round, until none is left (ECHILD)."""
    if not LINUX:  # no subreaper, no /proc: the process group is all we can reach (best effort)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(0), signal.SIGTERM)  # only sets a flag in the supervisor itself
    while True:
        if LINUX:
            for pid in _direct_children():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return
        events.sleep(POLL_S)  # a child still dying, or one the listing missed: list again


def _wait_program(pid: int, parent: int, grace_s: float, events: _Events) -> int | None:
    """The program's wait status once it exits, reaping re-parented orphans meanwhile; None when the run
    must end first: the launcher died, or ``grace_s`` passed since its SIGTERM."""
    grace_end = None
    while True:
        try:
            while True:
                done, status = os.waitpid(-1, os.WNOHANG)
                if done == pid:
                    return status
                if done == 0:
                    break
        except ChildProcessError:  # cannot be: the program is ours until we reap it
            return None
        if events.orphaned or (not LINUX and parent and os.getppid() != parent):
            return None
        timeout_s = None if LINUX else POLL_S
        if events.terminate:
            if grace_end is None:
                grace_end = time.monotonic() + grace_s
            left = grace_end - time.monotonic()
            if left <= 0:
                return None
            timeout_s = min(left, timeout_s or left)
        events.sleep(timeout_s)


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
    events = _Events()
    if LINUX:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGHUP)
    status = None
    if not (parent and os.getppid() != parent):  # else the launcher died before pdeathsig was armed
        try:
            child = subprocess.Popen(program, stdin=subprocess.DEVNULL, close_fds=True)
        except OSError as exc:
            if status_fd >= 0:
                report = {"errno": exc.errno, "strerror": exc.strerror or str(exc), "filename": program[0]}
                os.write(status_fd, (json.dumps(report) + "\n").encode())
            os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
        if status_fd >= 0:
            os.close(status_fd)
        status = _wait_program(child.pid, parent, grace_s, events)
    _kill_all_descendants(events)
    if status is None:
        os._exit(128 + signal.SIGTERM)
    _exit_like(status)


if __name__ == "__main__":
    main(sys.argv[1:])
