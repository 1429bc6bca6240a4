"""Make ``schema-1.sqlite``: a small store as release 0.2.0 (store schema version 1) writes it.

Run once with the 0.2.0 code, before the schema changed; the file is committed and the upgrade tests
(tests/launcher/test_store_upgrade.py) upgrade copies of it. Re-running it with newer code would make
a newer store: never do that, the point is to keep what old rigs hold.

    python tests/launcher/data/store-fixtures/make_schema_1.py
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord
from curriculum_contract.launcher_adapter._store_schema import SCHEMA_VERSION

HERE = Path(__file__).parent
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _state(stage: str, n: int) -> dict:
    return {"curriculum": {"name": "Fixture", "version": "1.0.0"}, "stage": {"name": stage}, "n": n}


def main() -> None:
    assert SCHEMA_VERSION == 1, "this fixture holds schema version 1: make it with release 0.2.0's code"
    path = HERE / "schema-1.sqlite"
    path.unlink(missing_ok=True)
    store = HistoryStore(path)
    for subject in ("M1", "M2", "M3"):
        store.record_enrollment(subject, _state("stage_a", 0), curriculum_name="Fixture", curriculum_version="1.0.0")
    for day in range(6):
        for k, subject in enumerate(("M1", "M2", "M3")):
            started = T0 + timedelta(days=day, minutes=k)
            common = {
                "subject": subject, "session": f"{subject}_{day}", "session_path": f"/data/rig{k + 1}/{subject}_{day}",
                "started_at": started, "finished_at": started + timedelta(seconds=4), "curriculum_name": "Fixture",
                "curriculum_version": "1.0.0", "curriculum_commit": "0123456789abcdef", "dialect": "contract",
            }  # fmt: skip
            if (day + k) % 4 == 3:
                store.record_session(SessionRecord(status="skipped", reason=f"timed out after 120 s ({day})", **common))
                continue
            stage = "stage_b" if day >= 3 else "stage_a"
            store.record_session(
                SessionRecord(
                    status="ok", stage_before="stage_a" if day <= 3 else "stage_b", stage_after=stage,
                    metrics={"n_trials": 100 + day, "curve": [day, k]}, suggestion={"decision": {"day": day}},
                    trainer_state=_state(stage, day + 1), input_trainer_state=_state("stage_a", day),
                    warnings=["wrote outside"] if day == 2 else (), duration_s=4.0, bootstrap_s=0.5, run_s=3.0,
                    provenance={"python": "3.11"}, **common,
                )
            )  # fmt: skip
    # A repeated launch (attempts 2), a re-enrollment and an overridden subject mismatch: events.
    store.record_session(SessionRecord(
        subject="M1", session="M1_5", session_path="/data/rig1/M1_5", status="skipped", reason="repeated",
        started_at=T0 + timedelta(days=7), finished_at=T0 + timedelta(days=7, seconds=1),
    ))  # fmt: skip
    moved = {"previous_stage": "stage_b", "previous_curriculum": "Fixture", "stage": "final"}
    store.record_event("M2", "re-enrollment", reason="moved to the final stage", detail=moved)
    store.record_enrollment("M2", _state("final", 0), curriculum_name="Fixture", stage="final")
    store.record_event("M3", "subject-mismatch", session="M3_4", reason="label swapped", detail={"seen": "M4"})
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
