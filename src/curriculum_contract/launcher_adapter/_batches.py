"""Fingerprint many files in batches: the pack is written (or read) once per batch, not once per file.

A batch is up to ``BATCH_FILES`` files or ``BATCH_BYTES`` of them, in the walk's order (reading in
another order, across directories, measured much slower). Files with a pack slot come first, in
slot order, so a batch's slots are contiguous: one ``pwrite`` stores them, one ``pread`` fetches
them for a comparison. Batches run on threads when there are several and more than two cores:
hashlib releases the GIL, but every syscall takes it back, and on a 2-core machine already busy
threads measured slower than one (``bench/bench_guard_small.py`` prints both); ``threads=`` decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ._fingerprint import (
    PENDING,
    READ_CHUNK,
    UNREADABLE,
    Entry,
    Limits,
    Pack,
    fingerprint,
    new_digest,
    packed_digest,
    read_regular,
)

#: Threads at most.
MAX_THREADS = 4
BATCH_FILES = 256
BATCH_BYTES = 8 * 2**20
#: Buffers one ``pwritev`` takes at most (POSIX guarantees 16; Linux takes 1,024); the rest is written plainly.
_IOV_MAX = 1024
T = TypeVar("T")
J = TypeVar("J", bound=tuple)


Item = tuple[str, str, os.stat_result]  # key, path, lstat
Fingerprinted = list[tuple[str, tuple[Entry, bool]]]  # key, (entry, whether its bytes went into the pack)


def fingerprint_many(
    items: list[Item],
    limits: Limits,
    threads: int | None = None,
    *,
    pack: Pack | None = None,
    known: Mapping[str, Entry] | None = None,
    settled_before_ns: int = 0,
) -> dict[str, tuple[Entry, bool]]:
    """``fingerprint`` every item, in batches (on a few threads when there are several batches).

    With a ``pack`` to write, the files it has slots for are packed as they are read (True in the
    result when their bytes went in); with one to read, they are compared with their slot there,
    ``known`` giving the recorded entries. A batch writes or reads its pack span in one call.
    A packed file last changed before ``settled_before_ns`` is not hashed (see ``_run_packing``).
    """
    slots = pack.slots if pack is not None else {}
    ordered = sorted((item for item in items if item[0] in slots), key=lambda item: slots[item[0]][0])
    ordered += [item for item in items if item[0] not in slots]

    def run(batch: list[Item]) -> list[tuple[str, tuple[Entry, bool]]]:
        if pack is None or not any(item[0] in slots for item in batch):
            return [(key, (fingerprint(path, st, limits)[0], False)) for key, path, st in batch]
        if pack.write:
            return _run_packing(batch, limits, pack, settled_before_ns)
        assert known is not None
        return _run_comparing(batch, limits, pack, known)

    return dict(pair for batch in _map_batches(run, ordered, threads) for pair in batch)


def copy_many(items: list[Item], pack: Pack, threads: int | None = None) -> dict[str, str | None]:
    """Copy each item's bytes into its slot of ``pack``: key -> None, or why it was not copied."""

    def run(batch: list[Item]) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        writes = _Writes(pack)
        for key, path, st in batch:
            data = read_regular(path, st)
            if isinstance(data, str):
                out.append((key, f"copy failed: {data[len(UNREADABLE) + 2 : -1]}"))
            elif len(data) != pack.slots[key][1]:
                out.append((key, "copy failed: its size changed since the snapshot"))
            else:
                writes.add(key, data)
                out.append((key, None))
        failed = writes.flush()
        return [(key, failed.get(key, why)) for key, why in out]

    ordered = sorted(items, key=lambda item: pack.slots[item[0]][0])
    return dict(pair for batch in _map_batches(run, ordered, threads) for pair in batch)


