"""Walk a tree and fingerprint its entries cheaply and safely: the guard's hot loop.

Safety: entries are found with ``lstat`` (``os.scandir``), and only a regular file is ever opened,
with ``O_NOFOLLOW | O_NONBLOCK``, then ``fstat``-ed: a FIFO, socket or device (or a symlink) that
took a file's place between the walk and the open is never read from and never blocks; it is
reported as changed. Special files are recorded by type, mode, inode (and device number) only.

Cost (a session of 20,000 small files): one ``lstat`` per entry; per file one open, fstat, read
(one call for files up to ``READ_CHUNK``), close, and a blake2b of the bytes unless it is packed and
settled (see ``untouched``). ``_batches`` runs this over many files, and packs the bytes just read so
that preserving never reads a file again.
Strings, not ``pathlib``, in the loops.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

#: Files up to this size are hashed in full.
FULL_HASH_LIMIT = 64 * 2**20
#: Size of each sampled block of a larger file.
SAMPLE_BLOCK = 64 * 2**10
#: Number of sampled blocks, head and tail included (odd, so that one sits in the middle).
SAMPLE_BLOCKS = 11
#: Files up to this size are read with one call; larger ones chunk by chunk.
READ_CHUNK = 2**20
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
UNREADABLE = "<unreadable"
#: Whether ``st_ctime`` is the inode's change time (POSIX), which ``untouched`` relies on.
CHANGE_TIMES = os.name == "posix"
#: Only a change time this long before the snapshot began is trusted: far more than a clock tick.
SETTLED_NS = 2_000_000_000


class Entry(NamedTuple):
    """One non-directory entry: a regular file, a symlink or a special file (a tuple: cheap to make)."""

    kind: str  # "file" | "symlink" | "fifo" | "socket" | "char device" | "block device"
    size: int
    mtime_ns: int
    inode: int
    mode: int
    digest: str  # files: content hash (full or sampled); symlinks: link target; devices: "rdev=N"
    sampled: bool = False
    ctime_ns: int = 0  # a fully read file's change time when it was opened (see ``untouched``); else 0

    @property
    def readable(self) -> bool:
        return not self.digest.startswith(UNREADABLE)

    @property
    def unreadable_reason(self) -> str:
        """Why the file could not be read (``Permission denied``), or ``""``."""
        return "" if self.readable else self.digest[len(UNREADABLE) + 2 : -1]


_KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "directory",
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "char device",
    stat.S_IFBLK: "block device",
}


def kind_of(mode: int) -> str:
    """The kind of an entry from its ``st_mode``."""
    return _KINDS.get(stat.S_IFMT(mode), "unknown")


SPECIAL_KINDS = frozenset({"fifo", "socket", "char device", "block device", "unknown"})


def mode_text(mode: int) -> str:
    """Permission bits in octal, as ``ls`` users read them: ``0644``."""
    return f"{stat.S_IMODE(mode):04o}"


def scan(top: str, prefix: str = "") -> tuple[dict[str, os.stat_result], dict[str, str]]:
    """Every entry under the directory ``top`` (never following symlinks): name -> lstat.

    Names are ``prefix`` + the POSIX path below ``top``. The second mapping holds the directories
    that could not be listed (``""`` for ``top`` itself) and why; the walk goes on around them.
    """
    found: dict[str, os.stat_result] = {}
    unlisted: dict[str, str] = {}
    stack = [(prefix, top, "")]
    isdir = stat.S_ISDIR
    while stack:
        names_prefix, directory, rel = stack.pop()
        try:
            it = os.scandir(directory)
        except OSError as exc:
            unlisted[rel] = exc.strerror or str(exc)
            continue
        with it:
            for item in it:
                name = names_prefix + item.name
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:  # vanished meanwhile
                    continue
                found[name] = st
                if isdir(st.st_mode):
                    stack.append((name + "/", item.path, name[len(prefix) :]))
    return found, unlisted


#: The digest of an entry whose kept bytes are being hashed elsewhere (``fingerprint(defer_hash=True)``).
PENDING = ""
#: How the digest of a settled packed file begins: its packed copy is its reference, and a CRC-32 of the
#: bytes (``packed_digest``) tells a copy that never reached the disk (a power loss), not a forgery.
PACKED = "packed-crc32:"


def packed_digest(data: bytes) -> str:
    """The digest of a settled packed file: ``PACKED`` and a CRC-32 (some 20 times cheaper than blake2b)."""
    return f"{PACKED}{zlib.crc32(data):08x}"


def new_digest(data: bytes = b"") -> hashlib.blake2b:
    return hashlib.blake2b(data, digest_size=16)


def sample_offsets(size: int, blocks: int = SAMPLE_BLOCKS, block_size: int = SAMPLE_BLOCK) -> list[int]:
    """Start offsets of the sampled blocks: head, tail and evenly spaced ones between."""
    last = max(size - block_size, 0)
    if blocks <= 1:
        return [0]
    return sorted({round(i * last / (blocks - 1)) for i in range(blocks)})


@dataclass(frozen=True, slots=True)
class Limits:
    """How files are fingerprinted: full hash up to ``full_hash_limit``, sampled blocks above."""

    full_hash_limit: int = FULL_HASH_LIMIT
    sample_blocks: int = SAMPLE_BLOCKS
    block_size: int = SAMPLE_BLOCK


Slot = tuple[int, int]
"""(offset, size) of a file's bytes in a pack."""


