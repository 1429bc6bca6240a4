"""What the launcher adapter costs on top of running the curriculum program directly.

With the curriculum's environment already bootstrapped, each way of getting a suggestion for a fresh
session is timed against invoking the same ``curriculum`` executable directly in the same run
(interleaved rounds, medians):

- direct:  ``<env>/bin/curriculum run --path SESSION`` (inputs already placed), a subprocess;
- (a) ``launch()`` called from Python inside a running launcher process (imports already paid);
  target <= 1.10x direct, or <= 50 ms over;
- (b) the ``curriculum-contract launch`` CLI end to end, a fresh process each time; target <= 1.5x;
- ``uv run [--frozen] --directory PROJECT curriculum run ...`` per call (the AIND launcher runs it
  without ``--frozen``);
- ``launch()`` with the whole session guard (snapshot, preserve, check: ``_preserve.preserve_session``)
  swapped for a no-op: what the guard costs per session, before/after in one run;
- the same pair, guarded and unguarded ``launch()``, on a session of large sparse videos (``--videos``
  files of ``--video-gib`` GiB each, made before each timed launch): the guard must stay within 1.2x there.

The curriculum is the two-stage project of the adapter's e2e tests, pinned as a git submodule of a
task repo (so the adapter's git checks are paid), locked and synced with uv in a temporary directory.
Every process gets the same environment; bytecode caching is on for all of them, as on a rig
(``PYTHONDONTWRITEBYTECODE`` is dropped). The machine should be otherwise idle: the CLI's imports
overlap the curriculum's run only when a second core is free.
Run: ``python bench/bench_adapter.py [--rounds 15] [--videos 3] [--video-gib 10]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from curriculum_contract.launcher_adapter import _launch
from curriculum_contract.launcher_adapter._bootstrap import ensure_environment, find_uv
from curriculum_contract.launcher_adapter._launch import enroll, launch
from curriculum_contract.launcher_adapter._locate import locate_curriculum
from curriculum_contract.launcher_adapter._process import clean_environment
from curriculum_contract.launcher_adapter._store import HistoryStore

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "tests" / "launcher" / "projects" / "tiny-curriculum"
TRIALS = "trial,outcome\n" + "".join(f"{i},{i % 2}\n" for i in range(200))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env.pop("VIRTUAL_ENV", None)
    return env


_GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "init.defaultBranch=main",
        "-c", "protocol.file.allow=always", "-c", "commit.gpgsign=false"]  # fmt: skip


def git(cwd: Path, *args: str) -> None:
    subprocess.run([*_GIT, "-C", str(cwd), *args], check=True, capture_output=True)


def make_project(root: Path) -> Path:
    """The curriculum as a rig has it: its own repo, pinned as a git submodule of a task repo."""
    upstream = root / "upstream" / "tiny-curriculum"
    shutil.copytree(PROJECT, upstream)
    template = upstream / "pyproject.toml.in"
    text = template.read_text(encoding="utf-8").replace("@CURRICULUM_CONTRACT@", REPO.as_posix())
    (upstream / "pyproject.toml").write_text(text, encoding="utf-8")
    template.unlink()
    (upstream / ".gitignore").write_text(".venv/\n__pycache__/\n", encoding="utf-8")
    subprocess.run([find_uv(), "lock", "--quiet"], cwd=upstream, check=True)
    git(upstream, "init", "-q")
    git(upstream, "add", ".")
    git(upstream, "commit", "-q", "-m", "curriculum")
    task = root / "task-repo"
    task.mkdir()
    git(task, "init", "-q")
    (task / "README.md").write_text("task\n", encoding="utf-8")
    git(task, "add", "README.md")
    git(task, "commit", "-q", "-m", "task")
    git(task, "submodule", "add", "-q", str(upstream), "curricula/tiny")
    git(task, "commit", "-q", "-m", "pin the curriculum")
    return task / "curricula" / "tiny"


class Sessions:
    """Fresh session directories, numbered."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def new(self, prefix: str) -> Path:
        self.n += 1
        session = self.root / f"{prefix}_{self.n:04d}"
        session.mkdir(parents=True)
        (session / "trials.csv").write_text(TRIALS, encoding="utf-8")
        return session


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run_checked(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, env=env, cwd=cwd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def cli_command() -> tuple[list[str], str]:
    """The installed ``curriculum-contract launch``; else the same click command in a fresh interpreter."""
    script = Path(sys.executable).with_name("curriculum-contract")
    probe = subprocess.run([str(script), "launch", "--help"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [str(script), "launch"], "curriculum-contract launch"
    code = (
        "from curriculum_contract._cli import exit_fast\nfrom curriculum_contract.launcher_adapter._cli import launch\n"
        "exit_fast(lambda: launch(prog_name='launch'))"
    )
    return [sys.executable, "-c", code], "python -c <launch command + exit_fast> (launch not registered yet)"


class _NoCheck:
    def check(self, **_options: object) -> None:
        return None


class _NoGuard:
    """What ``preserve_session`` yields, with nothing taken, preserved or checked."""

    snapshot = _NoCheck()
    warnings: tuple[str, ...] = ()
    directory = None
    lock_fd = None


@contextlib.contextmanager
def _no_guard(session_dir: object, **_options: object) -> Iterator[_NoGuard]:
    yield _NoGuard()


@contextlib.contextmanager
def _guard_swapped_out() -> Iterator[None]:
    real = _launch.preserve_session
    _launch.preserve_session = _no_guard  # type: ignore[assignment]
    try:
        yield
    finally:
        _launch.preserve_session = real


def add_videos(session: Path, count: int, gib: float) -> None:
    """Sparse videos: real bytes where the guard samples, holes elsewhere (no disk)."""
    from curriculum_contract.launcher_adapter._guard import SAMPLE_BLOCK, sample_offsets

    (session / "behavior" / "Video").mkdir(parents=True)
    for i in range(count):
        size = int(gib * 2**30)
        with open(session / "behavior" / "Video" / f"camera{i}.avi", "wb") as f:
            f.truncate(size)
            for offset in sample_offsets(size):
                f.seek(offset)
                f.write(os.urandom(SAMPLE_BLOCK))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--video-gib", type=float, default=10.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-adapter-"))
    try:
        project = make_project(work)
        location = locate_curriculum(project)
        t_boot = timed(lambda: ensure_environment(location))
        executable = ensure_environment(location)
        store = HistoryStore(work / "history.sqlite")
        enroll(project, "B1", store=store)
        sessions = Sessions(work / "sessions")
        child_env = clean_environment()
        env = _env()
        cli, cli_label = cli_command()
        uv = find_uv()

        def place_inputs(session: Path) -> None:
            """What the adapter feeds: the subject's trainer state and history."""
            state = store.latest_trainer_state("B1")
            history = store.history_document("B1", state["curriculum"]["name"])
            (session / "curriculum").mkdir()
            (session / "curriculum" / "trainer_state.json").write_text(json.dumps(state))
            (session / "curriculum" / "history.json").write_text(history.model_dump_json())

        def direct() -> float:
            session = sessions.new("direct")
            place_inputs(session)
            return timed(lambda: run_checked([str(executable), "run", "--path", str(session)], child_env, project))

        own: list[float] = []  # launch()'s own time: its total minus the program's run

        def in_process() -> float:
            session = sessions.new("api")
            start = time.perf_counter()
            result = launch(project, session, "B1", store=store)
            elapsed = time.perf_counter() - start
            own.append(elapsed - result.timings.run_s)
            return elapsed

        unguarded_own: list[float] = []

        def without_guard() -> float:
            """launch() with the session guard (snapshot, preserve, check) swapped for a no-op."""
            with _guard_swapped_out():
                session = sessions.new("noguard")
                start = time.perf_counter()
                result = launch(project, session, "B3", store=store)
                elapsed = time.perf_counter() - start
                unguarded_own.append(elapsed - result.timings.run_s)
                return elapsed

        def on_videos(guarded: bool) -> Callable[[], float]:
            def run() -> float:
                session = sessions.new("videos")
                add_videos(session, args.videos, args.video_gib)
                with contextlib.nullcontext() if guarded else _guard_swapped_out():
                    return timed(lambda: launch(project, session, "B4", store=store))

            return run

        def cli_process() -> float:
            session = sessions.new("cli")
            argv = [*cli, "--curriculum", str(project), "--session", str(session), "--subject", "B2",
                    "--store", str(work / "history.sqlite")]  # fmt: skip
            return timed(lambda: run_checked(argv, env))

        def uv_run(*flags: str) -> Callable[[], float]:
            prefix = [uv, "run", "-q", *flags, "--directory", str(project), "curriculum", "run", "--path"]

            def run() -> float:
                session = sessions.new("uvrun")
                place_inputs(session)
                # As the AIND launcher runs it: with the launcher's own environment (uv may need the network).
                return timed(lambda: run_checked([*prefix, str(session)], env))

            return run

        for subject in ("B2", "B3", "B4"):
            enroll(project, subject, store=store)
        kinds = {"direct": direct, "launch() in-process": in_process, "launch() without the guard": without_guard,
                 "CLI fresh process": cli_process, "uv run --frozen": uv_run("--frozen"),
                 "uv run (AIND's way)": uv_run(), "videos: launch()": on_videos(True),
                 "videos: launch() unguarded": on_videos(False)}  # fmt: skip
        for kind in kinds.values():  # warm-up: bytecode, page cache, the store's schema
            kind()
        samples: dict[str, list[float]] = {name: [] for name in kinds}
        for _ in range(args.rounds):
            for name, kind in kinds.items():
                samples[name].append(kind())

        base = statistics.median(samples["direct"])
        print(f"first bootstrap (uv sync --frozen): {t_boot * 1000:.0f} ms; CLI measured as: {cli_label}")
        print(f"{'way':<24}{'median ms':>11}{'ratio':>8}{'over ms':>9}{'min ms':>8}   target")
        targets = {"launch() in-process": "<= 1.10x or <= 50 ms over", "CLI fresh process": "<= 1.5x"}
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"{name:<24}{median * 1000:>11.0f}{median / base:>7.2f}x{(median - base) * 1000:>9.0f}"
                  f"{min(values) * 1000:>8.0f}   {targets.get(name, '')}")  # fmt: skip
        print(f"launch()'s own time per session (total minus the program's run): median "
              f"{statistics.median(own) * 1000:.0f} ms, max {max(own) * 1000:.0f} ms; without the guard: "
              f"median {statistics.median(unguarded_own) * 1000:.0f} ms")  # fmt: skip
        guarded, unguarded = samples["videos: launch()"], samples["videos: launch() unguarded"]
        paired = [a / b for a, b in zip(guarded, unguarded, strict=True)]
        print(
            f"{args.videos} sparse videos of {args.video_gib:g} GiB: launch() guarded / unguarded, per round: "
            f"median {statistics.median(paired):.2f}x (target: within 1.2x)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
