"""Keep a restorable version of a session's files while a curriculum runs; put lost ones back after.

``preserve_session(session_dir)`` snapshots and preserves in one pass (every small file is read
once and packed; hashed unless settled, see ``_batches._run_packing``); ``preserve(snapshot)``
preserves a snapshot already taken (reading the small files again). Both keep, in a hidden
directory next to the session, ``<parent>/.<session>.curriculum-preserve-XXXXXXXX/``:

- ``snapshot.json``: the snapshot itself (every entry's type, mode, size, inode, fingerprint, link
  target; the directories and their modes; guarded link targets) and where each preserved version
  is, written atomically before the run: a launcher killed outright leaves a folder that
  ``recover_session`` (``_recover``) can use. While the run lasts the adapter holds an exclusive
  ``flock`` on the directory, so a recovery never touches a live one;
- files up to the snapshot's full-hash limit (metadata, CSVs, logs: what a curriculum reads, and
  what ``open(path, "w")`` or an append changes in place) are copied into ONE pack file
  (``small-files.pack``; creating thousands of small files costs far more than writing their
  bytes), up to a budget (``COPY_BUDGET``, and never more than a tenth of the free space; the
  smallest files first when they do not all fit); any beyond it are hard-linked, and the launch
  record says so;
- ``small-files.seal``: the pack's identity once sealed (inode, size, mtime, ctime), by which a
  comparison, or a recovery after a crash, knows the pack is as it was written;
- larger files (video, tens of GB) are hard-linked, flat, as ``linked/<path, "/" as %2F>`` (a
  guarded link target by its absolute path): instant, no disk. A link is the same file under
  another name, so it survives a deletion, a rename over the file and its replacement by a new file
  (how most tools "edit"); it does NOT survive an in-place write, which the guard detects but
  cannot undo. Where a hard link is impossible (another filesystem, one without hard links) the
  file is not preserved — never copied — and the warnings (in the record) say so.
- symlinks, directories, FIFOs and devices need no copy: the snapshot holds all there is to them
  (a socket cannot be recreated: its loss is reported).

Nothing is fsynced while preserving (a run costs no disk flush): after a power loss, a copy that
did not reach the disk fails its check against the snapshot and is reported, never restored.

Why next to the session: a hard link only works within one filesystem, and the session's parent is
the nearest place on it that is not the session itself (nothing of the adapter may stay in the
session, and the curriculum walks it). The guard never reports directories appearing next to the
session, so it does not report this one. It is sealed during the run (``_workspace``), so a
careless curriculum can neither change nor delete what it holds (one running as the launcher's user,
set on it, could change the modes back: docs/launcher.md says what that leaves). It is removed after the
run, success or failure, exceptions included; deleting it never touches the session.

``restore(lost)`` (``_restore``) puts back each lost entry: a mode alone is set back; otherwise its
preserved version is first checked against the snapshot (one changed meanwhile is not restored),
then written (a packed file) or linked (a linked one) to a temporary name in the target's
directory and moved over the path with ``os.replace`` (atomic), with the recorded mode and mtime;
a symlink, FIFO or device node is recreated from the snapshot. The curriculum's modified version is dropped:
kept inside the session it would be an undeclared file that data pipelines upload, kept next to
it debris that nothing cleans; a curriculum is deterministic on its inputs, so rerunning it on the
restored session reproduces it. Files the curriculum created are never deleted: the guard reports
them and they stay.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ._batches import copy_many
from ._fingerprint import FULL_HASH_LIMIT, SAMPLE_BLOCK, SAMPLE_BLOCKS, Limits, Pack, Slot
from ._guard import ExternalLinks, SessionSnapshot, take_snapshot
from ._workspace import MANIFEST_NAME, PACK_NAME, PRESERVE_INFIX, SEAL_NAME, Link, Workspace, remove_directory

__all__ = [
    "MANIFEST_NAME",
    "PACK_NAME",
    "PRESERVE_INFIX",
    "SEAL_NAME",
    "Preserved",
    "preserve",
    "preserve_session",
    "remove_directory",
]

#: Bytes of small files copied at most per run; the rest are hard-linked.
COPY_BUDGET = 2**30
#: Copies never take more than this share of the free space of the session's filesystem.
FREE_SPACE_SHARE = 0.1


class Preserved:
    """A session's files kept next to it for one run (see the module doc); ``restore`` puts them back."""

    def __init__(self, snapshot: SessionSnapshot, workspace: Workspace | None = None) -> None:
        self.snapshot = snapshot
        self.workspace = workspace
        #: entry key -> (offset, size) of its copy in the pack
        self.packed: dict[str, Slot] = {}
        #: entry key -> its hard link
        self.linked: dict[str, Path] = {}
        #: entry key -> why it has no preserved version
        self.unpreserved: dict[str, str] = {}
        #: one line each, for the launch record: what could not be preserved (or guarded) as intended
        self.warnings: list[str] = list(snapshot.warnings)
        self._budget = 0
        self._slots: dict[str, Slot] = {}

    @property
    def directory(self) -> Path | None:
        return self.workspace.directory if self.workspace is not None else None

    @property
    def pack(self) -> Path | None:
        return self.workspace.pack if self.workspace is not None else None

    @property
    def lock_fd(self) -> int | None:
        """The descriptor holding the folder's flock while the run lasts (None once removed)."""
        return self.workspace.lock_fd if self.workspace is not None else None

    @classmethod
    def create(cls, snapshot: SessionSnapshot, *, copy_budget: int = COPY_BUDGET, link: Link = os.link) -> Preserved:
        """Pack the small files (reading them again) and hard-link the large ones; never raises for a file."""
        preserved = cls(snapshot)
        if not preserved._open(copy_budget):
            return preserved
        try:
            files = [(e.size, key) for key, e in snapshot.entries.items() if e.kind == "file" and not e.sampled]
            pack = preserved._plan(files)
            items = []
            for key in pack.slots:
                try:
                    items.append((key, snapshot.path_of(key), os.lstat(snapshot.path_of(key))))
                except OSError as exc:
                    preserved.unpreserved[key] = f"copy failed: {exc.strerror or exc}"
            for key, why in copy_many(items, pack, snapshot.threads).items():
                if why is None:
                    preserved.packed[key] = pack.slots[key]
                else:
                    preserved.unpreserved[key] = why
            preserved._finish(link)
        except BaseException:
            preserved.remove()
            raise
        return preserved

    @classmethod
    def take(
        cls,
        session_dir: str | os.PathLike[str],
        *,
        copy_budget: int = COPY_BUDGET,
        link: Link = os.link,
        external_links: ExternalLinks = "refuse",
        watch_parent: bool = True,
        threads: int | None = None,
        full_hash_limit: int = FULL_HASH_LIMIT,
        sample_blocks: int = SAMPLE_BLOCKS,
        block_size: int = SAMPLE_BLOCK,
    ) -> Preserved:
        """Snapshot ``session_dir`` and preserve it in one pass; ``.snapshot`` is the snapshot.

        Takes ``SessionSnapshot.take``'s options; every small file is read once, hashed and packed.
        """
        root = Path(session_dir).resolve(strict=True)
        limits = Limits(full_hash_limit, sample_blocks, block_size)
        preserved = cls(SessionSnapshot(root, {}, {}, None, limits=limits))
        failure = preserved._open(copy_budget)
        try:
            plan = preserved._plan if preserved.workspace is not None else None
            snapshot, packed = take_snapshot(root, limits, watch_parent, external_links, threads, plan)
            preserved.snapshot = snapshot
            preserved.warnings = list(snapshot.warnings)
            if preserved.workspace is None:
                preserved._unpreserve_all(str(failure))
                return preserved
            for key, slot in preserved._slots.items():
                if key in packed:
                    preserved.packed[key] = slot
                elif (entry := snapshot.entries.get(key)) is not None:
                    why = entry.unreadable_reason or "its size changed while being read"
                    preserved.unpreserved[key] = f"copy failed: {why}"
            preserved._finish(link)
        except BaseException:
            preserved.remove()
            raise
        return preserved

    @classmethod
    def load(cls, directory: Path) -> tuple[Preserved, dict[str, Any]]:
        """A leftover preserve folder, locked, as its manifest describes it; and who wrote it when.

        Raises ``BlockingIOError`` while a launch holds it, ``ManifestError`` without a usable
        manifest. ``remove()`` deletes it and releases the lock, ``release()`` only the lock.
        """
        from ._manifest import read_manifest

        workspace = Workspace.adopt(directory)
        try:
            manifest = read_manifest(directory)
        except BaseException:
            workspace.release()
            raise
        preserved = cls(manifest.snapshot, workspace)
        preserved.packed, preserved.linked = manifest.packed, manifest.linked
        preserved.unpreserved = manifest.unpreserved
        return preserved, manifest.meta

    def _open(self, copy_budget: int) -> str | bool:
        """Make the folder next to the session; True, or why not (then nothing is preserved)."""
        try:
            self.workspace = Workspace.make(self.snapshot.root)
        except OSError as exc:
            why = f"cannot create a directory next to the session: {exc.strerror or exc}"
            self._unpreserve_all(why)
            return why
        self._budget = self.workspace.budget(copy_budget, FREE_SPACE_SHARE)
        return True

    def _plan(self, files: list[tuple[int, str]]) -> Pack:
        """A slot in the pack for each small file, smallest first, within the budget.

        The slots follow the order of ``files`` (the walk's): reading files in size order, across
        directories, measured far slower than in the order the walk found them.
        """
        assert self.workspace is not None
        budget = self._budget
        chosen: set[str] = set()
        beyond: list[str] = []
        for size, key in sorted(files):
            if size <= budget:
                chosen.add(key)
                budget -= size
            else:
                beyond.append(key)
        offset = 0
        for size, key in files:
            if key in chosen:
                self._slots[key] = (offset, size)
                offset += size
        if beyond:
            self.warnings.append(
                f"{len(beyond)} small session file(s) beyond the copy budget were hard-linked, not copied "
                f"(an in-place write to them cannot be undone), e.g. {beyond[-1]}"
            )
        return self.workspace.pack_for(self._slots)

    def _finish(self, link: Link) -> None:
        """Link what was not packed, write the manifest, seal the folder."""
        from ._manifest import write_manifest

        assert self.workspace is not None
        files = sorted(key for key, e in self.snapshot.entries.items() if e.kind == "file")
        sources = {k: self.snapshot.path_of(k) for k in files if k not in self.packed and k not in self.unpreserved}
        self.linked, failed = self.workspace.link_all(sources, link)
        self.unpreserved.update(failed)
        self._warn_unpreserved()
        write_manifest(self)
        self.workspace.seal()

    def _unpreserve_all(self, reason: str) -> None:
        self.unpreserved = {key: reason for key, e in self.snapshot.entries.items() if e.kind == "file"}
        self._warn_unpreserved()

    def _warn_unpreserved(self) -> None:
        if self.unpreserved:
            key, reason = next(iter(sorted(self.unpreserved.items())))
            more = f" and {len(self.unpreserved) - 1} more" if len(self.unpreserved) > 1 else ""
            self.warnings.append(
                f"{len(self.unpreserved)} session file(s) not preserved during the run, a loss of them "
                f"cannot be undone: {key} ({reason}){more}"
            )

    def restore(self, lost: Iterable[str]) -> tuple[list[str], list[str]]:
        """Put each lost entry back; return (restored keys, ``"key: why not"`` lines)."""
        from ._restore import restore_entries

        return restore_entries(self, lost)  # the SessionDataViolation raised next says both

    @contextlib.contextmanager
    def reference(self) -> Iterator[Pack | None]:
        """The sealed pack to compare session files with (None once it changed, or without one)."""
        if self.workspace is None:
            yield None
            return
        with self.workspace.reference(self.packed) as pack:
            yield pack

    def unpack(self, key: str) -> bytes:
        """The packed copy of ``key``'s bytes."""
        assert self.workspace is not None
        return self.workspace.unpack(self.packed[key])

    def remove(self) -> None:
        """Delete the preserved versions (never the session's files); log, never raise, on failure."""
        workspace, self.workspace = self.workspace, None
        if workspace is not None:
            workspace.remove(str(self.snapshot.root))

    def release(self) -> None:
        """Leave the folder in place (a recovery keeping it for an operator); release the lock."""
        workspace, self.workspace = self.workspace, None
        if workspace is not None:
            workspace.release()

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


@contextlib.contextmanager
def preserve_session(session_dir: str | os.PathLike[str], **options: Any) -> Iterator[Preserved]:
    """``Preserved.take`` (snapshot and preserve in one pass) for a block; ``.snapshot`` checks it."""
    preserved = Preserved.take(session_dir, **options)
    try:
        yield preserved
    finally:
        preserved.remove()
