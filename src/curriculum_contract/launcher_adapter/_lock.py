"""OS file locks: one launch per session at a time, one "read history, run, record" per subject at a time.

``flock`` locks die with their process: a SIGKILLed launcher or a rebooted rig never leaves a stale
lock, so no lock file needs a pid or an age to be second-guessed.

- **The session lock** is ``<parent>/.<session>.curriculum-lock/``, an empty directory next to the
  session (never inside it: the curriculum walks the session). It is taken without waiting:
  a second launch of a session being launched fails at once with ``SessionBusy`` (waiting would only
  repeat a launch that is already happening). The file is removed while still locked, and a taker
  checks, after locking, that the path still names the directory it locked (else it retries): the
  classic way to delete a lock file without two holders.
- **The subject lock** is a file per subject in a lock directory beside a SQLite store
  (``<store>.locks/subject-<digest>.lock``), waited for with a bound (``SubjectBusy`` past it): the
  second launch of a subject then reads the history the first one recorded. A PostgreSQL store takes a
  server-side advisory lock instead (``_store_pg``), through the same ``HistoryStore.subject_lock``.

Windows has no ``fcntl``: there the locks are no-ops (logged once).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ._errors import SessionBusy, StoreError, SubjectBusy

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Follows ``.<session name>`` in the session lock's name.
SESSION_LOCK_SUFFIX = ".curriculum-lock"
#: How often a waiting launch retries a held subject lock.
_POLL_S = 0.05


def session_lock_path(session_dir: Path) -> Path:
    return session_dir.parent / f".{session_dir.name}{SESSION_LOCK_SUFFIX}"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


@contextlib.contextmanager
def session_lock(session_dir: Path) -> Iterator[int | None]:
    """Hold the session's lock for the block, or raise ``SessionBusy`` at once; the lock goes after.

    Yields the lock's descriptor (None where there is no lock), for the run's supervisor to hold too.

    The lock is an empty *directory* (``flock`` on its descriptor): the guard reports new files next to
    the session during a run (the trace of a write through ``..``), never directories, so another
    session's launch in the same data root does not look like a violation.
    """
    if fcntl is None:
        yield None
        return
    path = session_lock_path(session_dir)
    while True:
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o755)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # removed by its holder between our mkdir and our open
        except OSError as exc:  # a read-only data root: the launch goes on unlocked, and says so
            logger.warning("cannot lock session %s (%s): launching without a session lock", session_dir, exc)
            yield None
            return
        if not _try_lock(fd):
            os.close(fd)
            raise SessionBusy(
                f"session {session_dir} is being launched by another process (lock {path}): not launched again"
            )
        if _same_file(fd, path):
            break
        os.close(fd)  # removed by its previous holder between our open and our lock: take the new one
    try:
        yield fd
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(path)
        os.close(fd)


def store_lock_dir(sqlite_file: Path | None) -> Path | None:
    """The lock directory beside a SQLite store file (None for other stores)."""
    if sqlite_file is None:
        return None
    return sqlite_file.with_name(sqlite_file.name + ".locks")


@contextlib.contextmanager
def subject_lock(
    lock_dir: Path, subject: str, *, wait_s: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[None]:
    """Hold the subject's lock for the block, waiting up to ``wait_s`` for it (``SubjectBusy`` past that)."""
    if fcntl is None:
        yield
        return
    try:
        lock_dir.mkdir(exist_ok=True)  # never the store's folder: a missing one is the store's error
    except OSError as exc:
        raise StoreError(f"history store {lock_dir.parent}: cannot make its lock directory {lock_dir}: {exc}") from exc
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    path = lock_dir / f"subject-{digest}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        end = clock() + wait_s
        while not _try_lock(fd):
            if clock() >= end:
                raise SubjectBusy(
                    f"subject {subject!r} is being launched by another process (lock {path}) "
                    f"for more than {wait_s:g} s: this session was not launched"
                )
            time.sleep(_POLL_S)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (one per subject, in the store's lock directory)
