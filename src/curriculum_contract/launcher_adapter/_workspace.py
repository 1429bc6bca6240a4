"""The hidden folder next to a session that holds its preserved versions for one run (see ``_preserve``).

Made with ``mkdtemp`` next to the session, then locked at once (an exclusive ``flock`` held until
it is removed: a recovery skips a folder a live launch holds), filled (the pack, the hard links,
the manifest), sealed (files 0400, folders 0500: the run, as the same user, can neither write into
what it holds nor delete or rename it without first changing the modes back, which only code set on
it does), and removed — never through a symlink, never a directory
that is no longer the one it made.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

from ._fingerprint import Pack, Slot, new_digest

logger = logging.getLogger(__name__)

#: Follows ``.<session name>`` in the name of the folder next to the session.
PRESERVE_INFIX = ".curriculum-preserve-"
#: The file holding the copied small files, one after the other.
PACK_NAME = "small-files.pack"
#: The snapshot and the preserved versions' whereabouts (see ``_manifest``).
MANIFEST_NAME = "snapshot.json"
#: The sealed pack's identity (inode, size, mtime_ns, ctime_ns), for a recovery to trust it by.
SEAL_NAME = "small-files.seal"
#: Where hard links go, flat.
LINKED = "linked"
_SEALED = 0o500  # r-x: nothing inside can be deleted or renamed (except by root)
_READ_ONLY = 0o400

Link = Callable[[Path, Path], None]


class Workspace:
    """One preserve folder: its lock, its pack, its links; ``remove`` deletes it."""

    def __init__(self, directory: Path, lock: int, identity: tuple[int, int]) -> None:
        self.directory = directory
        self.identity = identity
        self._lock: int | None = lock
        self._pack_fd: int | None = None
        self._sealed_pack: tuple[int, int, int, int] | None = None
        self._folders: list[Path] = []

    @property
    def pack(self) -> Path:
        return self.directory / PACK_NAME

    @property
    def manifest(self) -> Path:
        return self.directory / MANIFEST_NAME

    @property
    def lock_fd(self) -> int | None:
        return self._lock

    @classmethod
    def make(cls, session_root: Path) -> Workspace:
        """A new, locked folder next to the session, with an empty pack open; ``OSError`` if impossible."""
        directory = Path(tempfile.mkdtemp(prefix=f".{session_root.name}{PRESERVE_INFIX}", dir=session_root.parent))
        lock = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        st = os.lstat(directory)
        workspace = cls(directory, lock, (st.st_dev, st.st_ino))
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            workspace._pack_fd = os.open(workspace.pack, flags, 0o600)
        except BaseException:
            workspace.remove(str(session_root))
            raise
        return workspace

    @classmethod
    def adopt(cls, directory: Path) -> Workspace:
        """A leftover folder, locked; ``BlockingIOError`` while a live launch holds it."""
        st = os.lstat(directory)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(f"{directory} is not a directory")
        lock = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            os.close(lock)
            raise
        workspace = cls(directory, lock, (st.st_dev, st.st_ino))
        workspace._adopt_seal()
        return workspace

    def budget(self, copy_budget: int, free_share: float) -> int:
        """Bytes the pack may take: the budget, and never more than a share of the free space."""
        return min(copy_budget, int(shutil.disk_usage(self.directory).free * free_share))

    def pack_for(self, slots: Mapping[str, Slot]) -> Pack:
        """The pack, sized for ``slots``, for a snapshot (or a copy) to write into."""
        assert self._pack_fd is not None
        os.ftruncate(self._pack_fd, sum(size for _, size in slots.values()))
        return Pack(self._pack_fd, slots, write=True)

    def link_all(self, sources: Mapping[str, str], link: Link) -> tuple[dict[str, Path], dict[str, str]]:
        """Hard-link each key's file into ``linked/``: (key -> link, key -> why it failed)."""
        linked: dict[str, Path] = {}
        failed: dict[str, str] = {}
        if not sources:
            return linked, failed
        folder = self.directory / LINKED
        folder.mkdir()
        self._folders.append(folder)
        for key, source in sources.items():
            target = folder / link_name(key)
            try:
                link(Path(source), target)
            except OSError as exc:
                failed[key] = f"hard link failed: {exc.strerror or exc}"
                continue
            linked[key] = target
        return linked, failed

    def seal(self) -> None:
        """Close the pack; make what the folder holds read-only; remember the pack as sealed, in the folder too.

        Any later write to the pack (or a chmod) changes its ctime, which no process can set back: the
        recorded identity tells a comparison (or a recovery after a crash) whether the pack is as sealed.
        """
        self._close_pack()
        for path in (self.pack, self.manifest):
            os.chmod(path, _READ_ONLY)
        st = os.lstat(self.pack)
        self._sealed_pack = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        seal = self.directory / SEAL_NAME
        seal.write_text(" ".join(map(str, self._sealed_pack)), encoding="ascii")
        os.chmod(seal, _READ_ONLY)
        for path in [*reversed(self._folders), self.directory]:
            os.chmod(path, _SEALED)

    def _adopt_seal(self) -> None:
        """A leftover folder's seal. Without one (the launcher died before the run, or a power loss kept
        it from the disk) the pack is no reference: a settled file whose change time moved is reported as
        unverifiable, and its copy is restored only if its CRC-32 holds."""
        try:
            fields = (self.directory / SEAL_NAME).read_text(encoding="ascii").split()
            ino, size, mtime_ns, ctime_ns = (int(field) for field in fields)
            self._sealed_pack = (ino, size, mtime_ns, ctime_ns)
        except (OSError, ValueError):
            self._sealed_pack = None

    @contextlib.contextmanager
    def reference(self, packed: Mapping[str, Slot]) -> Iterator[Pack | None]:
        """The sealed pack, open for reading, while it is as it was sealed; else None.

        Any write to it (or a chmod) changes its ctime: then a comparison hashes instead.
        """
        if self._sealed_pack is None or not packed:
            yield None
            return
        try:
            fd = os.open(self.pack, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            yield None
            return
        try:
            st = os.fstat(fd)
            same = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == self._sealed_pack
            yield Pack(fd, packed, write=False) if same else None
        finally:
            os.close(fd)

    def unpack(self, slot: Slot) -> bytes:
        offset, size = slot
        fd = os.open(self.pack, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            return os.pread(fd, size, offset)
        finally:
            os.close(fd)

    def remove(self, session: str) -> None:
        """Delete the folder (never the session's files) and release the lock; log, never raise."""
        self._close_pack()
        try:
            remove_directory(self.directory, self.identity, session)
        finally:
            self.release()

    def release(self) -> None:
        """Leave the folder as it is; release the lock."""
        self._close_pack()
        lock, self._lock = self._lock, None
        if lock is not None:
            os.close(lock)

    def _close_pack(self) -> None:
        fd, self._pack_fd = self._pack_fd, None
        if fd is not None:
            os.close(fd)


def link_name(key: str) -> str:
    """The flat name of a key's hard link: ``behavior%2Fvideo.avi``; a digest when that is too long."""
    name = quote(key, safe="")
    if len(name.encode()) <= 200:
        return name
    return f"{new_digest(key.encode()).hexdigest()}-{quote(key.rpartition('/')[2], safe='')[:100]}"


def remove_directory(directory: Path, identity: tuple[int, int] | None, session: str) -> None:
    """Delete a preserve folder if it is still the one with ``identity`` (never through a symlink)."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        logger.warning("preserved copies of %s vanished before removal: %s", session, directory)
        return
    if not stat.S_ISDIR(st.st_mode) or (st.st_dev, st.st_ino) != identity:
        logger.warning("not removing %s: it is no longer the directory the adapter made", directory)
        return
    for path in [directory, *(Path(top, name) for top, names, _ in os.walk(directory) for name in names)]:
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(path).st_mode):  # never chmod through a symlink
                os.chmod(path, 0o700)
    try:
        shutil.rmtree(directory)
    except OSError as exc:
        logger.warning("could not remove the preserved copies %s: %s", directory, exc)
