"""Cost of the session guard (``take`` + preserve + ``violations``) on a synthetic large session.

The session: a few huge sparse "videos" (3 x 10 GiB by default; sparse, so they cost no disk), some
medium binary logs below the full-hash limit (fully hashed) and thousands of small files. Baselines
measured in the same run on the same tree: (a) ``os.walk`` + ``os.stat`` of every file, the least any
check must do; (b) reading every file below the full-hash limit once, without hashing (what the
curriculum itself does when it loads them); (c) a naive full hash of every byte, extrapolated from
hashing 1 GiB. The preserve step (copy the small files, hard-link the large ones, remove them after)
is timed on its own and added to the guard's cost: the ratio before/after preserving is printed; so
is the one-pass guard (``preserve_session``: each small file read once, hashed and packed, and the
check comparing bytes with the pack). ``bench_guard_small.py`` measures 20,000 small files.
Then it shows which edits are caught, and a deleted video and an edited CSV put back. Page cache is
warm (a rig checks right after the curriculum read the files).
Run: ``python bench/bench_guard.py [--large-gib 10] [--small 3000]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from _timing import median_seconds, walk_lstat

from curriculum_contract.launcher_adapter._errors import SessionDataViolation
from curriculum_contract.launcher_adapter._guard import FULL_HASH_LIMIT, SAMPLE_BLOCK, SessionSnapshot, sample_offsets
from curriculum_contract.launcher_adapter._preserve import Preserved, preserve, preserve_session


def make_session(root: Path, *, large: int, large_gib: float, medium: int, medium_mib: int, small: int) -> int:
    """Build the session; return the bytes of real (non-sparse) data written."""
    rng = random.Random(7)
    written = 0
    (root / "behavior" / "Video").mkdir(parents=True)
    for i in range(large):
        path = root / "behavior" / "Video" / f"camera{i}.avi"
        size = int(large_gib * 2**30)
        with open(path, "wb") as f:
            f.truncate(size)
            for offset in sample_offsets(size):  # real bytes where the guard samples, zeros elsewhere
                f.seek(offset)
                f.write(rng.randbytes(SAMPLE_BLOCK))
                written += SAMPLE_BLOCK
    (root / "behavior" / "Harp").mkdir()
    for i in range(medium):
        data = rng.randbytes(medium_mib * 2**20)
        (root / "behavior" / "Harp" / f"register_{i:02d}.bin").write_bytes(data)
        written += len(data)
    for i in range(small):
        folder = root / "behavior" / "Logs" / f"block_{i // 250:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(200, 32 * 1024))
        (folder / f"events_{i:05d}.csv").write_bytes(data)
        written += len(data)
    (root / "session.json").write_text('{"subject": "bench"}\n')
    return written


def read_small(root: Path) -> int:
    total = 0
    buffer = bytearray(1 << 20)
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if os.stat(path).st_size <= FULL_HASH_LIMIT:
                with open(path, "rb", buffering=0) as f:
                    while n := f.readinto(buffer):
                        total += n
    return total


def hash_rate_bytes_per_s(sample_file: Path, nbytes: int) -> float:
    """blake2b throughput reading ``nbytes`` of a (sparse) file: to extrapolate a naive full hash."""
    digest = hashlib.blake2b(digest_size=16)
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    start = time.perf_counter()
    with open(sample_file, "rb", buffering=0) as f:
        remaining = nbytes
        while remaining > 0 and (n := f.readinto(buffer)):
            digest.update(view[:n])
            remaining -= n
    return nbytes / (time.perf_counter() - start)


def one_pass(session: Path) -> None:
    with preserve_session(session) as preserved:
        preserved.snapshot.check(preserved=preserved)


def flip_byte(path: Path, offset: int, *, keep_mtime: bool) -> None:
    before = path.stat()
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1) or b"\0"
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=3, help="number of huge sparse video files")
    parser.add_argument("--large-gib", type=float, default=10.0, help="size of each, GiB")
    parser.add_argument("--medium", type=int, default=8, help="binary logs below the full-hash limit")
    parser.add_argument("--medium-mib", type=int, default=16, help="size of each, MiB")
    parser.add_argument("--small", type=int, default=3000, help="small files (200 B - 32 KiB)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where to build it (default: a temp dir)")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-guard-", dir=args.dir))
    try:
        real_bytes_needed = args.medium * args.medium_mib * 2**20 + args.small * 33 * 1024
        free = shutil.disk_usage(base).free
        if free < 3 * real_bytes_needed:
            raise SystemExit(f"not enough free disk at {base}: {free >> 20} MiB free")
        session = base / "data" / "mouse_2024-06-01"
        session.mkdir(parents=True)
        written = make_session(
            session, large=args.large, large_gib=args.large_gib, medium=args.medium,
            medium_mib=args.medium_mib, small=args.small,
        )  # fmt: skip
        blocks_used = sum(p.stat().st_blocks * 512 for p in session.rglob("*.avi"))
        apparent = sum(p.stat().st_size for p in session.rglob("*") if p.is_file())
        files = walk_lstat(session)
        print(f"session: {files} files, {apparent / 2**30:.1f} GiB apparent, {written / 2**20:.0f} MiB real data")
        print(f"  sparse videos occupy {blocks_used / 2**20:.1f} MiB on disk (the filesystem supports holes)")

        read_small(session)  # warm the page cache, as the curriculum's own reads would
        t_stat = median_seconds(lambda: walk_lstat(session), args.repeats)
        t_read = median_seconds(lambda: read_small(session), args.repeats)
        t_take = median_seconds(lambda: SessionSnapshot.take(session), args.repeats)
        snapshot = SessionSnapshot.take(session)
        t_check = median_seconds(snapshot.violations, args.repeats)
        t_preserve = median_seconds(lambda: Preserved.create(snapshot).remove(), args.repeats)
        kept = Preserved.create(snapshot)
        t_remove = median_seconds(kept.remove, 1)
        counts = kept.summary()
        video = next(session.rglob("*.avi"))
        rate = hash_rate_bytes_per_s(video, min(2**30, video.stat().st_size))
        t_naive = apparent / rate

        print("\nmedian of", args.repeats, "runs (seconds), ratios against the baselines of this run:")
        print(f"  baseline walk+stat every file        {t_stat:8.3f}")
        print(f"  baseline read every file <= 64 MiB   {t_read:8.3f}")
        print(f"  take()                               {t_take:8.3f}   {t_take / t_stat:6.1f}x walk+stat"
              f"   {t_take / t_read:5.2f}x read-small")  # fmt: skip
        print(f"  violations()                         {t_check:8.3f}   {t_check / t_stat:6.1f}x walk+stat"
              f"   {t_check / t_read:5.2f}x read-small")  # fmt: skip
        both = t_take + t_check
        print(f"  take() + violations()                {both:8.3f}   {both / t_stat:6.1f}x walk+stat"
              f"   {both / t_read:5.2f}x read-small")  # fmt: skip
        print(
            f"  preserve: create + remove            {t_preserve:8.3f}   (remove alone {t_remove:.3f}; packed "
            f"{counts['packed']} files, {counts['packed_bytes'] / 2**20:.0f} MiB; hard-linked {counts['linked']})"
        )
        guarded = both + t_preserve
        print(f"  take() + preserve + violations()     {guarded:8.3f}   {guarded / t_stat:6.1f}x walk+stat"
              f"   {guarded / t_read:5.2f}x read-small   {guarded / both:.2f}x without preserving")  # fmt: skip
        t_one = median_seconds(lambda: one_pass(session), args.repeats)
        print(f"  one pass: preserve_session + check   {t_one:8.3f}   {t_one / t_stat:6.1f}x walk+stat"
              f"   {t_one / t_read:5.2f}x read-small   {t_one / guarded:.2f}x the steps above")  # fmt: skip
        print(
            f"  naive full hash, extrapolated        {t_naive:8.1f}   (x2 for before+after: "
            f"{2 * t_naive / both:,.0f}x the guard; hashing at {rate / 2**30:.2f} GiB/s)"
        )

        print("\ndetection (each on a fresh snapshot, mtime restored with os.utime unless said):")
        small_file = next(session.rglob("events_*.csv"))
        size = video.stat().st_size
        middle = sorted(sample_offsets(size))[len(sample_offsets(size)) // 2]
        unsampled = middle + SAMPLE_BLOCK + 12345
        cases = [
            ("one-byte edit in a small file", small_file, 17, True),
            ("edit inside the middle sampled block of a video", video, middle + SAMPLE_BLOCK // 2, True),
            ("ordinary write outside the sampled blocks of a video", video, unsampled, False),
            ("edit outside the samples, mtime restored (documented blind spot)", video, unsampled + 1, True),
        ]
        for label, path, offset, keep_mtime in cases:
            snap = SessionSnapshot.take(session)
            flip_byte(path, offset, keep_mtime=keep_mtime)
            found = snap.violations()
            verdict = f"CAUGHT: {found[0]}" if found else "missed"
            print(f"  {label:68s} {verdict}")
            flip_byte(path, offset, keep_mtime=keep_mtime)  # undo
        mode = small_file.stat().st_mode
        for label, damage, undo in [
            ("chmod 000 on a small file", lambda: small_file.chmod(0), lambda: small_file.chmod(mode)),
            ("a FIFO created in the session", lambda: os.mkfifo(session / "q"), lambda: (session / "q").unlink()),
        ]:
            snap = SessionSnapshot.take(session)
            damage()
            found = snap.violations()
            print(f"  {label:68s} {f'CAUGHT: {found[0]}' if found else 'missed'}")
            undo()

        print("\nrestore (each on a fresh snapshot and preserve):")
        restores = [
            ("a deleted video", lambda: video.unlink()),
            ("a small file edited in place", lambda: flip_byte(small_file, 17, keep_mtime=True)),
        ]
        for label, damage in restores:
            snap = SessionSnapshot.take(session)
            with preserve(snap) as kept:
                damage()
                start = time.perf_counter()
                try:
                    snap.check(preserved=kept)
                except SessionDataViolation as error:
                    elapsed = time.perf_counter() - start
                    again = "session intact after" if not snap.violations() else "STILL VIOLATED"
                    print(f"  {label:32s} check + restore {elapsed:6.3f} s: {error.reason.split('; ', 1)[-1]}; {again}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
