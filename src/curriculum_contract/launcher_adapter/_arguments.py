"""Checking what a caller names before anything runs: text the store can record, paths as ``Path``.

A path given on a POSIX command line is bytes; Python keeps an undecodable byte as a lone surrogate
(``"\\udcff"``), which the store, the logs and stdout cannot encode. It is refused up front, typed
(``InvalidArgument``, exit 2), instead of failing half-way through a launch.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import InvalidArgument
from ._messages import not_utf8


def checked_text(value: str, what: str) -> str:
    """``value`` if it is valid UTF-8 text, else ``InvalidArgument`` naming ``what`` and the bad byte."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(not_utf8(what, value)) from None
    return value


#: A path as a caller may give it: text, bytes (a POSIX command line's), or a path object.
PathArgument = str | bytes | os.PathLike[str] | os.PathLike[bytes]


def checked_path(value: PathArgument, what: str) -> Path:
    """``value`` as a ``Path`` (bytes decoded), or ``InvalidArgument`` when it is not valid UTF-8."""
    raw = os.fspath(value)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument(not_utf8(what, raw)) from None
    return Path(checked_text(raw, what))
