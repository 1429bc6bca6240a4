"""Functions run in separate processes (multiprocessing, spawn) by the concurrency tests."""

from __future__ import annotations

from pathlib import Path


def record_many(store_file: str, subject: str, sessions: int, start: object) -> int:
    """Open the store (maybe creating it) and record ``sessions`` launches, as fast as possible."""
    from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord, now

    start.wait()  # type: ignore[attr-defined]
    store = HistoryStore(store_file)
    store.record_enrollment(subject, {"stage": {"name": "stage_a"}, "n": 0}, curriculum_name="Race")
    for n in range(sessions):
        state = {"stage": {"name": "stage_a"}, "n": n + 1}
        store.record_session(
            SessionRecord(
                subject=subject,
                session=f"{subject}-s{n:03d}",
                session_path=f"/data/{subject}-s{n:03d}",
                status="ok",
                started_at=now(),
                finished_at=now(),
                curriculum_name="Race",
                stage_before="stage_a",
                stage_after="stage_a",
                metrics={"n": n},
                trainer_state=state,
            )
        )
        # The same session again: its row is replaced, not duplicated.
        if n % 5 == 0:
            store.record_session(
                SessionRecord(
                    subject=subject,
                    session=f"{subject}-s{n:03d}",
                    session_path=f"/data/{subject}-s{n:03d}",
                    status="ok",
                    started_at=now(),
                    finished_at=now(),
                    curriculum_name="Race",
                    metrics={"n": n, "repeat": True},
                    trainer_state=state,
                )
            )
    store.close()
    return sessions


def launch_sessions(
    store_file: str, project: str, program: str, root: str, subject: str, count: int, start: object
) -> list[str]:
    """Launch the fake curriculum on ``count`` new sessions of ``subject``; return the stages after."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from launcher_support import FakeEnvironment, make_session

    from curriculum_contract.launcher_adapter._launch import launch

    start.wait()  # type: ignore[attr-defined]
    stages = []
    for n in range(count):
        session = make_session(Path(root), f"{subject}-{n}", n_trials=2 if n == 0 else 10)
        result = launch(project, session, subject, store=store_file, environment=FakeEnvironment(Path(program)))
        stages.append(str(result.stage_after))
    return stages
