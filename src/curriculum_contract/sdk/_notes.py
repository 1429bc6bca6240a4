"""What a metrics function tells the SDK besides its values: the assets it created, and why a value is undefined.

Both are collected while the SDK evaluates one session (``collecting_notes``) and end up in the document:
assets in ``assets``, undefined values in ``warnings`` and in the notes of the conditions that read them.
"""

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass
class SessionNotes:
    """Declared assets (paths relative to the data directory) and undefined metrics with their reasons."""

    assets: list[str] = field(default_factory=list)
    undefined: dict[str, str] = field(default_factory=dict)


_NOTES: contextvars.ContextVar[SessionNotes | None] = contextvars.ContextVar("curriculum_notes", default=None)


@contextlib.contextmanager
def collecting_notes() -> Iterator[SessionNotes]:
    """Collect what the metrics function declares while the block runs."""
    notes = SessionNotes()
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def declare_asset(path: str | os.PathLike[str]) -> None:
    """Declare a file the metrics function created in the data directory (relative to it).

    The data directory is read-only for a curriculum except for new files declared here; they are
    listed in the document's ``assets``.
    """
    notes = _NOTES.get()
    if notes is None:
        raise RuntimeError("declare_asset() is only valid while a curriculum evaluates a session")
    notes.assets.append(PurePosixPath(Path(path)).as_posix())


def declare_undefined(metric: str, reason: str) -> None:
    """Say why ``metric`` is undefined (NaN or None) in this session: the document's ``warnings`` and every
    condition on it carry the reason. Outside an evaluation it does nothing, so helpers may always call it."""
    notes = _NOTES.get()
    if notes is not None:
        notes.undefined.setdefault(metric, reason)
