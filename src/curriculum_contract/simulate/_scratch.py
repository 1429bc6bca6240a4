"""The scratch data directory of an experiment's sessions: one directory, renamed from session to session.

A session's data directory holds what a rig would leave for the metrics function: the session's
``session.json`` (a ``SimulatedSession``) and, when the metrics read the file themselves, its ``trials.csv``.
Making a directory and removing it again for every session cost more than the simulation of the session;
renaming the last one costs one system call and gives the next session the same view: a directory of the
session's own name (the name the history records) holding only the session's own files.

After a session, the files the simulator wrote (``session.json``, ``trials.csv``) are removed, not left to
be overwritten (ext4 flushes a file truncated and rewritten to disk when it is closed: ten times the cost of
a new file), and the directory is kept for the next session only when that leaves it empty: anything the
metrics function wrote (an asset, a folder) goes with the whole directory, so the next session starts from
an empty one, as before.

The directories live in memory (``/dev/shm``) when the system has one and ``TMPDIR`` does not name another
place: a file made and removed there costs a few microseconds, against up to a millisecond on a journaling
disk. Nothing in them outlives the experiment, but for the data directory of a session whose evaluation
failed: a copy of it is kept in the temporary directory, with its trials, for the author to look into.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ._sessions import SESSION_FILE

if TYPE_CHECKING:
    import pandas as pd

TRIALS_FILE = "trials.csv"
#: A memory filesystem for the scratch directories, used when it exists and ``TMPDIR`` is not set
#: (or empty, which ``tempfile`` ignores too).
MEMORY_DIRECTORY = Path("/dev/shm")
PREFIX = "curriculum-simulate-"
FAILED_PREFIX = "curriculum-failed-session-"


def scratch_root() -> Path:
    """A new directory for one subject's scratch sessions (see the module docstring), resolved: the path
    ``evaluate_session`` hands the metrics function, which ``preloaded_trials`` must match."""
    if not os.environ.get("TMPDIR") and MEMORY_DIRECTORY.is_dir() and os.access(MEMORY_DIRECTORY, os.W_OK | os.X_OK):
        try:
            return Path(tempfile.mkdtemp(prefix=PREFIX, dir=MEMORY_DIRECTORY)).resolve()
        except OSError:
            pass  # full, or not ours after all: the temporary directory
    return Path(tempfile.mkdtemp(prefix=PREFIX)).resolve()


class ScratchDirectories:
    """Session data directories under ``root`` (an existing directory), one at a time. Paths are handled as
    strings: a ``Path`` per operation cost more than the system call."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = os.fspath(root)
        self._empty: str | None = None

    def make(self, name: str) -> Path:
        """An empty directory ``root/name``. Names may repeat: the last directory is renamed onto itself."""
        directory = os.path.join(self._root, name)
        if self._empty is None:
            os.mkdir(directory)
        else:
            os.rename(self._empty, directory)
            self._empty = None
        return Path(directory)

    def release(self, directory: Path) -> None:
        """The session in ``directory`` is over: empty it of the simulator's files and keep it for the next
        session, or remove it with what else is in it."""
        path = os.fspath(directory)
        names = os.listdir(path)
        for name in names:
            if name in _OWN_FILES:
                os.unlink(os.path.join(path, name))
        if all(name in _OWN_FILES for name in names):
            self._empty = path
        else:
            shutil.rmtree(path)


_OWN_FILES = frozenset((SESSION_FILE, TRIALS_FILE))


def write_file(path: str, data: bytes) -> None:
    """``Path(path).write_bytes(data)`` without a file object: an open, a write and a close (once a session)."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        while data:  # a regular file takes it in one write; a short write (a signal) is resumed
            data = data[os.write(handle, data) :]
    finally:
        os.close(handle)


def keep_failed_session(directory: Path, trials: pd.DataFrame) -> Path:
    """A copy of a failed session's data directory that outlives the run (in the temporary directory, not in
    memory), its trials written as ``trials.csv`` when they were only in memory: what the metrics read."""
    kept = Path(tempfile.mkdtemp(prefix=FAILED_PREFIX)) / directory.name
    shutil.copytree(directory, kept)
    if not (kept / TRIALS_FILE).exists():
        trials.to_csv(kept / TRIALS_FILE, index=False)
    return kept
