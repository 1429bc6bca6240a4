"""How a run meets the signals that end it: SIGTERM and SIGHUP end it as Ctrl-C does, and no signal cuts the
cleanup of the first one short (it runs with them ignored).

``kill PID``, a job's cancel, ``timeout`` and a closed terminal send SIGTERM or SIGHUP to the program alone:
by default Python dies at once, its workers keep training and its scratch stays. A terminal (``timeout``,
``uv run``) may deliver SIGINT twice a few milliseconds apart; one that lands in the pool's shutdown or in the
removal of a staged directory would leave a hung run or a half-removed ``--out``. The cleanup is bounded (the
subjects stop at their next session), so nothing is lost by deferring it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from .._errors import Terminated

#: The signals besides SIGINT that end a run (those this platform has).
ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def ending_like_ctrl_c() -> Iterator[None]:
    """In the block, SIGTERM and SIGHUP raise :class:`Terminated` (a ``KeyboardInterrupt``): the run cleans up as
    after a Ctrl-C. One ignored when the block starts (``nohup``) stays ignored. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in ENDING_SIGNALS}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, _terminate)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore SIGINT, SIGTERM and SIGHUP in the block (main thread only: elsewhere signals are not ours to set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, *ENDING_SIGNALS)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
