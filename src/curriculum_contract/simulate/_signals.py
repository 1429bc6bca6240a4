"""A second Ctrl-C must not cut the cleanup of the first short: the cleanup runs with Ctrl-C ignored.

A terminal (``timeout``, ``uv run``) may deliver SIGINT twice a few milliseconds apart; one that lands in the
pool's shutdown or in the removal of a staged directory would leave a hung run or a half-removed ``--out``.
The cleanup is bounded (the subjects stop at their next session), so nothing is lost by deferring it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore SIGINT in the block (main thread only: elsewhere signals are not ours to set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
