"""Detect what a curriculum run did to the session directory: the session's files must never be lost.

``SessionSnapshot.take`` records every entry under the session directory before the run (type,
mode, size, inode, a content fingerprint; directories with their mode); ``violations`` compares
after it and lists, one line each:

- a pre-existing entry deleted, modified (content, size), replaced (another inode or type, a
  symlink retargeted) or given other permission bits (``mode 0644 -> 0000``; directories too);
- a new special file (FIFO, socket, device) anywhere, declared asset folders included: special
  files are never opened, only ``lstat``-ed (see ``_fingerprint``), so one cannot hang the guard;
- a new symlink, or a declared asset, that resolves outside the session directory;
- a declared asset that is missing, or not a regular file;
- a new file that is neither a declared asset nor one of the adapter's own outputs (``allowed_new``);
- a new file (not directory) next to the session directory: the trace of a write through ``..``.
  Sibling session directories appearing meanwhile are fine (so is the adapter's own preserve
  directory, see ``_preserve``); a file another process drops into the data root during the run (a
  store's journal, a log) would be reported too — keep those elsewhere, or ``watch_parent=False``.

Symlinks the session already holds that lead outside it (see ``_links``) are refused up front
(``ExternalLinkRefused``, ``external_links="refuse"``, the default), or with
``external_links="guard"`` their targets — a file, every entry under a directory — are fingerprinted,
checked, preserved and restored exactly like session files, named by their absolute path.

``compare`` also names the lost entries (deleted, modified, replaced, mode changed), and
``check(preserved=...)`` puts them back from the versions ``_preserve`` kept before raising.

Cost: files up to ``full_hash_limit`` (64 MiB) — the metadata, CSVs and logs a curriculum reads —
are read in full before the run, and any edit to them is caught. After it, one whose change time
(ctime, which no process can set) and the rest of its ``lstat`` are as recorded was not written
(``_fingerprint.untouched``) and is not read again; any other is compared byte for byte with its packed
copy while the pack is as sealed, else hashed (blake2b). Packed files that are settled (changed at
least ``SETTLED_NS`` before the snapshot) are not hashed at all (``_batches._run_packing``). Larger
files are fingerprinted by size, mtime_ns, inode and a hash of sampled blocks (head, tail, evenly
spaced blocks between, the middle among them). ``bench/bench_guard_small.py`` has the figures.

Residual risk, by design: an edit to a large file that keeps its size, lands outside every sampled
block AND restores the file's mtime (``os.utime``) goes unseen; ordinary writes change the mtime and
are caught. A large file is preserved by a hard link only, so an in-place write into it is detected
but cannot be undone. Writes outside the session other than into its parent directory and the
guarded link targets (``../../x``, absolute paths) are not seen. Run the curriculum against
read-only files (``SessionSnapshot.write_protected``) to also stop in-place writes — which does not
stop a process running as root, or one that changes the modes back (that is caught and undone).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ._batches import fingerprint_many
from ._compare import ROOT_KEY, Findings, compare_snapshot, parent_names
from ._errors import ExternalLinkRefused, SessionDataViolation
from ._fingerprint import (
    FULL_HASH_LIMIT,
    SAMPLE_BLOCK,
    SAMPLE_BLOCKS,
    Entry,
    Limits,
    Pack,
    fingerprint,
    new_digest,
    sample_offsets,
    scan,
    settled_before,
)
from ._links import ExternalTargets, external_links

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._preserve import Preserved

__all__ = ["FULL_HASH_LIMIT", "SAMPLE_BLOCK", "SAMPLE_BLOCKS", "Findings", "SessionSnapshot", "sample_offsets"]

ExternalLinks = Literal["refuse", "guard"]
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


class SessionSnapshot:
    """What a session directory held before a run, to compare with what it holds after."""

    def __init__(
        self,
        root: Path,
        entries: dict[str, Entry],
        directories: Mapping[str, int],
        parent_names: frozenset[str] | None,
        *,
        limits: Limits | None = None,
        root_mode: int = 0o40755,
        external: ExternalTargets | None = None,
        warnings: Iterable[str] = (),
        threads: int | None = None,
        unlisted: Iterable[str] = (),
        settled_before_ns: int = 0,
    ) -> None:
        self.root = root
        self.entries = entries
        #: session-relative (or, for guarded link targets, absolute) path of each directory -> st_mode
        self.directories = dict(directories)
        self.parent_names = parent_names
        self.limits = limits or Limits()
        self.root_mode = root_mode
        self.external = external or ExternalTargets()
        #: one line each: what the snapshot could not cover (a directory it cannot list)
        self.warnings = list(warnings)
        self.threads = threads
        #: directories that could not be listed when the snapshot was taken
        self.unlisted = frozenset(unlisted)
        #: files whose change time is before this and unchanged are not read again (``_fingerprint.untouched``)
        self.settled_before_ns = settled_before_ns
        self._root = str(root)

    @property
    def full_hash_limit(self) -> int:
        return self.limits.full_hash_limit

    @classmethod
    def take(
        cls,
        session_dir: str | os.PathLike[str],
        *,
        full_hash_limit: int = FULL_HASH_LIMIT,
        sample_blocks: int = SAMPLE_BLOCKS,
        block_size: int = SAMPLE_BLOCK,
        watch_parent: bool = True,
        external_links: ExternalLinks = "refuse",
        threads: int | None = None,
    ) -> SessionSnapshot:
        """Record every entry under ``session_dir`` (it must exist); see the module doc.

        ``external_links``: ``"refuse"`` raises ``ExternalLinkRefused`` when a symlink in the session
        leads outside it; ``"guard"`` records the targets too. ``threads``: hashing threads (default:
        one on two cores or fewer, else one per core up to 4).
        """
        limits = Limits(full_hash_limit, sample_blocks, block_size)
        return take_snapshot(session_dir, limits, watch_parent, external_links, threads)[0]

    def path_of(self, key: str) -> str:
        """The absolute path of an entry: session-relative keys below the root, guarded ones as is."""
        if key.startswith("/"):
            return key
        return self._root if key in ("", ROOT_KEY) else f"{self._root}/{key}"

    def name_of(self, key: str) -> str:
        """How a violation names an entry: its session path, or ``/abs/path (via link)``."""
        return f"{key} (via {self.external.via(key)})" if key.startswith("/") else key

    def base_of(self, key: str) -> tuple[str, str]:
        """The directory below which a restore may recreate directories, and ``key`` below it."""
        return self.external.base_of(key) if key.startswith("/") else (self._root, key)

    def violations(self, *, declared_assets: Iterable[str] = (), allowed_new: Iterable[str] = ()) -> list[str]:
        """Every way the directory now differs from the snapshot that breaks the contract, one line each."""
        return self.compare(declared_assets=declared_assets, allowed_new=allowed_new).lines

    def compare(
        self,
        *,
        declared_assets: Iterable[str] = (),
        allowed_new: Iterable[str] = (),
        preserved: Preserved | None = None,
    ) -> Findings:
        """The violations, and which pre-existing entries were lost (what a restore puts back).

        With ``preserved`` whose pack is untouched since it was sealed, small files are compared
        byte for byte with their packed copy instead of hashed again (the same verdict, cheaper).
        """
        with contextlib.ExitStack() as stack:
            reference = stack.enter_context(preserved.reference()) if preserved is not None else None
            return compare_snapshot(self, declared_assets, allowed_new, reference)

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
        findings = self.compare(declared_assets=declared_assets, allowed_new=allowed_new, preserved=preserved)
        if not findings.lines:
            return
        lines, restored, not_restored = list(findings.lines), [], []
        if preserved is not None and findings.lost:
            restored, not_restored = preserved.restore(findings.lost)
            if findings.unlisted:  # their modes are back: what they hold can be compared now
                again = self.compare(declared_assets=declared_assets, allowed_new=allowed_new, preserved=preserved)
                lines += [line for line in again.lines if line not in lines]
                more, failed = preserved.restore([key for key in again.lost if key not in restored])
                restored, not_restored = restored + more, not_restored + failed
        raise SessionDataViolation(lines, self._root, restored=restored, not_restored=not_restored)

    def holds(self, key: str, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` is a regular file with what the snapshot recorded for ``key``.

        A fully hashed file must have the same content; a sampled (large) one must also be the same
        inode with the same mtime, since its unsampled bytes are not compared.
        """
        before = self.entries.get(key)
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if before is None or before.kind != "file" or not stat.S_ISREG(st.st_mode) or st.st_size != before.size:
            return False
        if before.sampled and (st.st_ino != before.inode or st.st_mtime_ns != before.mtime_ns):
            return False
        now, _ = fingerprint(os.fspath(path), st, self.limits)
        return now.readable and now.digest == before.digest

    def holds_content(self, key: str, data: bytes) -> bool:
        """Whether ``data`` is exactly the content recorded for the fully hashed file ``key``."""
        before = self.entries.get(key)
        if before is None or before.kind != "file" or before.sampled or len(data) != before.size:
            return False
        return before.readable and new_digest(data).hexdigest() == before.digest

    @contextlib.contextmanager
    def write_protected(self) -> Iterator[None]:
        """Remove write permission from the snapshot's files for the duration; restore it after.

        Modes are compared: check after the block, not inside it. A mode the run changed itself is
        left as the run left it here, and the check reports it (and a restore puts it back).
        """
        changed: list[tuple[str, int]] = []
        try:
            for key, entry in self.entries.items():
                if entry.kind == "file" and entry.mode & _WRITE_BITS:
                    path = self.path_of(key)
                    os.chmod(path, stat.S_IMODE(entry.mode) & ~_WRITE_BITS)
                    changed.append((path, entry.mode))
            yield
        finally:
            for path, mode in changed:
                with contextlib.suppress(OSError):
                    st = os.lstat(path)
                    if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == stat.S_IMODE(mode) & ~_WRITE_BITS:
                        os.chmod(path, stat.S_IMODE(mode))


