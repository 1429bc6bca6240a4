"""Training subjects in forked worker processes, so that a Ctrl-C or a killed run leaves nothing behind.

Not ``multiprocessing.Pool``: on a failure its ``terminate()`` kills workers, and one killed while holding the
task queue's lock hangs ``terminate()`` for ever (seen on a busy machine). A ``ProcessPoolExecutor`` instead:
on a failure the subjects not started are cancelled and the running ones finish.

A Ctrl-C reaches every process of the run (the terminal signals its process group). A worker must not be
interrupted inside the pool's queues (one holding a queue's lock would hang the others and the shutdown):
its handler only asks the subject in training to stop at its next session (``stop_requested``), which
ends it through its own cleanup, while the parent cancels the rest and waits. A worker whose parent is gone
(killed: it could not stop the pool) interrupts itself the same way, and exits after a grace period rather
than wait for work for ever.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from ._signals import interrupts_ignored

Result = TypeVar("Result")

#: How often a worker checks that the process that forked it is still there.
PARENT_POLL_S = 0.5
#: Seconds at most a worker whose parent is gone gives its subject's run to end (its cleanup) before it exits.
ORPHAN_GRACE_S = 10.0

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

    signal.signal(signal.SIGINT, on_interrupt)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        main = threading.main_thread().ident
        if main is not None:  # a real signal to the main thread: it also wakes it from a blocking wait
            signal.pthread_kill(main, signal.SIGINT)
        end = time.monotonic() + ORPHAN_GRACE_S
        while _busy.is_set() and time.monotonic() < end:  # the subject's run ends through its cleanup
            time.sleep(0.02)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
