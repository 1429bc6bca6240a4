"""The text an error keeps of a program's streams: a stderr tail, a stdout head, the reason line, a signal's name.

Apart from the exception classes (``_errors``) because the process runner and the bootstrap use these
helpers on their own, to word a message before any error exists.
"""

from __future__ import annotations

import signal

#: How much of a stream an error keeps (characters): enough for a traceback's last frames.
TAIL_CHARS = 2000


def tail_text(data: bytes | str, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of a stream, decoded leniently, from a line's start (a cut line is dropped)."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    start = tail.find("\n") + 1
    return tail[start:] if 0 < start < len(tail) else tail  # one line longer than the limit: its end


def head_text(data: bytes | str, limit: int = TAIL_CHARS) -> str:
    """The first ``limit`` characters of a stream, decoded leniently."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[:limit]


#: How the SDK's ``curriculum`` program starts its one-line reason on stderr (docs/contract.md, section 4).
REASON_PREFIX = "curriculum: error: "


def reason_line(stderr: bytes | str) -> str | None:
    """The first stderr line that starts with ``curriculum: error: ``, without the prefix; None without one.

    What the curriculum's own code printed may come before it, a traceback after it.
    """
    data = stderr.encode("utf-8", errors="replace") if isinstance(stderr, str) else stderr
    prefix = REASON_PREFIX.encode()
    pos = 0 if data.startswith(prefix) else _after(data.find(b"\n" + prefix))
    while pos >= 0:
        end = data.find(b"\n", pos)
        line = data[pos + len(prefix) : end if end >= 0 else len(data)].decode("utf-8", errors="replace").strip()
        if line:
            return line
        pos = _after(data.find(b"\n" + prefix, pos))
    return None


def _after(newline: int) -> int:
    return newline + 1 if newline >= 0 else -1


def last_line(text: str) -> str:
    """The last non-empty line of a text: usually the exception message of a traceback."""
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def signal_name(number: int) -> str:
    """``SIGKILL`` for 9; ``signal 64`` for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