def take_snapshot(
    session_dir: str | os.PathLike[str],
    limits: Limits,
    watch_parent: bool,
    external_links_mode: ExternalLinks,
    threads: int | None,
    plan: Callable[[list[tuple[int, str]]], Pack] | None = None,
) -> tuple[SessionSnapshot, set[str]]:
    """``SessionSnapshot.take``; with ``plan``, the files its pack has slots for are packed as read.

    Returns the snapshot and the keys whose bytes went into their pack slot.
    """
    if external_links_mode not in ("refuse", "guard"):
        raise ValueError(f"external_links must be 'refuse' or 'guard', not {external_links_mode!r}")
    settled = settled_before(time.time_ns())
    root = Path(session_dir).resolve(strict=True)
    root_st = os.lstat(root)
    if not stat.S_ISDIR(root_st.st_mode):
        raise NotADirectoryError(f"session directory {root} is not a directory")
    top = str(root)
    found, unlisted = scan(top)
    external = ExternalTargets()
    links = external_links(top, found)
    if links and external_links_mode == "refuse":
        raise ExternalLinkRefused(top, links)
    if links:
        external, outside, missed = ExternalTargets.discover(top, links)
        found.update(outside)
        unlisted.update(missed)
    directories = {key: st.st_mode for key, st in found.items() if stat.S_ISDIR(st.st_mode)}
    others = [(key, st) for key, st in found.items() if not stat.S_ISDIR(st.st_mode)]
    pack = None
    if plan is not None:
        limit = limits.full_hash_limit
        pack = plan([(st.st_size, key) for key, st in others if stat.S_ISREG(st.st_mode) and st.st_size <= limit])
    items = [(key, key if key.startswith("/") else f"{top}/{key}", st) for key, st in others]
    results = fingerprint_many(items, limits, threads, pack=pack, settled_before_ns=settled)
    entries = {key: entry for key, (entry, _) in results.items()}
    packed = {key for key, (_, ok) in results.items() if ok}
    warnings = [
        f"{key or 'the session directory'}: cannot be listed ({why}): what it holds is not guarded"
        for key, why in sorted(unlisted.items())
    ]
    snapshot = SessionSnapshot(
        root,
        entries,
        directories,
        parent_names(top) if watch_parent else None,
        limits=limits,
        root_mode=root_st.st_mode,
        external=external,
        warnings=warnings,
        threads=threads,
        unlisted=unlisted,
        settled_before_ns=settled,
    )
    return snapshot, packed
