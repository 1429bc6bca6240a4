"""``/api/status.json``: the overview as data for scripts and lab dashboards (versioned, read-only)."""

from __future__ import annotations

import json
from typing import Any

from ._gather import LabStatus, SubjectStatus

#: Version of the JSON shape below; a change that removes or renames a key bumps it.
STATUS_VERSION = 1


def _subject(status: SubjectStatus) -> dict[str, Any]:
    decided = status.last_decision
    decision = decided.decision if decided else None
    last = status.last
    return {
        "subject": status.subject,
        "stage": status.stage,
        "curriculum": status.curriculum,
        "on_stage_since": status.on_stage_since.isoformat() if status.on_stage_since else None,
        "days_on_stage": status.days_on_stage,
        "sessions_on_stage": status.sessions_on_stage,
        "last_session": None
        if last is None
        else {
            "session": last.session,
            "status": last.status,
            "started_at": last.started_at.isoformat() if last.started_at else None,
            "reason": last.reason,
        },
        "decision": None
        if decision is None
        else {
            "verdict": decision.verdict,
            "summary": decision.summary,
            "blocking": [c.label for c in decision.blocking],
        },
        "metrics": {name: decided.metrics.get(name) for name in status.key_metrics} if decided else {},
        "skips": [{"session": s.session, "reason": s.reason} for s in status.skips],
        "events": [
            {
                "kind": ev.kind,
                "reason": ev.reason,
                "session": ev.session,
                "created_at": ev.created_at.isoformat() if ev.created_at else None,
            }
            for ev in status.events
        ],
        "pending_conflicts": None if status.pending_conflicts is None else [str(c) for c in status.pending_conflicts],
    }


def status_json(lab: LabStatus) -> str:
    """The lab's status as one JSON document."""
    document = {
        "status_version": STATUS_VERSION,
        "store": lab.store,
        "generated_at": lab.generated_at.isoformat(),
        "subjects": [_subject(status) for status in lab.subjects],
    }
    return json.dumps(document, allow_nan=False, default=str)
