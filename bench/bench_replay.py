"""``curriculum replay`` versus one ``curriculum run`` process per session, and ``whatif`` of a 200-session subject.

Everything is measured in the same run against a baseline measured here (ratios; never absolute targets):

- **per-process baseline**: ``curriculum run --path SESSION`` (inputs placed, as a launch places them), one process
  per session. A sample of ``--sample`` processes is timed and its mean scaled to 1,000 sessions (said so);
- **replay, recorded metrics**: the 1,000 sessions (10 subjects x 100, one chain each) as one ``curriculum replay``
  batch of recorded metrics (no trials reloaded); sessions/s with the process start included, and the marginal
  rate (the batch minus a one-request batch: what each session costs once the program is up);
- **replay, data directories**: the same sessions from their data directories (trials read, metrics computed);
- **whatif**: one subject with 200 recorded sessions (rows written through ``HistoryStore``), both versions'
  environments already built (``--against`` another checkout, a stricter threshold); its median, and the ratio
  to one process start (``curriculum run`` of one session).

The curriculum is the adapter's two-stage test project (tests/launcher/projects/tiny-curriculum), locked and
synced with uv once in a temporary directory. Issue 10's targets: replay >= 100x the per-process way; >= 1,000
recorded sessions/s; whatif of 200 sessions < 2 s once environments exist.
Run: ``python bench/bench_replay.py [--sample 20] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_seconds

from curriculum_contract.launcher_adapter._bootstrap import ensure_environment, find_uv
from curriculum_contract.launcher_adapter._locate import locate_curriculum
from curriculum_contract.launcher_adapter._process import clean_environment
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord
from curriculum_contract.launcher_adapter._whatif import whatif

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "tests" / "launcher" / "projects" / "tiny-curriculum"
SUBJECTS, PER_SUBJECT, WHATIF_SESSIONS = 10, 100, 200


def make_project(root: Path, threshold: int = 5) -> tuple[Path, Path]:
    """The tiny curriculum (advancing at ``threshold`` trials), locked and synced; (project, its ``curriculum``)."""
    project = root / f"tiny-{threshold}"
    shutil.copytree(PROJECT, project)
    template = project / "pyproject.toml.in"
    (project / "pyproject.toml").write_text(
        template.read_text(encoding="utf-8").replace("@CURRICULUM_CONTRACT@", REPO.as_posix()), encoding="utf-8"
    )
    template.unlink()
    module = project / "src" / "tiny_curriculum" / "__init__.py"
    module.write_text(module.read_text().replace('metric("n_trials") >= 5', f'metric("n_trials") >= {threshold}'))
    subprocess.run([find_uv(), "lock", "--quiet"], cwd=project, check=True)
    return project, ensure_environment(locate_curriculum(project))


def n_trials(subject: int, index: int) -> int:
    """3..8 trials: subjects cross the threshold at different sessions, and some fall back under it."""
    return 3 + (subject * 7 + index * 3) % 6


def write_sessions(root: Path) -> list[dict]:
    """1,000 session directories and their requests (recorded metrics and data directory), in chain order."""
    requests = []
    for subject in range(SUBJECTS):
        for index in range(PER_SUBJECT):
            session = root / f"S{subject:02d}" / f"behavior_S{subject:02d}_{index:04d}"
            session.mkdir(parents=True)
            n = n_trials(subject, index)
            (session / "trials.csv").write_text("trial,outcome\n" + "".join(f"{i},1\n" for i in range(n)))
            requests.append({"session": session.name, "subject_id": f"S{subject:02d}", "n": n, "dir": str(session)})
    return requests


def replay_batch(executable: Path, cwd: Path, lines: list[str], scratch: Path) -> None:
    source = scratch / "requests.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run([str(executable), "replay", "--input", str(source)], cwd=cwd, capture_output=True,
                          env=clean_environment(), check=False)  # fmt: skip
    if done.returncode != 0 or len(done.stdout.splitlines()) != len(lines):
        raise SystemExit(f"replay failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def run_one(executable: Path, cwd: Path, session: Path, state: str) -> None:
    (session / "curriculum").mkdir(exist_ok=True)
    (session / "curriculum" / "trainer_state.json").write_text(state, encoding="utf-8")
    done = subprocess.run([str(executable), "run", "--path", str(session)], cwd=cwd, capture_output=True,
                          env=clean_environment(), check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def record_subject(store: Path, state: dict) -> None:
    """One subject's 200 ok sessions in a real store, as a launch records them (recorded metrics, times)."""
    history = HistoryStore(store)
    history.record_enrollment("W1", state, curriculum_name=state["curriculum"]["name"])
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    for index in range(WHATIF_SESSIONS):
        when = start + timedelta(days=index)
        history.record_session(SessionRecord(
            subject="W1", session=f"behavior_W1_{index:04d}", session_path=f"/data/W1/{index}", status="ok",
            started_at=when, finished_at=when, session_time=when, curriculum_name=state["curriculum"]["name"],
            metrics={"n_trials": n_trials(1, index)}, input_trainer_state=state if index == 0 else None,
        ))  # fmt: skip
    history.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=20, help="`curriculum run` processes timed (then scaled).")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        root = Path(tmp)
        project, executable = make_project(root)
        stricter, _ = make_project(root, threshold=7)
        requests = write_sessions(root / "sessions")
        state_text = subprocess.run([str(executable), "init"], cwd=project, capture_output=True, text=True,
                                    env=clean_environment(), check=True).stdout  # fmt: skip
        state = json.loads(state_text)

        recorded = [json.dumps({"session": r["session"], "subject_id": r["subject_id"],
                                "metrics": {"n_trials": r["n"]}}) for r in requests]  # fmt: skip
        from_dirs = [json.dumps({"session": r["session"], "subject_id": r["subject_id"], "data_directory": r["dir"]})
                     for r in requests]  # fmt: skip
        sample = [Path(r["dir"]) for r in requests[:: max(1, len(requests) // args.sample)][: args.sample]]
        per_process = median_seconds(lambda: [run_one(executable, project, s, state_text) for s in sample], 1)
        per_process /= len(sample)
        one = median_seconds(lambda: replay_batch(executable, project, recorded[:1], root), args.repeats)
        batch = median_seconds(lambda: replay_batch(executable, project, recorded, root), args.repeats)
        dirs = median_seconds(lambda: replay_batch(executable, project, from_dirs, root), args.repeats)

        store = root / "history.sqlite"
        record_subject(store, state)
        whatif(stricter, store=store, against=str(project))  # both environments exist after this call
        what = median_seconds(lambda: whatif(stricter, store=store, against=str(project)), args.repeats)

    total = len(requests)
    scaled = per_process * total
    print(f"curriculum run, one process per session: {per_process * 1000:.0f} ms mean over {len(sample)} processes; "
          f"x {total} = {scaled:.1f} s (scaled from the sample)")  # fmt: skip
    print(f"curriculum replay, {total} recorded sessions: {batch:.2f} s = {total / batch:,.0f} sessions/s with the "
          f"process start; marginal {(total - 1) / max(batch - one, 1e-9):,.0f} sessions/s "
          f"(one-request batch {one * 1000:.0f} ms)")  # fmt: skip
    print(f"  ratio vs one process per session: {scaled / batch:,.0f}x (target >= 100x)")
    print(f"curriculum replay, {total} sessions from data directories: {dirs:.2f} s = {total / dirs:,.0f} sessions/s; "
          f"ratio vs one process per session: {scaled / dirs:,.0f}x")  # fmt: skip
    print(f"whatif, 1 subject x {WHATIF_SESSIONS} sessions, both environments built: {what:.2f} s median "
          f"= {what / per_process:.1f} x one `curriculum run` process (target < 2 s)")  # fmt: skip


if __name__ == "__main__":
    main()