class _Writes:
    """Bytes bound for consecutive pack slots, written with one ``pwrite`` per contiguous run."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.runs: list[tuple[int, list[str], list[bytes]]] = []
        self.end = -1

    def add(self, key: str, data: bytes) -> None:
        offset = self.pack.slots[key][0]
        alone = len(data) >= READ_CHUNK  # written on its own: joining it to others would copy it
        if alone or not self.runs or offset != self.end:
            self.runs.append((offset, [], []))
        self.runs[-1][1].append(key)
        self.runs[-1][2].append(data)
        self.end = -1 if alone else offset + len(data)

    def flush(self) -> dict[str, str]:
        """Write every run; return key -> why for the files whose bytes could not be written."""
        failed: dict[str, str] = {}
        for offset, keys, parts in self.runs:
            try:
                _pwrite_all(self.pack.fd, parts, offset)
            except OSError as exc:
                failed.update({key: f"copy failed: {exc.strerror or exc}" for key in keys})
        self.runs = []
        return failed


def _pwrite_all(fd: int, parts: list[bytes], offset: int) -> None:
    """Write ``parts`` back to back at ``offset``: one ``pwritev`` (no joined copy) where there is one."""
    if hasattr(os, "pwritev") and len(parts) > 1:
        total = sum(map(len, parts))
        written = os.pwritev(fd, parts[:_IOV_MAX], offset)
        if written == total:
            return
        data = b"".join(parts)[written:]  # a short or partial write (rare): finish plainly
        offset += written
    else:
        data = b"".join(parts)
    view = memoryview(data)
    while view:
        view = view[os.pwrite(fd, view, offset + len(data) - len(view)) :]


def _run_packing(batch: list[Item], limits: Limits, pack: Pack, settled_before_ns: int) -> Fingerprinted:
    """Read the batch and write its pack span; a packed, settled file's digest is ``packed_digest``.

    Such a file needs no hash: unchanged, its change time says so (``_fingerprint.untouched``);
    changed, it is compared with its packed copy while the pack is as sealed. Hashing them would cost
    more than reading them (20,000 files: 205 MiB of blake2b, 0.3 s, against 0.25 s to read them all).
    The others (not packed, or changed too recently for their change time to tell) are hashed.
    """
    out: list[tuple[str, Entry, bytes | None]] = []
    writes = _Writes(pack)
    for key, path, st in batch:
        slot = pack.slots.get(key)
        entry, data = fingerprint(path, st, limits, keep=slot is not None, defer_hash=True)
        if slot is not None and data is not None and len(data) == slot[1]:
            writes.add(key, data)
        out.append((key, entry, data))
    packed = {key for _, keys, _ in writes.runs for key in keys}
    packed -= set(writes.flush())
    settled = settled_before_ns
    return [(key, (_digested(entry, data, key in packed, settled), key in packed)) for key, entry, data in out]


def _digested(entry: Entry, data: bytes | None, packed: bool, settled_before_ns: int) -> Entry:
    if data is None or entry.digest != PENDING:
        return entry
    if packed and 0 < entry.ctime_ns < settled_before_ns:
        return entry._replace(digest=packed_digest(data))
    return entry._replace(digest=new_digest(data).hexdigest())


def _run_comparing(
    batch: list[Item], limits: Limits, pack: Pack, known: Mapping[str, Entry]
) -> list[tuple[str, tuple[Entry, bool]]]:
    spans = [pack.slots[key] for key, _, _ in batch if key in pack.slots]
    low = spans[0][0]
    high = max(offset + size for offset, size in spans)
    window = os.pread(pack.fd, high - low, low) if high - low <= 4 * BATCH_BYTES else None
    out: list[tuple[str, tuple[Entry, bool]]] = []
    for key, path, st in batch:
        slot = pack.slots.get(key)
        if slot is None:
            out.append((key, (fingerprint(path, st, limits)[0], False)))
            continue
        offset, size = slot
        held = window[offset - low : offset - low + size] if window is not None else os.pread(pack.fd, size, offset)
        entry, _ = fingerprint(path, st, limits, expected=(held, known[key].digest))
        out.append((key, (entry, False)))
    return out


def _map_batches(function: Callable[[list[J]], T], jobs: list[J], threads: int | None) -> Iterator[T]:
    """``function`` over batches of jobs, on threads when there are several batches and cores."""
    batches = list(_batches(jobs))
    workers = min(threads or default_threads(), len(batches))
    if workers <= 1:
        return map(function, batches)
    with ThreadPoolExecutor(workers, thread_name_prefix="session-guard") as pool:
        return iter(list(pool.map(function, batches)))


def default_threads() -> int:
    """One thread on two cores or fewer (threads measured slower there), else one per core up to ``MAX_THREADS``."""
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(MAX_THREADS, cores)


def _batches(jobs: Iterable[J]) -> Iterator[list[J]]:
    batch: list[J] = []
    size = 0
    for job in jobs:
        batch.append(job)
        size += min(job[2].st_size, BATCH_BYTES)  # a big file closes its batch
        if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
