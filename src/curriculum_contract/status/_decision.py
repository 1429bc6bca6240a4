"""Reading a recorded ``decision`` (docs/contract.md, "decision") into what a trainer needs to see: the verdict,
each criterion with its threshold and values, and what held the subject back.

Only the recorded document is read: a curriculum that reports plain functions (no ``conditions``) still
shows its summary; nothing is recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def number(value: Any) -> float | None:
    """A plottable number, or None for what is undefined (null, NaN) or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def format_value(value: Any) -> str:
    """A metric value as a trainer reads it; an undefined one is "undefined", never 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


@dataclass(frozen=True)
class Condition:
    """One comparison of a criterion: ``performance_easy > 0.8`` in each of the last 3 sessions."""

    metric: str
    comparison: str
    threshold: float | None
    transform: str
    sessions: int
    mode: str
    values: tuple[Any, ...]
    passed: bool
    note: str | None

    @property
    def label(self) -> str:
        """``|bias| < 16`` (the transform applied to the metric, the comparison, the threshold)."""
        name = f"|{self.metric}|" if self.transform == "abs" else self.metric
        if self.transform not in ("value", "abs"):
            name = f"{self.transform}({self.metric})"
        return f"{name} {self.comparison} {format_value(self.threshold)}"

    @property
    def scope(self) -> str:
        """Over which sessions the comparison runs, in words."""
        if self.sessions <= 1:
            return "this session"
        words = {"mean": "mean over", "pooled": "pooled over"}.get(self.mode, "each of")
        return f"{words} the last {self.sessions}"

    @property
    def got(self) -> str:
        """The values compared, oldest first, or why there were none to compare."""
        shown = ", ".join(format_value(value) for value in self.values)
        return f"{shown} ({self.note})" if self.note else shown


@dataclass(frozen=True)
class Transition:
    """One stage (or policy) transition the curriculum evaluated."""

    name: str
    target: str | None
    evaluated: bool
    fired: bool
    description: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Decision:
    """What the curriculum decided after a session, and why."""

    summary: str
    stage_before: str | None
    stage_after: str | None
    transitions: tuple[Transition, ...]

    @property
    def changed(self) -> bool:
        return self.stage_before != self.stage_after

    @property
    def verdict(self) -> str:
        """``advanced in_training → trained_1a`` or ``stays in in_training``."""
        if self.changed:
            return f"advanced {self.stage_before} → {self.stage_after}"
        return f"stays in {self.stage_after}"

    @property
    def blocking(self) -> tuple[Condition, ...]:
        """The failed conditions of the evaluated transitions: what keeps the subject on its stage."""
        if self.changed:
            return ()
        return tuple(c for t in self.transitions if t.evaluated for c in t.conditions if not c.passed)


def short_name(name: str) -> str:
    """``to_trained_1a`` for ``ibl_2afc.criteria.to_trained_1a``."""
    return name.rsplit(".", 1)[-1]


def _condition(raw: Mapping[str, Any]) -> Condition:
    values = raw.get("values")
    return Condition(
        metric=str(raw.get("metric", "?")),
        comparison=str(raw.get("comparison", "?")),
        threshold=number(raw.get("threshold")),
        transform=str(raw.get("transform") or "value"),
        sessions=int(raw.get("sessions") or 1),
        mode=str(raw.get("mode") or "each"),
        values=tuple(values) if isinstance(values, Sequence) and not isinstance(values, str) else (),
        passed=bool(raw.get("passed")),
        note=raw.get("note") if isinstance(raw.get("note"), str) else None,
    )


def _transition(raw: Mapping[str, Any]) -> Transition:
    conditions = raw.get("conditions") or ()
    return Transition(
        name=short_name(str(raw.get("name", "?"))),
        target=raw.get("target") if isinstance(raw.get("target"), str) else None,
        evaluated=bool(raw.get("evaluated")),
        fired=bool(raw.get("fired")),
        description=str(raw.get("description") or ""),
        conditions=tuple(_condition(c) for c in conditions if isinstance(c, Mapping)),
    )


def read_decision(suggestion: Mapping[str, Any] | None, stage_before: str | None, stage_after: str | None) -> Decision:
    """The decision of a recorded suggestion; a legacy (AIND-shaped) one has none, only its stages."""
    raw = (suggestion or {}).get("decision")
    if not isinstance(raw, Mapping):
        verdict = f"{stage_before} → {stage_after}" if stage_before != stage_after else f"stays in {stage_after}"
        return Decision(f"{verdict} (the curriculum recorded no decision)", stage_before, stage_after, ())
    transitions = [t for t in raw.get("transitions") or () if isinstance(t, Mapping)]
    return Decision(
        summary=str(raw.get("summary") or ""),
        stage_before=raw.get("stage_before", stage_before),
        stage_after=raw.get("stage_after", stage_after),
        transitions=tuple(_transition(t) for t in transitions),
    )
