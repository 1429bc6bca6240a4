"""`curriculum run` cold start against the import floor of its own dependencies, measured in one run.

Target (issue 2): a run costs at most 1.3x `python -c "import aind_behavior_curriculum, pandas"`.
The program is the SDK's `curriculum_contract.sdk:main`, as a console script starts it, finding the toy
curriculum through a real entry point (a `.dist-info` on PYTHONPATH, read by importlib.metadata); the older
`build_cli` script (`python -m toy_curriculum`) is measured alongside.
Usage: python bench/bench_cold_start.py [--repeat N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURRICULA = ROOT / "tests" / "sdk" / "curricula"
SESSION = ROOT / "tests" / "sdk" / "data" / "advances"


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


ENTRY_POINTS = "[curriculum_contract.specs]\ntoy = toy_curriculum:SPEC\n"
CONSOLE_SCRIPT = "import sys; from curriculum_contract.sdk import main; sys.exit(main())"  # what pip/uv write


def installed_metadata(site: Path) -> Path:
    """The toy curriculum's distribution metadata, as an installer writes it, with its spec entry point."""
    dist_info = site / "toy_curriculum-1.2.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-curriculum\nVersion: 1.2.0\n")
    (dist_info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as scratch:
        site = installed_metadata(Path(scratch))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(CURRICULA)])}
        measure(repeat, env)


def measure(repeat: int, env: dict[str, str]) -> None:
    program = [sys.executable, "-c", CONSOLE_SCRIPT]
    commands = {
        "floor: import aind_behavior_curriculum, pandas": [
            sys.executable,
            "-c",
            "import aind_behavior_curriculum, pandas",
        ],
        "curriculum run --path <session>": [*program, "run", "--path", str(SESSION)],
        "curriculum version": [*program, "version"],
        "build_cli script: run --path <session>": [
            sys.executable,
            "-m",
            "toy_curriculum",
            "run",
            "--path",
            str(SESSION),
        ],
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
