"""``recompute`` of a subject with 200 sessions once its environment exists (issue 10: under 2 s), as a ratio
to one ``curriculum run`` process of the same environment, measured in the same run.

The tiny curriculum of the adapter's tests (a real SDK curriculum, a real uv environment: built once,
not timed) is enrolled; SESSIONS ok sessions with recorded metrics are written to a SQLite store; then,
medians of interleaved rounds: a dry-run ``recompute --from`` the first session (one ``curriculum
replay`` process deciding every session) vs ``curriculum run`` on one session; and one applied recompute
(the replay plus the one transaction that supersedes and records SESSIONS rows).
Run: ``python bench/bench_recompute.py [--sessions 200]`` (needs uv and git).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _timing import median_seconds

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "launcher"))

from launcher_support import make_session, tiny_curriculum_repo  # noqa: E402

from curriculum_contract.launcher_adapter._bootstrap import ensure_environment  # noqa: E402
from curriculum_contract.launcher_adapter._launch import enroll  # noqa: E402
from curriculum_contract.launcher_adapter._locate import locate_curriculum  # noqa: E402
from curriculum_contract.launcher_adapter._process import clean_environment, run_process  # noqa: E402
from curriculum_contract.launcher_adapter._recompute import recompute  # noqa: E402
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord, now, stage_name  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = tiny_curriculum_repo(root)
        store_path = root / "history.sqlite"
        state = enroll(repo, "M1", store=store_path)  # builds the environment: not timed
        store = HistoryStore(store_path)
        t0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
        for k in range(args.sessions):
            store.record_session(SessionRecord(
                subject="M1", session=f"s{k:04d}", session_path=f"/d/s{k:04d}", status="ok", started_at=now(),
                finished_at=now(), curriculum_name=state["curriculum"]["name"], stage_before=stage_name(state),
                stage_after=stage_name(state), metrics={"n_trials": k % 7}, trainer_state=state,
                input_trainer_state=state, session_time=t0 + timedelta(days=k),
            ))  # fmt: skip
        store.close()
        location = locate_curriculum(repo)
        executable = ensure_environment(location)
        session = make_session(root / "sessions", "one", n_trials=3)
        state_file = root / "state.json"
        state_file.write_text(json.dumps(state), encoding="utf-8")
        run_argv = [str(executable), "run", "--path", str(session), "--input-trainer-state", str(state_file)]

        def one_run() -> None:
            result = run_process(run_argv, cwd=location.project_dir, timeout_s=120, env=clean_environment())
            assert result.exit_code == 0, result.stderr[-500:]

        def dry_run() -> None:
            result = recompute(repo, "M1", store=store_path, from_session="s0000", dry_run=True)
            assert len(result.steps) == args.sessions

        one_run(), dry_run()  # warm the caches of both
        runs, dries = [], []
        for _ in range(args.repeats):
            runs.append(median_seconds(one_run, 1))
            dries.append(median_seconds(dry_run, 1))
        start = time.perf_counter()
        applied = recompute(repo, "M1", store=store_path, from_session="s0000")
        apply_s = time.perf_counter() - start
        assert len(applied.new_ids) == args.sessions
    run_s, dry_s = sorted(runs)[len(runs) // 2], sorted(dries)[len(dries) // 2]
    print(f"curriculum run (one session, one process): {run_s:.3f} s  [baseline]")
    print(f"recompute --dry-run of {args.sessions} sessions: {dry_s:.3f} s  ({dry_s / run_s:.2f}x one run)")
    print(f"recompute (applied) of {args.sessions} sessions: {apply_s:.3f} s  ({apply_s / run_s:.2f}x one run)")
    print(f"target: under 2 s -> {'met' if apply_s < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
