"""Events (what changed a subject's course besides a session) described by kind, generically.

The store records re-enrollments, overridden subject mismatches and recovered launches today; a kind
this module does not know yet (an operator's stage override, say) is still shown: its kind as the title,
its reason, and the short fields of its detail. A ``recompute-needed`` marker (a session recorded out of
order) stands until a later ``recomputed`` event clears it, as ``launcher_adapter._session_order`` reads
it: a cleared one is not shown (the ``recomputed`` event names the session it recomputed from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: How each known kind reads on the page; any other kind is shown by its own name.
TITLES = {
    "re-enrollment": "re-enrolled",
    "subject-mismatch-override": "subject mismatch overridden",
    "recovered-launch": "launch recovered after the launcher died",
}
#: The recomputation marker's kinds (``launcher_adapter._session_order.NEEDED`` and ``DONE``).
RECOMPUTE_NEEDED, RECOMPUTED = "recompute-needed", "recomputed"
#: Detail fields too large for the page (the full trainer state stays in the store).
_HIDDEN = {"previous_trainer_state", "trainer_state"}
#: Kinds that mark an operator overriding what the adapter or the curriculum said.
OVERRIDE_KINDS = frozenset({"subject-mismatch-override"})


@dataclass(frozen=True)
class EventView:
    """One event as the page shows it."""

    kind: str
    title: str
    created_at: datetime | None
    session: str | None
    reason: str | None
    facts: tuple[tuple[str, str], ...]

    @property
    def is_override(self) -> bool:
        return self.kind in OVERRIDE_KINDS or "override" in self.kind


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float | bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return "; ".join(value)
    return None  # a nested object: left to the store


def describe_event(row: Mapping[str, Any]) -> EventView:
    """An ``events`` row (``HistoryStore.events``) as the page shows it."""
    kind = str(row.get("kind") or "event")
    detail = row.get("detail") if isinstance(row.get("detail"), Mapping) else {}
    facts: list[tuple[str, str]] = []
    if kind == "re-enrollment":
        facts.append(("was at", f"{detail.get('previous_stage')} ({detail.get('previous_curriculum')})"))
        facts.append(("now at", f"{detail.get('stage')} ({detail.get('curriculum')})"))
        shown = {"previous_stage", "previous_curriculum", "stage", "curriculum"}
    else:
        shown = set()
    for key, value in detail.items():
        text = _text(value)
        if key not in shown | _HIDDEN and text is not None:
            facts.append((key.replace("_", " "), text))
    return EventView(
        kind=kind,
        title=TITLES.get(kind, kind.replace("-", " ").replace("_", " ")),
        created_at=row.get("created_at"),
        session=row.get("session"),
        reason=row.get("reason"),
        facts=tuple(facts),
    )


def without_cleared_markers(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``events`` (oldest first) less the ``recompute-needed`` markers a later ``recomputed`` event cleared."""
    done = max((i for i, event in enumerate(events) if event.get("kind") == RECOMPUTED), default=-1)
    return [event for i, event in enumerate(events) if not (event.get("kind") == RECOMPUTE_NEEDED and i < done)]
