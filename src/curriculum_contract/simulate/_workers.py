"""Training subjects in forked worker processes, so that a Ctrl-C or a killed run leaves nothing behind.

Not ``multiprocessing.Pool``: on a failure its ``terminate()`` kills workers, and one killed while holding the
task queue's lock hangs ``terminate()`` for ever (seen on a busy machine). A ``ProcessPoolExecutor`` instead:
on a failure the subjects not started are cancelled and the running ones finish.

A Ctrl-C reaches every process of the run (the terminal signals its process group). A worker must not be
interrupted inside the pool's queues (one holding a queue's lock would hang the others and the shutdown):
its handler only asks the subject in training to stop at its next session (``stop_requested``), which
ends it through its own cleanup, while the parent cancels the rest and waits. A parent that is interrupted
otherwise (SIGTERM to it alone, a failure) asks its workers the same with ``STOP_SIGNAL``. A worker whose
parent is gone (killed: it could not stop the pool), or that gets SIGTERM or SIGHUP itself (a process group
killed), stops its subject the same way, and exits once it is idle or after a grace period rather than wait
for work for ever.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from ._signals import ENDING_SIGNALS, interrupts_ignored

Result = TypeVar("Result")

#: How often a worker checks that the process that forked it is still there.
PARENT_POLL_S = 0.5
#: Seconds at most a worker whose parent is gone gives its subject's run to end (its cleanup) before it exits.
ORPHAN_GRACE_S = 10.0
#: What a parent sends its workers to ask their subjects to stop at the next session (whatever SIGINT does there).
STOP_SIGNAL = getattr(signal, "SIGUSR1", None)

_stop = threading.Event()
_busy = threading.Event()  # a task is running in this worker
_task: Callable[[int], Any] | None = None


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def stop_requested() -> bool:
    """In a worker: a Ctrl-C (or the parent's death) asked the subject in training to stop."""
    return _stop.is_set()


def map_in_workers(task: Callable[[int], Result], count: int, workers: int) -> list[Result]:
    """``task(index)`` for ``index`` in ``range(count)``, in order, over ``workers`` forked processes (in this
    process when there is one, or no fork); the first failure, as in-process."""
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [task(index) for index in range(count)]
    global _task  # the forked workers inherit it: the task need not be picklable
    _task = task
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_in_worker, initargs=(os.getpid(),))
    try:
        return list(pool.map(_run_task, range(count)))  # map: results in index order
    except BaseException:  # the subjects in training stop at their next session, as after a Ctrl-C
        for child in multiprocessing.active_children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, STOP_SIGNAL)  # type: ignore[arg-type]  # forked: POSIX
        raise
    finally:
        with interrupts_ignored():  # a second Ctrl-C inside the shutdown would hang it
            pool.shutdown(wait=True, cancel_futures=True)
        _task = None


def _run_task(index: int) -> Any:
    assert _task is not None, "set by map_in_workers before the fork"
    _busy.set()
    try:
        return _task(index)
    finally:
        _busy.clear()


def _in_worker(parent: int) -> None:
    """A worker's set-up: Ctrl-C asks its subject to stop (see the module doc); it watches its parent."""

    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # as the parent was started (a background job)

    def on_interrupt(_signum: int, _frame: object) -> None:
        if os.getppid() != parent:  # the parent is gone: nobody will read a result, end now
            _stop.set()
            raise KeyboardInterrupt
        if not ignored:
            _stop.set()

    def on_ending(_signum: int, _frame: object) -> None:
        _stop.set()
        threading.Thread(target=_exit_when_idle, name="end-on-signal", daemon=True).start()

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(STOP_SIGNAL, lambda _signum, _frame: _stop.set())  # type: ignore[arg-type]  # forked: POSIX
    for sig in ENDING_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, on_ending)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        main = threading.main_thread().ident
        if main is not None:  # a real signal to the main thread: it also wakes it from a blocking wait
            signal.pthread_kill(main, signal.SIGINT)
        _exit_when_idle()

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _exit_when_idle() -> None:
    """Exit once the subject in training has ended through its cleanup (``ORPHAN_GRACE_S`` at most)."""
    end = time.monotonic() + ORPHAN_GRACE_S
    while _busy.is_set() and time.monotonic() < end:
        time.sleep(0.02)
    os._exit(1)