@dataclass(frozen=True, slots=True)
class Pack:
    """A pack file open for one pass: ``write`` puts files' bytes in their slots, else they are compared."""

    fd: int
    slots: Mapping[str, Slot]
    write: bool


def fingerprint(
    path: str,
    st: os.stat_result,
    limits: Limits,
    *,
    keep: bool = False,
    expected: tuple[bytes, str] | None = None,
    defer_hash: bool = False,
) -> tuple[Entry, bytes | None]:
    """The entry at ``path``, lstat-ed as ``st``, and (``keep``) the bytes read from a small file.

    Opens only what ``st`` says is a regular file, and checks that the open file is that file.
    ``expected``: (the bytes a pack holds for it, their recorded digest): equal bytes get that
    digest without hashing; other bytes are hashed. ``defer_hash`` (with ``keep``): a fully read
    file's entry has the digest ``PENDING``, for the caller to hash the kept bytes elsewhere.
    """
    if stat.S_ISREG(st.st_mode):
        return _regular(path, st, limits, keep, expected, defer_hash)
    kind = kind_of(st.st_mode)
    if kind == "symlink":
        try:
            target = os.readlink(path)
        except OSError as exc:
            target = f"{UNREADABLE}: {exc.strerror}>"
        return Entry(kind, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode, target), None
    digest = f"rdev={st.st_rdev}" if kind.endswith("device") else ""
    return Entry(kind, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode, digest), None


