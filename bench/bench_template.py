"""`curriculum-contract new` and the generated repository's test suite, against baselines measured in the same run.

Targets (issue 3): `new` under 5 s; the generated repository's tests under 20 s once its environment exists.
Baselines: `new` against `copier copy` of a one-file template (copier's own floor) and `python -c pass`;
the generated tests against `uv run python -c pass` (the floor of any command in that environment) and the
import floor of a curriculum (`import aind_behavior_curriculum, pandas`).

Usage: python bench/bench_template.py [--repeat N]   (needs the author extra and uv; the first `uv sync` of the
generated repository resolves against the package index unless uv's cache already holds everything)
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
NEW = "import sys; from curriculum_contract._scaffold_cli import new; new.main(sys.argv[1:], prog_name='new')"


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{argv} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return elapsed


def report(title: str, samples: dict[str, list[float]], baseline: str) -> dict[str, float]:
    floor = statistics.median(samples[baseline])
    print(f"\n{title}\n{'command':62} {'median s':>9} {'ratio':>7}")
    medians = {}
    for name, values in samples.items():
        medians[name] = statistics.median(values)
        print(f"{name:62} {medians[name]:9.3f} {medians[name] / floor:7.2f}x")
    return medians


def bench_new(scratch: Path, repeat: int, env: dict[str, str]) -> Path:
    trivial = scratch / "trivial-template"
    trivial.mkdir()
    (trivial / "copier.yml").write_text("name:\n  type: str\n  default: x\n", encoding="utf-8")
    (trivial / "README.md.jinja").write_text("# {{ name }}\n", encoding="utf-8")
    copier = str(Path(sys.executable).with_name("copier"))
    cold = timed([sys.executable, "-c", NEW, str(scratch / "cold"), "--defaults"], scratch, env)  # fills the cache
    samples: dict[str, list[float]] = {
        "baseline: python -c pass": [],
        "baseline: copier copy (one-file template)": [],
        "curriculum-contract new --defaults (template cache warm)": [],
    }
    for index in range(repeat):  # interleaved, so machine noise hits every command alike
        samples["baseline: python -c pass"].append(timed([sys.executable, "-c", "pass"], scratch, env))
        argv = [copier, "copy", "--defaults", "--quiet", str(trivial), str(scratch / f"trivial-{index}")]
        samples["baseline: copier copy (one-file template)"].append(timed(argv, scratch, env))
        argv = [sys.executable, "-c", NEW, str(scratch / f"repo-{index}"), "--defaults"]
        samples["curriculum-contract new --defaults (template cache warm)"].append(timed(argv, scratch, env))
    medians = report("new", samples, "baseline: copier copy (one-file template)")
    warm = medians["curriculum-contract new --defaults (template cache warm)"]
    print(f"new, first run on a machine (registers the template in the cache): {cold:.3f} s")
    python = medians["baseline: python -c pass"]
    print(f"new = {warm:.2f} s warm, {cold:.2f} s cold (target < 5 s); {warm / python:.1f}x python startup")
    return scratch / "repo-0"


def bench_tests(project: Path, repeat: int, env: dict[str, str]) -> None:
    from curriculum_contract.scaffold._process import uv_executable

    uv = [uv_executable()]
    timed([*uv, "sync", "--quiet", "--reinstall-package", "curriculum-contract"], project, env)
    run = [*uv, "run", "--frozen", "-q"]
    timed([*run, "pytest", "-q", "-p", "no:cacheprovider"], project, env)  # warm-up: byte-compiles the environment
    samples: dict[str, list[float]] = {
        "baseline: uv run python -c pass": [],
        "baseline: uv run python -c 'import aind_behavior_curriculum, pandas'": [],
        "uv run pytest (the generated repository's tests)": [],
    }
    for _ in range(repeat):
        samples["baseline: uv run python -c pass"].append(timed([*run, "python", "-c", "pass"], project, env))
        argv = [*run, "python", "-c", "import aind_behavior_curriculum, pandas"]
        samples["baseline: uv run python -c 'import aind_behavior_curriculum, pandas'"].append(
            timed(argv, project, env)
        )
        argv = [*run, "pytest", "-q", "-p", "no:cacheprovider"]
        samples["uv run pytest (the generated repository's tests)"].append(timed(argv, project, env))
    medians = report("generated repository's tests", samples, "baseline: uv run python -c pass")
    tests = medians["uv run pytest (the generated repository's tests)"]
    floor = medians["baseline: uv run python -c 'import aind_behavior_curriculum, pandas'"]
    print(f"tests = {tests:.2f} s (target < 20 s); {tests / floor:.1f}x the curriculum import floor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory(prefix="bench-template-") as directory:
        scratch = Path(directory)
        env = {**os.environ, "CURRICULUM_CONTRACT_TEMPLATE_CACHE": str(scratch / "cache")}
        project = bench_new(scratch, repeat, env)
        bench_tests(project, repeat, env)


if __name__ == "__main__":
    main()
