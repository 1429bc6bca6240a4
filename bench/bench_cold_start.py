"""`curriculum run` cold start against the import floor of its own dependencies, measured in one run.

Target (issue 2): a run costs at most 1.3x `python -c "import aind_behavior_curriculum, pandas"`.
Usage: python bench/bench_cold_start.py [--repeat N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURRICULA = ROOT / "tests" / "sdk" / "curricula"
SESSION = ROOT / "tests" / "sdk" / "data" / "advances"


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    env = {**os.environ, "PYTHONPATH": str(CURRICULA)}
    commands = {
        "floor: import aind_behavior_curriculum, pandas": [
            sys.executable,
            "-c",
            "import aind_behavior_curriculum, pandas",
        ],
        "curriculum run --path <session>": [sys.executable, "-m", "toy_curriculum", "run", "--path", str(SESSION)],
        "curriculum version": [sys.executable, "-m", "toy_curriculum", "version"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):  # interleaved, so machine noise hits every command alike
        for name, argv in commands.items():
            samples[name].append(timed(argv, env))
    floor = statistics.median(samples[next(iter(commands))])
    print(f"{'command':50} {'median s':>9} {'ratio':>7}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:50} {median:9.3f} {median / floor:7.2f}x")
    ratio = statistics.median(samples["curriculum run --path <session>"]) / floor
    print(f"\ncurriculum run / import floor = {ratio:.2f}x (target <= 1.30x)")


if __name__ == "__main__":
    main()