def _regular(
    path: str,
    st: os.stat_result,
    limits: Limits,
    keep: bool,
    expected: tuple[bytes, str] | None,
    defer_hash: bool = False,
) -> tuple[Entry, bytes | None]:
    """``fingerprint`` of a regular file: the hot loop of a session of many small files, kept lean."""
    opened = _open_regular(path, st)
    if isinstance(opened, str):
        return Entry("file", st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode, opened), None
    fd, fst = opened
    try:
        size = fst.st_size
        if size > limits.full_hash_limit:
            digest = new_digest(size.to_bytes(8, "little"))
            for offset in sample_offsets(size, limits.sample_blocks, limits.block_size):
                digest.update(os.pread(fd, limits.block_size, offset))
            return Entry("file", size, fst.st_mtime_ns, fst.st_ino, fst.st_mode, digest.hexdigest(), True), None
        if size <= READ_CHUNK:
            data = os.read(fd, size + 1)  # one call, and the +1 tells whether it grew meanwhile
            if len(data) > size:
                data += _read_rest(fd)
        elif not keep and expected is None:
            hexdigest, size = _hash_chunks(fd)
            entry = Entry("file", size, fst.st_mtime_ns, fst.st_ino, fst.st_mode, hexdigest, False, fst.st_ctime_ns)
            return entry, None
        else:
            data = _read_all(fd, size)
    except OSError as exc:
        reason = f"{UNREADABLE}: {exc.strerror}>"
        return Entry("file", st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode, reason), None
    finally:
        os.close(fd)
    if defer_hash and keep:
        return Entry("file", len(data), fst.st_mtime_ns, fst.st_ino, fst.st_mode, PENDING, False, fst.st_ctime_ns), data
    same = expected is not None and data == expected[0]
    hexdigest = expected[1] if expected is not None and same else new_digest(data).hexdigest()
    entry = Entry("file", len(data), fst.st_mtime_ns, fst.st_ino, fst.st_mode, hexdigest, False, fst.st_ctime_ns)
    return entry, data if keep else None


def settled_before(now_ns: int) -> int:
    """Change times before this are trusted by ``untouched`` (0: none; see ``SETTLED_NS``)."""
    return now_ns - SETTLED_NS if CHANGE_TIMES else 0


def untouched(before: Entry, st: os.stat_result, settled_before_ns: int) -> bool:
    """Whether the fully read file ``before`` certainly was not written since: ``st`` has its change time.

    No process can set a change time: the kernel sets it to the clock's time at every write, truncate,
    rename into place, mode or link change; ``utime`` sets the mtime back but moves ctime on. So the
    same inode with the same size, mode, mtime and ctime was not changed, provided that ctime lay well
    before the snapshot began: timestamps are coarse (one clock tick), and a write within the tick of
    the file's previous change could leave it equal. Not on Windows, where ``st_ctime`` is the creation time.
    """
    return (
        0 < before.ctime_ns < settled_before_ns
        and st.st_ctime_ns == before.ctime_ns
        and st.st_mtime_ns == before.mtime_ns
        and st.st_ino == before.inode
        and st.st_size == before.size
        and st.st_mode == before.mode
        and not before.sampled
    )


def read_regular(path: str, st: os.stat_result) -> bytes | str:
    """The bytes of the regular file ``path`` (lstat-ed as ``st``), or why they cannot be read."""
    opened = _open_regular(path, st)
    if isinstance(opened, str):
        return opened
    fd, fst = opened
    try:
        return _read_all(fd, fst.st_size)
    except OSError as exc:
        return f"{UNREADABLE}: {exc.strerror}>"
    finally:
        os.close(fd)


def _open_regular(path: str, st: os.stat_result) -> tuple[int, os.stat_result] | str:
    """An open descriptor and fstat of the file ``st`` describes, or an ``<unreadable: why>``."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:  # vanished, unreadable, or a symlink now (O_NOFOLLOW)
        return f"{UNREADABLE}: {exc.strerror}>"
    try:
        opened = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        return f"{UNREADABLE}: {exc.strerror}>"
    if not stat.S_ISREG(opened.st_mode) or (opened.st_ino, opened.st_dev) != (st.st_ino, st.st_dev):
        os.close(fd)
        return f"{UNREADABLE}: replaced by a {kind_of(opened.st_mode)} while being read>"
    return fd, opened


def _read_all(fd: int, size: int) -> bytes:
    data = os.read(fd, size + 1)  # one call, and the +1 tells whether it grew meanwhile
    if len(data) <= size:  # a short read of a regular file is its end
        return data
    return data + _read_rest(fd)


def _read_rest(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, READ_CHUNK):
        parts.append(chunk)
    return b"".join(parts)


def _hash_chunks(fd: int) -> tuple[str, int]:
    digest = new_digest()
    position = 0
    while chunk := os.read(fd, READ_CHUNK):
        digest.update(chunk)
        position += len(chunk)
    return digest.hexdigest(), position
