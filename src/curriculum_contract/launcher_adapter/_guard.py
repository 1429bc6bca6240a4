"""Detect what a curriculum run did to the session directory: the session's files must never be lost.

``SessionSnapshot.take`` records every entry under the session directory before the run;
``violations`` compares after it and lists, one line each:

- a pre-existing file deleted, modified (content, size, or replaced by another inode or type);
- a new symlink, or a declared asset, that resolves outside the session directory;
- a declared asset that is missing, or not a regular file;
- a new file that is neither a declared asset nor one of the adapter's own outputs (``allowed_new``);
- a new file (not directory) next to the session directory: the trace of a write through ``..``.
  Sibling session directories appearing meanwhile are fine (so is the adapter's own preserve
  directory, see ``_preserve``); a file another process drops into the data root during the run (a
  store's journal, a log) would be reported too — keep those elsewhere, or take the snapshot with
  ``watch_parent=False``.

``compare`` also names the lost entries (pre-existing ones deleted, modified or replaced), and
``check(preserved=...)`` puts them back from the versions ``_preserve`` kept before raising.

Cost on sessions of tens of GB of video: files up to ``full_hash_limit`` (64 MiB) — the metadata,
CSVs and logs a curriculum reads — are hashed in full (blake2b) before and after, so any edit to them
is caught. Larger files are fingerprinted by size, mtime_ns, inode and a hash of sampled blocks (head,
tail, evenly spaced blocks between, the middle among them).

Residual risk, by design: an edit to a large file that keeps its size, lands outside every sampled
block AND restores the file's mtime (``os.utime``) goes unseen; ordinary writes change the mtime and
are caught. A large file is preserved by a hard link only, so an in-place write into it is detected
but cannot be undone. Writes outside the session other than into its parent directory (``../../x``,
absolute paths) are not seen. A launcher that must also stop in-place writes can run the curriculum
against read-only files (``SessionSnapshot.write_protected``) — which does not stop a process
running as root, or one that changes the modes back.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ._errors import SessionDataViolation

if TYPE_CHECKING:
    from ._preserve import Preserved

#: Files up to this size are hashed in full.
FULL_HASH_LIMIT = 64 * 2**20
#: Size of each sampled block of a larger file.
SAMPLE_BLOCK = 64 * 2**10
#: Number of sampled blocks, head and tail included (odd, so that one sits in the middle).
SAMPLE_BLOCKS = 11
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class _Entry:
    """One entry of the session: a regular file, a symlink, or another non-directory."""

    kind: str  # "file" | "symlink" | "other"
    size: int
    mtime_ns: int
    inode: int
    mode: int
    digest: str  # content hash (full or sampled) for files, link target for symlinks
    sampled: bool = False


@dataclass(frozen=True)
class Findings:
    """What ``SessionSnapshot.compare`` found: one line per violation, and the lost entries."""

    lines: list[str]
    lost: list[str]
    """Pre-existing entries deleted, modified or replaced (session-relative, sorted)."""


class SessionSnapshot:
    """What a session directory held before a run, to compare with what it holds after."""

    def __init__(
        self,
        root: Path,
        entries: dict[str, _Entry],
        directories: frozenset[str],
        parent_names: frozenset[str] | None,
        *,
        full_hash_limit: int,
        sample_blocks: int,
        block_size: int,
    ) -> None:
        self.root = root
        self.entries = entries
        self.directories = directories
        self.parent_names = parent_names
        self.full_hash_limit = full_hash_limit
        self.sample_blocks = sample_blocks
        self.block_size = block_size

    @classmethod
    def take(
        cls,
        session_dir: Path,
        *,
        full_hash_limit: int = FULL_HASH_LIMIT,
        sample_blocks: int = SAMPLE_BLOCKS,
        block_size: int = SAMPLE_BLOCK,
        watch_parent: bool = True,
    ) -> SessionSnapshot:
        """Record every entry under ``session_dir`` (it must exist); see the module doc for the cost."""
        root = Path(session_dir).resolve(strict=True)
        if not root.is_dir():
            raise NotADirectoryError(f"session directory {root} is not a directory")
        dirs: set[str] = set()
        others: list[tuple[str, os.stat_result]] = []
        for rel, st in _walk(root):
            if stat.S_ISDIR(st.st_mode):
                dirs.add(rel)
            else:
                others.append((rel, st))
        files = _fingerprint_all(root, others, full_hash_limit, sample_blocks, block_size)
        return cls(
            root,
            files,
            frozenset(dirs),
            _parent_names(root) if watch_parent else None,
            full_hash_limit=full_hash_limit,
            sample_blocks=sample_blocks,
            block_size=block_size,
        )

    def violations(self, *, declared_assets: Iterable[str] = (), allowed_new: Iterable[str] = ()) -> list[str]:
        """Every way the directory now differs from the snapshot that breaks the contract, one line each."""
        return self.compare(declared_assets=declared_assets, allowed_new=allowed_new).lines

    def compare(self, *, declared_assets: Iterable[str] = (), allowed_new: Iterable[str] = ()) -> Findings:
        """The violations, and which pre-existing entries were lost (what a restore puts back)."""
        found: list[str] = []
        current: dict[str, os.stat_result] = {}
        root_there = _is_directory(self.root)
        if root_there:
            for rel, st in _walk(self.root):
                current[rel] = st

        lost: list[str] = []
        to_hash: list[tuple[str, os.stat_result]] = []
        for rel, before in sorted(self.entries.items()):
            st = current.get(rel)
            if st is None:
                found.append(f"{rel}: deleted")
                lost.append(rel)
            elif problem := self._changed_metadata(rel, before, st):
                found.append(f"{rel}: {problem}")
                lost.append(rel)
            elif before.kind == "file":
                to_hash.append((rel, st))
        after = _fingerprint_all(self.root, to_hash, self.full_hash_limit, self.sample_blocks, self.block_size)
        for rel, st in to_hash:
            before = self.entries[rel]
            if after[rel].digest != before.digest:
                found.append(f"{rel}: modified: content changed")
                lost.append(rel)
            elif before.sampled and (st.st_mtime_ns != before.mtime_ns or st.st_ino != before.inode):
                # Not every byte of a large file is compared: a new mtime or inode means it was rewritten.
                found.append(f"{rel}: modified: rewritten (mtime or inode changed)")
                lost.append(rel)
        found.sort(key=lambda line: line.split(": ", 1)[0])
        if not root_there:
            found.insert(0, "the session directory itself was deleted or replaced")

        declared, asset_problems = self._declared(declared_assets)
        found += asset_problems
        allowed = {_normalise(a) for a in allowed_new}
        allowed.discard(None)
        for rel, st in sorted(current.items()):
            if rel in self.entries or rel in self.directories:
                continue
            if stat.S_ISLNK(st.st_mode) and not _resolves_inside(self.root / rel, self.root):
                found.append(f"{rel}: new symlink to {os.readlink(self.root / rel)}, outside the session")
                continue
            if stat.S_ISDIR(st.st_mode):
                continue  # a new directory is judged by the files it holds
            if rel in allowed or _covered(rel, declared):
                continue
            found.append(f"{rel}: new file that is not a declared asset")

        if self.parent_names is not None:
            for name in sorted(_parent_names(self.root) - self.parent_names):
                found.append(f"../{name}: new entry next to the session directory (written outside it?)")
        return Findings(found, sorted(lost))

    def check(
        self,
        *,
        declared_assets: Iterable[str] = (),
        allowed_new: Iterable[str] = (),
        preserved: Preserved | None = None,
    ) -> None:
        """Raise ``SessionDataViolation`` listing every violation, if there is any.

        With ``preserved`` (see ``_preserve``), every lost pre-existing entry is first put back from
        its preserved version, and the error says what was restored and what could not be.
        """
        findings = self.compare(declared_assets=declared_assets, allowed_new=allowed_new)
        if not findings.lines:
            return
        restored: list[str] = []
        not_restored: list[str] = []
        if preserved is not None and findings.lost:
            restored, not_restored = preserved.restore(findings.lost)
        raise SessionDataViolation(findings.lines, str(self.root), restored=restored, not_restored=not_restored)

    def holds(self, rel: str, path: Path) -> bool:
        """Whether ``path`` is a regular file with what the snapshot recorded for ``rel``.

        A fully hashed file must have the same content; a sampled (large) one must also be the same
        inode with the same mtime, since its unsampled bytes are not compared.
        """
        before = self.entries.get(rel)
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if before is None or before.kind != "file" or not stat.S_ISREG(st.st_mode) or st.st_size != before.size:
            return False
        if before.sampled and (st.st_ino != before.inode or st.st_mtime_ns != before.mtime_ns):
            return False
        now = _fingerprint(path, st, self.full_hash_limit, self.sample_blocks, self.block_size)
        return now.digest == before.digest

    def holds_content(self, rel: str, data: bytes) -> bool:
        """Whether ``data`` is exactly the content recorded for the fully hashed file ``rel``."""
        before = self.entries.get(rel)
        if before is None or before.kind != "file" or before.sampled or len(data) != before.size:
            return False
        return _new_digest(data).hexdigest() == before.digest

    @contextlib.contextmanager
    def write_protected(self) -> Iterator[None]:
        """Remove write permission from the snapshot's files for the duration; restore it after.

        Take the snapshot first: only modes change, which ``violations`` does not compare. A mode
        the run changed itself is left as the run left it (and the content check still applies).
        """
        changed: list[tuple[Path, int]] = []
        try:
            for rel, entry in self.entries.items():
                if entry.kind == "file" and entry.mode & _WRITE_BITS:
                    path = self.root / rel
                    os.chmod(path, stat.S_IMODE(entry.mode) & ~_WRITE_BITS)
                    changed.append((path, entry.mode))
            yield
        finally:
            for path, mode in changed:
                with contextlib.suppress(OSError):
                    if stat.S_IMODE(os.lstat(path).st_mode) == stat.S_IMODE(mode) & ~_WRITE_BITS:
                        os.chmod(path, stat.S_IMODE(mode))

    def _changed_metadata(self, rel: str, before: _Entry, st: os.stat_result) -> str | None:
        """A change visible without reading content: another type, link target or size."""
        kind = _kind(st.st_mode)
        if kind != before.kind:
            return f"replaced: was a {before.kind}, now a {kind}"
        if kind == "symlink":
            target = os.readlink(self.root / rel)
            return None if target == before.digest else f"symlink retargeted to {target}"
        if kind == "file" and st.st_size != before.size:
            return f"modified: size {before.size} -> {st.st_size} bytes"
        return None

    def _declared(self, assets: Iterable[str]) -> tuple[set[str], list[str]]:
        declared: set[str] = set()
        problems: list[str] = []
        for asset in assets:
            rel = _normalise(asset)
            if rel is None:
                problems.append(f"{asset}: declared asset outside the session directory")
                continue
            path = self.root / rel
            if not os.path.lexists(path):
                problems.append(f"{rel}: declared asset does not exist")
                continue
            if not _resolves_inside(path, self.root):
                problems.append(f"{rel}: declared asset resolves outside the session directory")
                continue
            if not (path.is_file() or path.is_dir()):
                problems.append(f"{rel}: declared asset is not a regular file")
                continue
            declared.add(rel)
        return declared, problems


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under ``root`` (not following symlinks), as (relative POSIX path, lstat)."""
    stack = [("", root)]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as it:
            for entry in it:
                rel = f"{prefix}{entry.name}"
                st = entry.stat(follow_symlinks=False)
                yield rel, st
                if stat.S_ISDIR(st.st_mode):
                    stack.append((f"{rel}/", Path(entry.path)))


