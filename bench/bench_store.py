"""Reads of the history store that must scale with a lab: ratios against a baseline in the same run.

A SQLite store (or ``--store URL``, a PostgreSQL database to fill) of SUBJECTS x SESSIONS ok sessions,
each with a suggestion, a trainer state and an input state of about 2 KB of JSON each (as a real
curriculum's), is built in bulk. Then, medians of interleaved rounds:

- whole store: ``history --json`` (streamed, only its columns decoded) vs a bare ``SELECT`` of the same
  columns fetched whole with the driver (no decoding, no output); the peak of Python memory of the
  streamed read (tracemalloc, a separate run) vs the size of the JSON the store holds;
- the latest state of a subject with SESSIONS sessions (``latest_trainer_state``) vs a primary-key
  lookup of one row's state, each opening the store as a launch does;
- ``launch()`` of a subject with 1,000 previous sessions vs one with none (the fake curriculum of the
  adapter's tests; target <= 1.1x).

Defaults are a scaled-down store (20 x 200); ``--full`` is the issue's 100 x 1,000.
Run: ``python bench/bench_store.py [--full] [--store postgresql+psycopg://...]`` (no password in the URL:
libpq's ``~/.pgpass`` or ``$PGPASSWORD``).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from _timing import median_seconds

from curriculum_contract.launcher_adapter._cli import _JSON_COLUMNS, write_json_array
from curriculum_contract.launcher_adapter._store import HistoryStore
from curriculum_contract.launcher_adapter._store_schema import tables

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "launcher"))


def _state(stage: str, n: int) -> dict:
    """A trainer state about as big as a real curriculum's (~2 KB of JSON)."""
    parameters = {f"param_{k}": {"value": k * 0.5, "unit": "ul", "bounds": [0, 100]} for k in range(24)}
    return {"curriculum": {"name": "FakeCurriculum", "version": "0.3.0"}, "stage": {"name": stage,
            "task": {"name": "FakeTask", "task_parameters": parameters}}, "is_on_curriculum": True, "n": n}  # fmt: skip


def fill(url: str, subjects: int, sessions: int, *, extra: dict[str, int] | None = None) -> int:
    """``subjects`` x ``sessions`` ok sessions, in bulk; ``extra``: subject -> its own count. Returns the JSON bytes."""
    store = HistoryStore(url)
    store.subjects()  # creates the schema
    engine = sa.create_engine(url)
    table = tables()["sessions"]
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    counts = {f"S{s:03d}": sessions for s in range(subjects)} | (extra or {})
    stored = 0
    with engine.begin() as conn:
        for subject, count in counts.items():
            rows = []
            for n in range(count):
                state, before = _state("stage_b", n + 1), _state("stage_a", n)
                suggestion = {"trainer_state": state, "metrics": {"n_trials": 200 + n}, "decision": {"n": n}}
                rows.append({
                    "subject": subject, "session": f"{subject}_{n:05d}", "session_path": f"/data/{subject}_{n:05d}",
                    "status": "ok", "curriculum_name": "FakeCurriculum", "curriculum_version": "0.3.0",
                    "stage_before": "stage_a", "stage_after": "stage_b", "metrics": {"n_trials": 200 + n},
                    "suggestion": suggestion, "trainer_state": state, "input_trainer_state": before,
                    "warnings": [], "legacy": False, "attempts": 1, "started_at": t0 + timedelta(minutes=n),
                    "finished_at": t0 + timedelta(minutes=n, seconds=4), "dialect": "contract",
                })  # fmt: skip
                stored += len(json.dumps(suggestion)) + len(json.dumps(state)) + len(json.dumps(before))
            conn.execute(sa.insert(table), rows)
    engine.dispose()
    store.close()
    return stored


def whole_store(url: str) -> None:
    write_json_array(HistoryStore(url).iter_session_rows(columns=_JSON_COLUMNS), io.StringIO())


