"""Helpers of the status page's tests: a store written through the package's own API, a fixed clock.

The decisions recorded here have the shape docs/contract.md gives ("decision"): transitions with their
conditions, thresholds and values, as the SDK's ``Criteria`` report them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from curriculum_contract.launcher_adapter import HistoryStore
from curriculum_contract.launcher_adapter._store import SessionRecord

#: Day 0 of the fixture's story. The store stamps enrollments with its own clock, and a subject starts from
#: whichever is later, its enrollment or its last session: the story's sessions come after the enrollments.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
#: The clock the pages are rendered at: day 10 of the story, 2 hours in.
NOW = T0 + timedelta(days=10, hours=2)


def clock() -> datetime:
    return NOW


def condition(metric: str, comparison: str, threshold: float, values: list[Any], passed: bool, **extra: Any) -> dict:
    return {
        "metric": metric,
        "comparison": comparison,
        "threshold": threshold,
        "transform": "value",
        "sessions": 1,
        "mode": "each",
        "values": values,
        "passed": passed,
        "note": None,
        **extra,
    }


def suggestion(before: str, after: str, conditions: list[dict], summary: str) -> dict:
    """A contract document as a launch records it (only what the page reads)."""
    transition = {
        "kind": "stage_transition",
        "name": f"pkg.criteria.to_{after if after != before else 'next'}",
        "source": before,
        "target": "stage_b",
        "evaluated": True,
        "fired": before != after,
        "description": summary,
        "conditions": conditions,
    }
    decision = {
        "stage_before": before,
        "stage_after": after,
        "stage_changed": before != after,
        "history": "present",
        "previous_sessions": 0,
        "transitions": [transition],
        "policy_transitions": [],
        "policies": [],
        "summary": summary,
    }
    return {"contract_version": "1.0.0", "decision": decision, "warnings": []}


def state(stage: str) -> dict:
    """A trainer state embedding its curriculum's graph (the stage order the page shows)."""
    nodes = {str(i): {"name": name} for i, name in enumerate(["stage_a", "stage_b", "stage_c"])}
    return {"curriculum": {"name": "Fake", "version": "1.0.0", "graph": {"nodes": nodes}}, "stage": {"name": stage}}


def record(store: HistoryStore, subject: str, day: int, before: str, after: str, metrics: dict, **kw: Any) -> None:
    started = T0 + timedelta(days=day)
    store.record_session(
        SessionRecord(
            subject=subject,
            session=f"{subject}_day{day:02d}",
            session_path=f"/data/{subject}/day{day}",
            status=kw.pop("status", "ok"),
            started_at=started,
            finished_at=started + timedelta(minutes=1),
            stage_before=before,
            stage_after=after,
            metrics=metrics,
            trainer_state=state(after),
            **kw,
        )
    )


def write_lab(path: Path) -> HistoryStore:
    """Two subjects: M1 advanced to stage_b on day 4 and stayed; M2 stays on stage_a, a skip, an override."""
    store = HistoryStore(path)
    for subject in ("M1", "M2"):
        store.record_enrollment(subject, state("stage_a"), curriculum_name="Fake", curriculum_version="1.0.0")
    for day in range(1, 4):
        stay = [
            condition("performance", ">", 0.8, [0.5 + day / 10], False),
            condition("threshold", "<", 19, [None], False, note="threshold is undefined in this session"),
        ]
        record(
            store,
            "M1",
            day,
            "stage_a",
            "stage_a",
            {"performance": 0.5 + day / 10, "threshold": None},
            suggestion=suggestion("stage_a", "stage_a", stay, "stay in stage_a: performance > 0.8 failed"),
        )
    advance = [condition("performance", ">", 0.8, [0.9], True), condition("threshold", "<", 19, [12.0], True)]
    record(
        store,
        "M1",
        4,
        "stage_a",
        "stage_b",
        {"performance": 0.9, "threshold": 12.0},
        suggestion=suggestion("stage_a", "stage_b", advance, "advance stage_a -> stage_b: to_stage_b held"),
    )
    for day in (6, 8):
        keep = [condition("bias", "<", 16, [20.0], False, transform="abs")]
        record(
            store,
            "M1",
            day,
            "stage_b",
            "stage_b",
            {"performance": 0.91, "threshold": 11.0, "bias": 20.0},
            suggestion=suggestion("stage_b", "stage_b", keep, "stay in stage_b: |bias| < 16 failed"),
        )
    record(
        store,
        "M2",
        2,
        "stage_a",
        "stage_a",
        {"performance": 0.4},
        suggestion=suggestion(
            "stage_a",
            "stage_a",
            [condition("performance", ">", 0.8, [0.4], False)],
            "stay in stage_a: performance > 0.8 failed",
        ),
    )
    record(store, "M2", 3, None, None, {}, status="skipped", reason="curriculum timed out after 120 s")
    store.record_event(
        "M2",
        "subject-mismatch-override",
        session="M2_day02",
        reason="session.json said M20",
        detail={"warnings": ["session.json names M20"]},
    )
    return store
