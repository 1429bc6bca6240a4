"""Simulated sessions per second per core: ``Experiment`` against a process per session, measured in one run.

Two curricula: the template's (``new_curriculum(DIR, defaults=True)``, what ``curriculum-contract new DIR
--defaults`` makes, imported from its ``src/``) and the IBL example. For each, ``Experiment`` with
``--workers 1`` trains ``--subjects`` x ``--sessions`` (learner, the curriculum's real metrics function on the
trials in memory, its real trainer); the baseline is the demo's path, ``curriculum run --path`` in a new
process on sessions written by ``run_training`` (median of ``--processes``). Then the IBL 200 x 40 population
with every core (``--workers`` default), its wall time against the issue's 30 s, and the metrics function
alone on one session: the floor no simulator can go under without changing the curriculum. Prints ratios and
rates; no assertion on time (issue 12 asks for 500 sessions per second per core). Run:
``python bench/bench_simulate.py [--subjects 20 --sessions 40] [--processes 10] [--full-subjects 200]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _timing import median_seconds

from curriculum_contract.sdk import _pooling, _psychometric, _session
from curriculum_contract.sdk._spec import CurriculumSpec
from curriculum_contract.simulate import Experiment, TwoAfcSubject, run_training
from curriculum_contract.simulate._workers import default_workers

ROOT = Path(__file__).resolve().parents[1]
IBL_SOURCE = ROOT / "examples" / "ibl_2afc" / "src"
RUN = "import sys; from curriculum_contract.sdk import main; main(['run', '--path', sys.argv[1]], specs=['{}'])"


def template_source(scratch: Path) -> tuple[Path, str]:
    """The template rendered with its defaults (no uv env: imported from the dev venv); its src and package."""
    from curriculum_contract.scaffold import new_curriculum
    from curriculum_contract.scaffold._copier import read_answers

    created = new_curriculum(scratch / "template-curriculum", {}, defaults=True, sdk_requirement=str(ROOT))
    return created / "src", read_answers(created)["package_name"]


def process_per_session(spec: object, source: Path, reference: str, count: int) -> float:
    """Median seconds of ``curriculum run --path`` in a new process, over ``count`` written sessions."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as root:
        steps = run_training(spec, TwoAfcSubject("bench", "fast_learner", seed=1), root, sessions=count)
        times = []
        for step in steps:
            started = time.perf_counter()
            command = [sys.executable, "-c", RUN.format(reference), str(step.directory)]
            subprocess.run(command, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def in_process(spec: object, subjects: int, sessions: int, workers: int) -> tuple[int, float, float]:
    """Sessions simulated, wall seconds, and CPU seconds of this process and its (waited-for) workers."""
    wall = time.perf_counter()
    cpu = _cpu()
    results = Experiment(spec, subjects=subjects, sessions=sessions, seed=1, workers=workers).run().results()
    return len(results.sessions), time.perf_counter() - wall, _cpu() - cpu


def phases(spec: CurriculumSpec, subjects: int, sessions: int) -> dict[str, float]:
    """Milliseconds per session in each part of the loop, timed inside a run of its own (not the one timed
    above: the wrappers cost a little): the learner, the metrics function (of which the psychometric fits,
    the SDK's), the decision, and the rest (the scratch directory, the checks, the records)."""
    spent: Counter[str] = Counter()

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        return wrapper

    patched = [(_psychometric, "fit_counts"), (_pooling, "fit_counts"), (_session, "decide")]
    originals = [getattr(module, name) for module, name in patched]
    for (module, name), original in zip(patched, originals, strict=True):
        setattr(module, name, timed("fits" if name == "fit_counts" else "decision", original))
    try:
        own = dataclasses.replace(spec, metrics=timed("metrics", spec.metrics))
        experiment = Experiment(own, subjects=subjects, sessions=sessions, seed=1, workers=1)
        experiment._session = timed("learner", experiment._session)  # type: ignore[method-assign]
        started = time.perf_counter()
        count = len(experiment.run().records)
        total = time.perf_counter() - started
    finally:
        for (module, name), original in zip(patched, originals, strict=True):
            setattr(module, name, original)
    shares = {label: spent[label] / count * 1e3 for label in ("learner", "metrics", "fits", "decision")}
    shares["rest"] = total / count * 1e3 - shares["learner"] - shares["metrics"] - shares["decision"]
    return shares


def _cpu() -> float:
    own, children = os.times(), os.times()
    return own.user + own.system + children.children_user + children.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--full-subjects", type=int, default=200, help="the all-cores IBL run (x 40 sessions)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    source, package = template_source(scratch)
    sys.path[:0] = [str(source), str(IBL_SOURCE)]
    curricula = {
        "template": (importlib.import_module(f"{package}.curriculum").SPEC, source, f"{package}.curriculum:SPEC"),
        "IBL example": (importlib.import_module("ibl_2afc.curriculum").SPEC, IBL_SOURCE, "ibl_2afc.curriculum:SPEC"),
    }
    print(f"target: 500 sessions per second per core; cores here: {default_workers()}")
    for label, (spec, src, reference) in curricula.items():
        count, wall, cpu = in_process(spec, args.subjects, args.sessions, workers=1)
        baseline = process_per_session(spec, src, reference, args.processes)
        print(f"{label}: {args.subjects} x {args.sessions} = {count} sessions, --workers 1")
        print(f"  {count / cpu:.0f} sessions per CPU second (per core), {count / wall:.0f} per wall second "
              f"({count / cpu / 500:.2f}x the target)")  # fmt: skip
        print(f"  a process per session (`curriculum run --path`, median of {args.processes}): "
              f"{baseline * 1e3:.0f} ms, {baseline / (wall / count):.0f}x slower than in-process")  # fmt: skip
        with tempfile.TemporaryDirectory() as root:
            step = run_training(spec, TwoAfcSubject("floor", "fast_learner", seed=1), root, sessions=20)[-1]
            metrics_only = median_seconds(lambda s=spec, d=step.directory: s.metrics(d), repeats=20)
        print(f"  its metrics function alone (from the file): {metrics_only * 1e3:.2f} ms, "
              f"{metrics_only / (wall / count):.0%} of an in-process session")  # fmt: skip
        shares = phases(spec, args.subjects, args.sessions)
        print("  per session in the loop (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in shares.items())
              + " (fits: the psychometric fits within the metrics and the decision)")  # fmt: skip
    ibl = curricula["IBL example"][0]
    count, wall, cpu = in_process(ibl, args.full_subjects, 40, workers=default_workers())
    print(f"IBL example: {args.full_subjects} x 40 = {count} sessions with {default_workers()} workers: {wall:.1f} s "
          f"wall ({wall / 30:.2f}x the 30 s target), {count / cpu:.0f} sessions per CPU second")  # fmt: skip


if __name__ == "__main__":
    main()
