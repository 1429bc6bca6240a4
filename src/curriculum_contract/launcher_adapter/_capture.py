"""Capturing a program's output: each pipe drained to EOF by its own thread into a capped buffer.

Both pipes drain at once, so a chatty program never blocks on a full pipe; past the cap the bytes are
read and discarded.
"""

from __future__ import annotations

import os
import threading
from typing import IO, Literal

_READ_CHUNK = 1 << 16


class _Drain(threading.Thread):
    """Reads a pipe to EOF into a capped buffer; past the cap it keeps reading and discards.

    ``keep="head"`` keeps the first bytes (stdout: a document that does not fit is rejected anyway);
    ``keep="tail"`` keeps the last ones (stderr: a traceback ends the stream).
    """

    def __init__(self, stream: IO[bytes], cap: int, keep: Literal["head", "tail"]) -> None:
        super().__init__(daemon=True)
        self.fd = stream.fileno()
        self.stream = stream
        self.cap = cap
        self.keep = keep
        self.buffer = bytearray()
        self.total = 0

    def run(self) -> None:
        # The thread owns the stream and closes it at EOF: closing it from outside while a read is
        # pending could let the descriptor number be reused under that read.
        try:
            while chunk := os.read(self.fd, _READ_CHUNK):
                self.total += len(chunk)
                if self.keep == "head":
                    room = self.cap - len(self.buffer)
                    if room > 0:
                        self.buffer += chunk[:room]
                else:
                    self.buffer += chunk
                    if len(self.buffer) > 2 * self.cap:
                        del self.buffer[: len(self.buffer) - self.cap]
        except OSError:
            pass
        finally:
            self.stream.close()

    def result(self) -> tuple[bytes, bool]:
        data = bytes(self.buffer if self.keep == "head" else self.buffer[-self.cap :] if self.cap else b"")
        return data, self.total > self.cap
