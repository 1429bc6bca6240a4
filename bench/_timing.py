"""What the benchmarks share: a median of repeated timings, and the walk every guard baseline starts from."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    """The median wall time of ``repeats`` calls (machines here are shared: quote medians, not minima)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def walk_lstat(root: Path) -> int:
    """``os.walk`` + ``os.lstat`` of every file: the least any check of a session must do. Returns the count."""
    count = 0
    for directory, _, names in os.walk(root):
        for name in names:
            os.lstat(os.path.join(directory, name))
            count += 1
    return count