def bare_select(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT {', '.join(_JSON_COLUMNS)} FROM sessions ORDER BY id").fetchall()
    engine.dispose()


def latest(url: str, subject: str) -> None:
    HistoryStore(url).latest_trainer_state(subject)


def pk_lookup(url: str, row_id: int) -> None:
    """One row's state by primary key, the store opened as a launch opens it (sqlite3 for a file)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        db = sqlite3.connect(url[len("sqlite:///") :])
        json.loads(db.execute("SELECT trainer_state FROM sessions WHERE id = ?", (row_id,)).fetchone()[0])
        db.close()
        return
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT trainer_state FROM sessions WHERE id = :id"), {"id": row_id}).one()
    engine.dispose()


def launches(url: str, root: Path, rounds: int) -> tuple[float, float]:
    """Median ``launch()`` of a subject with 1,000 previous sessions and of one with none, interleaved."""
    from fake_curriculum import enrollment, write_program
    from launcher_support import FakeEnvironment, fake_project, make_session

    from curriculum_contract.launcher_adapter._launch import launch

    project = fake_project(root)
    environment = FakeEnvironment(write_program(root / "bin", "ok"))
    store = HistoryStore(url)
    state = enrollment()
    store.record_enrollment("FRESH", state, curriculum_name=state["curriculum"]["name"])
    store.record_enrollment("VETERAN", state, curriculum_name=state["curriculum"]["name"])
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the veteran's 1,000 sessions, launched "before" its enrollment was replaced
        conn.execute(sa.text("UPDATE sessions SET subject = 'VETERAN', curriculum_name = :name "
                             "WHERE subject = 'S000' AND id <= (SELECT min(id) + 999 FROM sessions "
                             "WHERE subject = 'S000')"), {"name": state["curriculum"]["name"]})  # fmt: skip
    engine.dispose()
    times: dict[str, list[float]] = {"VETERAN": [], "FRESH": []}
    for n in range(rounds + 1):
        for subject in ("VETERAN", "FRESH") if n % 2 else ("FRESH", "VETERAN"):
            session = make_session(root / "sessions", f"{subject}_{n}")
            start = time.perf_counter()
            launch(project, session, subject, store=store, environment=environment)
            if n:  # the first round warms imports and caches
                times[subject].append(time.perf_counter() - start)
    store.close()
    veteran = HistoryStore(url).starting_point("VETERAN", session="next")[1]["sessions"]
    assert len(veteran) >= 1000, f"the veteran has {len(veteran)} previous sessions"
    return tuple(sorted(times[s])[len(times[s]) // 2] for s in ("VETERAN", "FRESH"))  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's 100 subjects x 1,000 sessions")
    parser.add_argument("--store", help="an empty PostgreSQL database's URL instead of a SQLite file")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    subjects, sessions = (100, 1000) if args.full else (20, 200)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or f"sqlite:///{tmp}/bench.sqlite"
        stored = fill(url, subjects, sessions, extra={"S000": max(sessions, 1000)})
        rows = subjects * sessions - sessions + max(sessions, 1000)
        print(f"store: {url.split('@')[-1]}, {rows} sessions, {stored / 2**20:.0f} MiB of states and suggestions")

        streamed = median_seconds(lambda: whole_store(url), args.rounds)
        bare = median_seconds(lambda: bare_select(url), args.rounds)
        print(f"whole store, history --json: {streamed:.2f} s; bare SELECT of its columns: {bare:.2f} s; "
              f"ratio {streamed / bare:.2f}x")  # fmt: skip
        tracemalloc.start()
        whole_store(url)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"whole store, history --json: peak Python memory {peak / 2**20:.1f} MiB "
              f"({peak / stored:.3f}x the JSON the store holds)")  # fmt: skip

        state_s = median_seconds(lambda: latest(url, "S001"), args.rounds * 20)
        pk_s = median_seconds(lambda: pk_lookup(url, 1), args.rounds * 20)
        print(f"latest state of a subject with {sessions} sessions: {state_s * 1000:.2f} ms; primary-key lookup: "
              f"{pk_s * 1000:.2f} ms; ratio {state_s / pk_s:.2f}x")  # fmt: skip

        veteran, fresh = launches(url, Path(tmp), args.rounds)
        print(f"launch() with 1,000 previous sessions: {veteran:.3f} s; with none: {fresh:.3f} s; "
              f"ratio {veteran / fresh:.3f}x (target <= 1.1x)")  # fmt: skip


if __name__ == "__main__":
    main()
