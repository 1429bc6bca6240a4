"""Keep a restorable version of a session's files while a curriculum runs; put lost ones back after.

``preserve(snapshot)`` (right after ``SessionSnapshot.take``, around the run) keeps every file the
snapshot recorded in a hidden directory next to the session,
``<parent>/.<session>.curriculum-preserve-XXXXXXXX/``:

- files up to the snapshot's full-hash limit (metadata, CSVs, logs: what a curriculum reads, and
  what ``open(path, "w")`` or an append changes in place) are copied, smallest first, into ONE pack
  file (``small-files.pack``; creating thousands of small files costs far more than writing their
  bytes), up to a budget (``COPY_BUDGET``, and never more than a tenth of the free space); any
  beyond it are hard-linked, and the launch record says so;
- larger files (video, tens of GB) are hard-linked, under their session-relative paths: instant, no
  disk. A link is the same file under another name, so it survives a deletion, a rename over the
  file and its replacement by a new file (how most tools "edit"); it does NOT survive an in-place
  write, which the guard detects but cannot undo. Where a hard link is impossible (the parent on
  another filesystem, a filesystem without hard links) the file is not preserved — never copied —
  and the warnings (in the record) say so.

Why next to the session: a hard link only works within one filesystem, and the session's parent is
the nearest place on it that is not the session itself (nothing of the adapter may stay in the
session, and the curriculum walks it). The guard never reports directories appearing next to the
session, so it does not report this one. Its directories are read-only during the run, so a
curriculum not running as root cannot delete or rename what it holds. It is removed after the run,
success or failure, exceptions included; only a launcher killed outright (SIGKILL, power loss) leaves
one behind: it holds a pack and extra links only, and deleting it never touches the session.

``restore(lost)`` puts back each lost entry: its preserved version is first checked against the
snapshot (one changed meanwhile is not restored), then written (a packed file) or linked (a linked
one) to a temporary name in the target's directory and moved over the path with ``os.replace``
(atomic), with the recorded mode and mtime. The curriculum's modified version is dropped: kept
inside the session it would be an undeclared file that data pipelines upload, kept next to it debris
that nothing cleans; a curriculum is deterministic on its inputs, so rerunning it on the restored
session reproduces it. Files the curriculum created are never deleted: the guard reports them and
they stay. A lost symlink is recreated from its recorded target.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ._guard import SessionSnapshot

logger = logging.getLogger(__name__)

#: Bytes of small files copied at most per run; the rest are hard-linked.
COPY_BUDGET = 2**30
#: Copies never take more than this share of the free space of the session's filesystem.
FREE_SPACE_SHARE = 0.1
#: Follows ``.<session name>`` in the name of the directory next to the session.
PRESERVE_INFIX = ".curriculum-preserve-"
#: The file holding the copied small files, one after the other.
PACK_NAME = "small-files.pack"
_SEALED = 0o500  # r-x: nothing inside can be deleted or renamed (except by root)
_CHUNK = 1 << 20

Link = Callable[[Path, Path], None]


class Preserved:
    """A session's files kept next to it for one run (see the module doc); ``restore`` puts them back."""

    def __init__(self, snapshot: SessionSnapshot, directory: Path | None) -> None:
        self.snapshot = snapshot
        self.directory = directory
        #: session-relative path -> (offset, size) of its copy in the pack
        self.packed: dict[str, tuple[int, int]] = {}
        #: session-relative path -> its hard link
        self.linked: dict[str, Path] = {}
        #: session-relative path -> why it has no preserved version
        self.unpreserved: dict[str, str] = {}
        #: one line each, for the launch record: what could not be preserved as intended
        self.warnings: list[str] = []
        self._dirs: list[Path] = []
        self._identity: tuple[int, int] | None = None

    @property
    def pack(self) -> Path | None:
        return self.directory / PACK_NAME if self.directory is not None else None

    @classmethod
    def create(cls, snapshot: SessionSnapshot, *, copy_budget: int = COPY_BUDGET, link: Link = os.link) -> Preserved:
        """Pack the small files and hard-link the large ones; never raises for a file it cannot keep."""
        files = sorted((entry.size, rel) for rel, entry in snapshot.entries.items() if entry.kind == "file")
        if not files:
            return cls(snapshot, None)
        root = snapshot.root
        try:
            directory = Path(tempfile.mkdtemp(prefix=f".{root.name}{PRESERVE_INFIX}", dir=root.parent))
        except OSError as exc:
            preserved = cls(snapshot, None)
            reason = f"cannot create a directory next to the session: {exc.strerror or exc}"
            preserved.unpreserved = {rel: reason for _, rel in files}
            preserved._warn_unpreserved()
            return preserved
        preserved = cls(snapshot, directory)
        try:
            st = os.lstat(directory)
            preserved._identity = (st.st_dev, st.st_ino)
            budget = min(copy_budget, int(shutil.disk_usage(directory).free * FREE_SPACE_SHARE))
            to_link = preserved._fill_pack(files, budget)
            preserved._link_all(to_link, link)
            preserved._warn_unpreserved()
            preserved._seal()
        except BaseException:
            preserved.remove()
            raise
        return preserved

    def _fill_pack(self, files: list[tuple[int, str]], budget: int) -> list[str]:
        """Copy small files into the pack, smallest first, within the budget; return the rest."""
        to_link: list[str] = []
        small = [(size, rel) for size, rel in files if not self.snapshot.entries[rel].sampled]
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        assert self.pack is not None
        with open(self.pack, "wb") as pack:
            offset = 0
            for size, rel in small:
                if size > budget:
                    to_link.append(rel)
                    continue
                try:
                    with open(self.snapshot.root / rel, "rb", buffering=0) as source:
                        while n := source.readinto(buffer):
                            pack.write(view[:n])
                except OSError as exc:
                    self.unpreserved[rel] = f"copy failed: {exc.strerror or exc}"
                    pack.seek(offset)
                    pack.truncate()
                    continue
                written = pack.tell() - offset
                self.packed[rel] = (offset, written)
                offset += written
                budget -= written
        if to_link:
            self.warnings.append(
                f"{len(to_link)} small session file(s) beyond the copy budget were hard-linked, not copied "
                f"(an in-place write to them cannot be undone), e.g. {to_link[-1]}"
            )
        return to_link + [rel for _, rel in files if self.snapshot.entries[rel].sampled]

    def _link_all(self, rels: list[str], link: Link) -> None:
        assert self.directory is not None
        made: set[str] = set()
        for rel in rels:
            parent = f"linked/{rel}".rpartition("/")[0]
            if parent not in made:
                self._make_dirs(parent, made)
            target = self.directory / "linked" / rel
            try:
                link(self.snapshot.root / rel, target)
            except OSError as exc:
                self.unpreserved[rel] = f"hard link failed: {exc.strerror or exc}"
                continue
            self.linked[rel] = target

    def _make_dirs(self, parent: str, made: set[str]) -> None:
        assert self.directory is not None
        parts = parent.split("/")
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            if rel not in made:
                path = self.directory / rel
                path.mkdir(exist_ok=True)
                made.add(rel)
                self._dirs.append(path)

    def _warn_unpreserved(self) -> None:
        if self.unpreserved:
            rel, reason = next(iter(sorted(self.unpreserved.items())))
            more = f" and {len(self.unpreserved) - 1} more" if len(self.unpreserved) > 1 else ""
            self.warnings.append(
                f"{len(self.unpreserved)} session file(s) not preserved during the run, a loss of them "
                f"cannot be undone: {rel} ({reason}){more}"
            )

    def _seal(self) -> None:
        """Read-only directories: what they hold cannot be deleted or renamed during the run."""
        assert self.directory is not None
        for path in [*reversed(self._dirs), self.directory]:
            os.chmod(path, _SEALED)

    def restore(self, lost: Iterable[str]) -> tuple[list[str], list[str]]:
        """Put each lost entry back; return (restored paths, ``"path: why not"`` lines)."""
        restored: list[str] = []
        failed: list[str] = []
        lost = sorted(lost)
        if lost:  # the tree's (empty) directories too, when the run removed some
            for rel in sorted(self.snapshot.directories):
                with contextlib.suppress(OSError):
                    _ready_directories(self.snapshot.root, f"{rel}/-")  # makes the missing ones
        for rel in lost:
            try:
                why = self._restore_one(rel)
            except OSError as exc:
                why = f"restore failed: {exc.strerror or exc}"
            if why is None:
                restored.append(rel)
            else:
                failed.append(f"{rel}: {why}")
        return restored, failed  # the SessionDataViolation raised next says both

    def _restore_one(self, rel: str) -> str | None:
        """Restore one entry; return None, or why it was not restored."""
        entry = self.snapshot.entries[rel]
        target = self.snapshot.root / rel
        data: bytes | None = None
        linked = self.linked.get(rel)
        if entry.kind == "file":
            if rel in self.packed:
                data = self._unpack(rel)
                if not self.snapshot.holds_content(rel, data):
                    return "its preserved copy changed too"
            elif linked is not None:
                if not self.snapshot.holds(rel, linked):
                    if _same_file(linked, target):
                        return "written in place: its preserved hard link is the same file"
                    return "its preserved hard link changed too"
            else:
                return self.unpreserved.get(rel, "not preserved")
        elif entry.kind != "symlink":
            return "not a regular file or a symlink"
        if why := _ready_directories(self.snapshot.root, rel):
            return why
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(os.lstat(target).st_mode):
                return "replaced by a directory (left as the curriculum made it)"
        temporary = target.with_name(f".{target.name}.curriculum-restore-{secrets.token_hex(4)}")
        try:
            if data is not None:
                _write_new(temporary, data, mode=stat.S_IMODE(entry.mode), mtime_ns=entry.mtime_ns)
            elif linked is not None:
                os.link(linked, temporary)  # the very file: content, mode and mtime
            else:
                os.symlink(entry.digest, temporary)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return None

    def _unpack(self, rel: str) -> bytes:
        offset, size = self.packed[rel]
        assert self.pack is not None
        with open(self.pack, "rb") as pack:
            pack.seek(offset)
            return pack.read(size)

    def remove(self) -> None:
        """Delete the preserved versions (never the session's files); log, never raise, on failure."""
        directory, self.directory = self.directory, None
        if directory is None:
            return
        try:
            st = os.lstat(directory)
        except FileNotFoundError:
            logger.warning("preserved copies of %s vanished before removal: %s", self.snapshot.root, directory)
            return
        if not stat.S_ISDIR(st.st_mode) or (st.st_dev, st.st_ino) != self._identity:
            logger.warning("not removing %s: it is no longer the directory the adapter made", directory)
            return
        for path in [directory, *self._dirs]:
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(os.lstat(path).st_mode):  # never chmod through a symlink
                    os.chmod(path, 0o700)
        try:
            shutil.rmtree(directory)
        except OSError as exc:
            logger.warning("could not remove the preserved copies %s: %s", directory, exc)

    def summary(self) -> dict[str, int]:
        """Counts for benchmarks and logs."""
        return {
            "packed": len(self.packed),
            "packed_bytes": sum(size for _, size in self.packed.values()),
            "linked": len(self.linked),
            "unpreserved": len(self.unpreserved),
        }


@contextlib.contextmanager
def preserve(snapshot: SessionSnapshot, **options: Any) -> Iterator[Preserved]:
    """``Preserved.create`` for the duration of a block, removed after it however it ends."""
    preserved = Preserved.create(snapshot, **options)
    try:
        yield preserved
    finally:
        preserved.remove()


def _write_new(path: Path, data: bytes, *, mode: int, mtime_ns: int) -> None:
    """A new file with ``data``, flushed to disk, with the recorded mode and mtime."""
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(path, mode)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _ready_directories(root: Path, rel: str) -> str | None:
    """Recreate the missing directories on the way to ``rel``; refuse one replaced by a file or a symlink."""
    current = root
    for part in ["", *rel.split("/")[:-1]]:
        current = current / part if part else current
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current)
            continue
        if not stat.S_ISDIR(st.st_mode):
            what = "symlink" if stat.S_ISLNK(st.st_mode) else "file"
            where = os.path.relpath(current, root) if current != root else "the session directory"
            return f"{where} was replaced by a {what}"
    return None
