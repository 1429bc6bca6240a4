"""The golden replay's records: ``replay.json`` read and written, and two recordings compared in words.

A manifest entry is what the curriculum decided after one sample session (``manifest_entry``); comparing a
replay against it needs the same shapes on both sides (``decision_record``) and one rule for numbers
(``Tolerance``) and undefined values (``value_difference``), shared by the replay and the simulator's samples.
"""

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._contract import Suggestion

#: The golden replay's manifest, in the sample sessions' folder.
MANIFEST_FILE = "replay.json"


@dataclass(frozen=True)
class Tolerance:
    """Two numbers agree when ``|a - b| <= max(rel * max(|a|, |b|), abs)`` (``math.isclose``)."""

    rel: float = 1e-4
    abs: float = 1e-5

    def agrees(self, a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=self.rel, abs_tol=self.abs)

    def __str__(self) -> str:
        return f"rel {self.rel:g}, abs {self.abs:g}"


#: The SDK's psychometric fit reproduces identified parameters to 1e-6 (relative) on any machine; the
#: margin covers metrics derived from fitted values and rounded for the history.
DEFAULT_TOLERANCE = Tolerance()


@dataclass(frozen=True)
class RecordedSession:
    """One entry of ``replay.json``: a sample session and what the curriculum decided after it."""

    session: str
    stage_after: str
    stage: str | None = None
    """The stage the session ran in."""
    decision: Mapping[str, Any] | None = None
    """Transitions and policies (``decision_record``); None in a manifest that records stages only."""
    metrics: Mapping[str, Any] | None = None
    """The session's metrics as JSON values; None in a manifest that records stages only."""


def decision_record(suggestion: Suggestion) -> dict[str, Any]:
    """What a decision is made of, without its prose: each evaluated rule, whether it fired, which
    conditions held, and the policies applied. Compared exactly."""
    decision = suggestion.decision
    rules = [
        {
            "rule": report.name.rsplit(".", 1)[-1],
            "evaluated": report.evaluated,
            "fired": report.fired,
            "conditions": [condition.passed for condition in report.conditions],
        }
        for report in [*decision.transitions, *decision.policy_transitions]
    ]
    policies = [report.name.rsplit(".", 1)[-1] for report in decision.policies if report.fired]
    return {"rules": rules, "policies": policies}


def manifest_entry(session: str, stage: str, suggestion: Suggestion) -> dict[str, Any]:
    """The ``replay.json`` entry of one session that ran in ``stage`` and got ``suggestion``."""
    return {
        "session": session,
        "stage": stage,
        "stage_after": suggestion.trainer_state.stage.name,
        "decision": decision_record(suggestion),
        "metrics": json.loads(suggestion.metrics.model_dump_json()),
    }


def decision_changes(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between two ``decision_record``s, in words."""
    changes = []
    before = {rule["rule"]: rule for rule in recorded.get("rules", [])}
    after = {rule["rule"]: rule for rule in now.get("rules", [])}
    for name in [*before, *(n for n in after if n not in before)]:
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changes.append(f"rule {name} {'no longer evaluated' if new is None else 'newly evaluated'}")
        elif old["fired"] != new["fired"]:
            changes.append(f"{name} {'fired' if new['fired'] else 'did not fire'} (recorded: the opposite)")
        elif old != new:
            changes.append(f"{name} conditions held {new['conditions']} (recorded {old['conditions']})")
    if list(recorded.get("policies", [])) != list(now.get("policies", [])):
        changes.append(f"policies applied {now.get('policies')} (recorded {recorded.get('policies')})")
    return changes


def value_difference(
    recorded: Any, now: Any, where: str, tolerance: Tolerance, *, skip_undefined: bool = True
) -> str | None:
    """``None`` when two JSON values agree: equal, numbers within ``tolerance``, both undefined, or (with
    ``skip_undefined``) either undefined."""
    if recorded == now or (_is_undefined(recorded) and _is_undefined(now)):
        return None
    if _is_number(recorded) and _is_number(now) and tolerance.agrees(recorded, now):
        return None
    if skip_undefined and (_is_undefined(recorded) or _is_undefined(now)) and (_is_number(recorded) or _is_number(now)):
        return None
    return f"{where}: recorded {recorded!r}, got {now!r}"


def read_manifest(data: str | os.PathLike[str]) -> tuple[RecordedSession, ...]:
    """The sessions ``<data>/replay.json`` lists, oldest first."""
    manifest = Path(data) / MANIFEST_FILE
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["sessions"]
        return tuple(_recorded(entry) for entry in entries)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{manifest}: not a golden replay manifest ({type(error).__name__}: {error})") from error


def _recorded(entry: Mapping[str, Any]) -> RecordedSession:
    session, stage_after, stage = entry["session"], entry["stage_after"], entry.get("stage")
    if not isinstance(session, str) or session in ("", ".", "..") or Path(session).name != session:
        raise ValueError(f"session {session!r} is not a folder name")
    if not isinstance(stage_after, str) or not isinstance(stage, str | None):
        raise ValueError(f"{session}: stage and stage_after must be stage names")
    decision, metrics = entry.get("decision"), entry.get("metrics")
    if not isinstance(decision, dict | None) or not isinstance(metrics, dict | None):
        raise ValueError(f"{session}: decision and metrics must be objects")
    return RecordedSession(session, stage_after, stage, decision, metrics)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _is_undefined(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
