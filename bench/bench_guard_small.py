"""Cost of the whole session guard on a session of many small files, and on one of large sparse videos.

Case 1, 20,000 small files (1-20 KiB, 64 per directory: ~310 directories): the guard is snapshot +
preserve + check (no change) + removal of the preserved copies, timed two ways: in one pass
(``preserve_session``: each small file read once, hashed and packed) and in two steps
(``SessionSnapshot.take`` then ``preserve(snapshot)``, which reads the small files again). The
baselines, measured in the same rounds: ``os.walk`` + ``lstat`` of every file (the least any check
does) and reading every file once (what the curriculum itself does when it loads them).

Case 2, a session of large sparse videos (3 x 10 GiB, sampled and hard-linked, plus a session.json):
two curriculum processes are run with and without the guard around them: a bare one (this
interpreter reading session.json and printing a JSON document) and one that imports the SDK, as
every curriculum built on it does; the ratios are what the guard adds to a launch. The guard alone
is timed too.

The small files are settled before the rounds (changed more than ``SETTLED_NS`` before: a session
is written before its launch), so the one-pass guard packs them without hashing; the two-step variant
hashes every file (a plain snapshot has no pack to compare with), as a guard of files just written does.
Rounds interleave every variant, so a machine busy with other work slows all of them alike; figures
are medians, and ratios are taken within each round before their median. Page cache is warm (a rig
checks right after the curriculum read the files). It prints figures and never fails on timing.
Run: ``python bench/bench_guard_small.py [--files 20000] [--rounds 7] [--videos 3] [--video-gib 10]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _timing import walk_lstat

from curriculum_contract.launcher_adapter._fingerprint import SETTLED_NS
from curriculum_contract.launcher_adapter._guard import SAMPLE_BLOCK, SessionSnapshot, sample_offsets
from curriculum_contract.launcher_adapter._preserve import preserve, preserve_session


def make_small_session(root: Path, files: int, per_directory: int = 64) -> int:
    """``files`` files of 1-20 KiB of random bytes; return the bytes written."""
    rng = random.Random(11)
    written = 0
    for i in range(files):
        folder = root / "behavior" / f"block_{i // per_directory:04d}"
        if i % per_directory == 0:
            folder.mkdir(parents=True)
        data = rng.randbytes(rng.randint(1024, 20 * 1024))
        (folder / f"events_{i:05d}.csv").write_bytes(data)
        written += len(data)
    (root / "session.json").write_text('{"subject": "bench"}\n')
    return written


def make_video_session(root: Path, videos: int, gib: float) -> None:
    """Sparse videos: real bytes where the guard samples, holes elsewhere (no disk)."""
    rng = random.Random(5)
    (root / "behavior" / "Video").mkdir(parents=True)
    for i in range(videos):
        size = int(gib * 2**30)
        with open(root / "behavior" / "Video" / f"camera{i}.avi", "wb") as f:
            f.truncate(size)
            for offset in sample_offsets(size):
                f.seek(offset)
                f.write(rng.randbytes(SAMPLE_BLOCK))
    (root / "session.json").write_text('{"subject": "bench"}\n')


def read_every_file(root: Path) -> int:
    total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(directory, name), "rb", buffering=0) as f:
                total += len(f.read())
    return total


def guard_one_pass(session: Path, threads: int | None = None) -> None:
    with preserve_session(session, threads=threads) as preserved:
        preserved.snapshot.check(preserved=preserved)


def guard_two_steps(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    with preserve(snapshot) as preserved:
        snapshot.check(preserved=preserved)


def rounds(variants: dict[str, Callable[[], object]], count: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(count):
        for name, function in variants.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def ratio(times: dict[str, list[float]], name: str, baseline: str) -> float:
    return statistics.median(a / b for a, b in zip(times[name], times[baseline], strict=True))


def report(times: dict[str, list[float]], baselines: list[str]) -> None:
    for name, values in times.items():
        line = f"  {name:42s} {statistics.median(values):7.3f} s"
        for baseline in baselines:
            if name != baseline:
                line += f"   {ratio(times, name, baseline):6.2f}x {baseline}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--video-gib", type=float, default=10.0)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the sessions (default: a temp dir)")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-guard-small-", dir=args.dir))
    try:
        small = base / "data" / "mouse_small"
        written = make_small_session(small, args.files)
        read_every_file(small)  # warm the page cache, as the curriculum's own reads would
        time.sleep(SETTLED_NS / 1e9)  # settled, as a session is by the time it is launched
        directories = sum(1 for _ in os.walk(small))
        print(f"case 1: {args.files} small files, {written / 2**20:.0f} MiB, {directories} directories")
        times = rounds(
            {
                "baseline: os.walk + lstat every file": lambda: walk_lstat(small),
                "baseline: read every file once": lambda: read_every_file(small),
                "guard, one pass (preserve_session)": lambda: guard_one_pass(small),
                "guard, one pass, one thread": lambda: guard_one_pass(small, threads=1),
                "guard, two steps (take, then preserve)": lambda: guard_two_steps(small),
            },
            args.rounds,
        )
        print(f"median of {args.rounds} interleaved rounds; ratios per round, then their median:")
        report(times, ["baseline: os.walk + lstat every file", "baseline: read every file once"])
        print("  target: the whole guard at most ~1 s on these 2-core machines")

        videos = base / "data" / "mouse_videos"
        make_video_session(videos, args.videos, args.video_gib)
        code = "import json, sys; print(json.dumps(json.load(open(sys.argv[1] + '/session.json'))))"
        argv = [sys.executable, "-c", code, str(videos)]

        sdk_argv = [sys.executable, "-c", f"import curriculum_contract.sdk; {code}", str(videos)]

        def run_curriculum(command: list[str] = argv) -> None:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

        def guarded_run(command: list[str] = argv) -> None:
            with preserve_session(videos) as preserved:
                run_curriculum(command)
                preserved.snapshot.check(preserved=preserved)

        print(f"\ncase 2: {args.videos} sparse videos of {args.video_gib:g} GiB and a session.json")
        times = rounds(
            {
                "no guard: a bare curriculum process": run_curriculum,
                "guarded: the same run": guarded_run,
                "no guard: a curriculum importing the SDK": lambda: run_curriculum(sdk_argv),
                "guarded: the same (SDK) run": lambda: guarded_run(sdk_argv),
                "the guard alone (no process)": lambda: guard_one_pass(videos),
            },
            args.rounds,
        )
        for name in times:
            print(f"  {name:42s} {statistics.median(times[name]):7.3f} s")
        bare = ratio(times, "guarded: the same run", "no guard: a bare curriculum process")
        sdk = ratio(times, "guarded: the same (SDK) run", "no guard: a curriculum importing the SDK")
        print(f"  guarded / no guard: {bare:.2f}x (bare process), {sdk:.2f}x (SDK curriculum); target: within 1.2x")
    finally:
        for folder, names, _ in os.walk(base):  # sealed preserve folders, if a run was interrupted
            for name in names:
                os.chmod(os.path.join(folder, name), 0o700)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
