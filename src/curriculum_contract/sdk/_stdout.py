"""Keeping stdout for the one JSON document.

While a guard is active, file descriptor 1 points at stderr, so ``print``, logging handlers bound to
``sys.stdout`` and C code writing to fd 1 all land on stderr. The command's output is written to a private
duplicate of the original stdout, and fd 1 is never pointed back: whatever the process prints later (atexit
handlers, buffered C output) still goes to stderr.

The ``curriculum`` program (``main``) installs one guard for the whole process before it imports any of the
curriculum's code (``install_guard``); ``guarded_stdout`` then reuses it. Without an installed guard,
``guarded_stdout`` makes one for its block (the older ``build_cli`` console scripts).
"""

import contextlib
import ctypes
import io
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from .._cli_errors import STDOUT_DESCRIPTORS


def _flush_c_stdio() -> None:
    """Flush C-level stdio buffers, so bytes a C extension buffered land where fd 1 points now."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


class StdoutGuard:
    """Owns the real stdout; ``write`` and ``write_document`` are the only ways to reach it."""

    def __init__(self) -> None:
        self._fd1_stream = sys.stdout  # writes to fd 1, hence to stderr from now on; flushed before every write
        sys.stdout.flush()
        _flush_c_stdio()
        self._document_fd = os.dup(1)
        os.dup2(2, 1)
        STDOUT_DESCRIPTORS.append(self._document_fd)  # a reader closing it early is a quiet stop, exit 141
        raw = io.FileIO(self._document_fd, "w", closefd=False)
        self.stream: TextIO = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", newline="\n")
        """The real stdout as a text stream (for click's own help text); flushed before every ``write``."""

    def write(self, text: str) -> None:
        """Write ``text`` as is to the real stdout, after whatever was printed before it went to stderr."""
        self._flush_noise()
        self.stream.write(text)
        self.stream.flush()

    def write_document(self, text: str) -> None:
        self.write(text + "\n")

    def _flush_noise(self) -> None:
        for stream in (sys.stdout, self._fd1_stream):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        _flush_c_stdio()

    def close(self) -> None:
        self._flush_noise()
        with contextlib.suppress(OSError, ValueError):
            self.stream.close()  # flushes; the descriptor itself is closed next (the wrapper does not own it)
        STDOUT_DESCRIPTORS.remove(self._document_fd)
        os.close(self._document_fd)


class StreamGuard:
    """The same discipline when stdout is a Python stream without a descriptor (e.g. click's CliRunner)."""

    def __init__(self) -> None:
        self.stream: TextIO = sys.stdout
        sys.stdout = sys.stderr

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def write_document(self, text: str) -> None:
        self.write(text + "\n")

    def close(self) -> None:
        sys.stdout = self.stream


Guard = StdoutGuard | StreamGuard

_installed: list[Guard] = []  # the process-wide guard of ``install_guard``, or the guard of the open block


def _has_descriptor(stream: TextIO) -> bool:
    try:
        return stream.fileno() == 1
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False


def _new_guard() -> Guard:
    return StdoutGuard() if _has_descriptor(sys.stdout) else StreamGuard()


@contextlib.contextmanager
def install_guard() -> Iterator[Guard]:
    """Guard stdout until the block ends: the ``curriculum`` program's first act, before any import of
    curriculum code. Inside, ``guarded_stdout`` reuses this guard instead of making another."""
    if _installed:
        yield _installed[-1]
        return
    guard = _new_guard()
    _installed.append(guard)
    try:
        yield guard
    finally:
        _installed.remove(guard)
        guard.close()


@contextlib.contextmanager
def guarded_stdout() -> Iterator[Guard]:
    """Route everything written to stdout to stderr while the block runs; yield the writer of the real stdout.

    An already active guard is reused: a second one would duplicate fd 1, which then points at stderr.
    """
    with install_guard() as guard:
        previous = sys.stdout
        sys.stdout = sys.stderr  # also when an outer block had handed sys.stdout to click (``main``)
        try:
            yield guard
        finally:
            sys.stdout = previous