def _is_directory(path: Path) -> bool:
    """A real directory (not a symlink to one) is at ``path``."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    return "other"


def _fingerprint_all(
    root: Path, items: list[tuple[str, os.stat_result]], limit: int, blocks: int, block_size: int
) -> dict[str, _Entry]:
    """Fingerprint entries, one after the other (hashing on threads measured no faster: see bench)."""
    return {rel: _fingerprint(root / rel, st, limit, blocks, block_size) for rel, st in items}


def _fingerprint(path: Path, st: os.stat_result, limit: int, blocks: int, block_size: int) -> _Entry:
    kind = _kind(st.st_mode)
    digest = ""
    sampled = False
    if kind == "symlink":
        digest = os.readlink(path)
    elif kind == "file":
        sampled = st.st_size > limit
        try:
            digest = _sampled_hash(path, st.st_size, blocks, block_size) if sampled else _full_hash(path)
        except OSError as exc:  # vanished or unreadable: never equal to a real digest
            digest = f"<unreadable: {exc.strerror}>"
    return _Entry(kind, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode, digest, sampled)


def _new_digest(data: bytes = b"") -> hashlib.blake2b:
    return hashlib.blake2b(data, digest_size=16)


def _full_hash(path: Path) -> str:
    digest = _new_digest()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def sample_offsets(size: int, blocks: int = SAMPLE_BLOCKS, block_size: int = SAMPLE_BLOCK) -> list[int]:
    """Start offsets of the sampled blocks: head, tail and evenly spaced ones between."""
    last = max(size - block_size, 0)
    if blocks <= 1:
        return [0]
    return sorted({round(i * last / (blocks - 1)) for i in range(blocks)})


def _sampled_hash(path: Path, size: int, blocks: int, block_size: int) -> str:
    digest = _new_digest()
    digest.update(size.to_bytes(8, "little"))
    with open(path, "rb", buffering=0) as f:
        for offset in sample_offsets(size, blocks, block_size):
            f.seek(offset)
            digest.update(f.read(block_size))
    return digest.hexdigest()


def _normalise(asset: str) -> str | None:
    """A declared path as the walk names it, or None when it points outside the directory."""
    path = PurePosixPath(str(asset).replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts == (".",):
        return None
    return path.as_posix()


def _covered(rel: str, declared: set[str]) -> bool:
    """Whether a new file is a declared asset or lies inside a declared asset directory."""
    if rel in declared:
        return True
    parts = rel.split("/")
    return any("/".join(parts[:i]) in declared for i in range(1, len(parts)))


def _resolves_inside(path: Path, root: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return resolved == root or root in resolved.parents


def _parent_names(root: Path) -> frozenset[str]:
    """Names of the non-directory entries next to the session: a sibling session is not a trace."""
    if root.parent == root:
        return frozenset()
    try:
        with os.scandir(root.parent) as it:
            return frozenset(e.name for e in it if not e.is_dir(follow_symlinks=False))
    except OSError:
        return frozenset()
