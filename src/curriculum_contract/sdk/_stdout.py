"""Keeping stdout for the one JSON document.

While ``curriculum run`` executes, file descriptor 1 points at stderr, so ``print``, logging handlers
bound to ``sys.stdout`` and C code writing to fd 1 all land on stderr. The document is written to
a private duplicate of the original stdout, and fd 1 is never pointed back: whatever the process
prints later (atexit handlers, buffered C output) still goes to stderr.
"""

import contextlib
import ctypes
import io
import os
import sys
from collections.abc import Iterator
from typing import TextIO


def _flush_c_stdio() -> None:
    """Flush C-level stdio buffers, so bytes a C extension buffered land where fd 1 points now."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


class StdoutGuard:
    """Owns the real stdout; ``write_document`` is the only way to reach it."""

    def __init__(self) -> None:
        sys.stdout.flush()
        _flush_c_stdio()
        self._document_fd = os.dup(1)
        os.dup2(2, 1)

    def write_document(self, text: str) -> None:
        sys.stdout.flush()
        _flush_c_stdio()
        data = (text + "\n").encode("utf-8")
        while data:
            written = os.write(self._document_fd, data)
            data = data[written:]

    def close(self) -> None:
        sys.stdout.flush()
        _flush_c_stdio()
        os.close(self._document_fd)


class StreamGuard:
    """The same discipline when stdout is a Python stream without a descriptor (e.g. click's CliRunner)."""

    def __init__(self) -> None:
        self._document: TextIO = sys.stdout
        sys.stdout = sys.stderr

    def write_document(self, text: str) -> None:
        self._document.write(text + "\n")
        self._document.flush()

    def close(self) -> None:
        sys.stdout = self._document


def _has_descriptor(stream: TextIO) -> bool:
    try:
        return stream.fileno() == 1
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False


@contextlib.contextmanager
def guarded_stdout() -> Iterator[StdoutGuard | StreamGuard]:
    """Route everything written to stdout to stderr while the block runs; yield the document writer."""
    guard = StdoutGuard() if _has_descriptor(sys.stdout) else StreamGuard()
    try:
        yield guard
    finally:
        guard.close()
