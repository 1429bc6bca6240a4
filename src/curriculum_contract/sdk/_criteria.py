"""Named, introspectable transition criteria that explain themselves.

A criterion is a list of conditions on metric values, over the current session and, when a
condition spans several sessions, the subject's history::

    to_trained = Criteria(
        metric("n_trials") >= 200,
        (metric("performance_easy") >= 0.8).in_each_of_last(3),
        name="to_trained",
    )

``Criteria`` is a callable ``Metrics -> bool``, so it is a plain ``StageTransition`` or
``PolicyTransition`` of aind-behavior-curriculum. It serializes, as every DSL rule does, as the import
path ``<module>.<name>``; so assign it to a module-level variable of the same name. While the SDK
evaluates a session, each call reports the values and thresholds it compared.
"""

import contextlib
import contextvars
import math
import operator
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from aind_behavior_curriculum import Metrics

from ._contract import ConditionReport, History, Scalar

Comparison = Literal[">=", ">", "<=", "<", "==", "!="]

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass
class EvaluationContext:
    """What criteria see while the SDK evaluates one session: the history, and where to report."""

    history: History | None
    undefined: Mapping[str, str] = field(default_factory=dict)
    """Why a metric of the current session is undefined, by name (from ``declare_undefined``)."""
    reports: dict[int, list[ConditionReport]] = field(default_factory=dict)


_CONTEXT: contextvars.ContextVar[EvaluationContext | None] = contextvars.ContextVar("curriculum_context", default=None)


@contextlib.contextmanager
def evaluation_context(
    history: History | None, undefined: Mapping[str, str] | None = None
) -> Iterator[EvaluationContext]:
    """Make ``history`` (and why metrics are undefined) visible to criteria evaluated inside the block,
    and collect their reports."""
    context = EvaluationContext(history=history, undefined=dict(undefined or {}))
    token = _CONTEXT.set(context)
    try:
        yield context
    finally:
        _CONTEXT.reset(token)


def current_history() -> History | None:
    """The history of the session being evaluated (``None`` when missing or outside an evaluation)."""
    context = _CONTEXT.get()
    return context.history if context else None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Condition:
    """``<metric> <comparison> <threshold>``, optionally over the last ``sessions`` sessions."""

    metric: str
    comparison: Comparison
    threshold: Scalar
    transform: Literal["value", "abs"] = "value"
    sessions: int = 1
    mode: Literal["each", "mean"] = "each"

    def in_each_of_last(self, sessions: int) -> "Condition":
        """Hold in each of the last ``sessions`` sessions, the current one included."""
        return replace(self, sessions=_positive(sessions), mode="each")

    def mean_over_last(self, sessions: int) -> "Condition":
        """Hold for the mean over the last ``sessions`` sessions, the current one included."""
        return replace(self, sessions=_positive(sessions), mode="mean")

    def describe(self) -> str:
        subject = f"|{self.metric}|" if self.transform == "abs" else self.metric
        text = f"{subject} {self.comparison} {self.threshold}"
        if self.sessions == 1:
            return text
        if self.mode == "mean":
            return f"mean of {text} over the last {self.sessions} sessions"
        return f"{text} in each of the last {self.sessions} sessions"

    def evaluate(
        self, metrics: Metrics, history: History | None, undefined: Mapping[str, str] | None = None
    ) -> ConditionReport:
        """Compare, and say what was compared; an undefined value never passes, and the note says why."""
        current = getattr(metrics, self.metric, None)
        if current is None and self.metric not in _fields(metrics):
            raise AttributeError(f"criterion uses metric {self.metric!r}, which {type(metrics).__name__} does not have")
        values: list[Scalar] = [_plain(current)]
        note = None
        if self.sessions > 1:
            previous = [] if history is None else [entry.metrics.get(self.metric) for entry in history.sessions]
            needed = self.sessions - 1
            values = [_plain(v) for v in previous[-needed:]] + values
            if history is None:
                note = f"history missing: needs {self.sessions} sessions, has only the current one"
            elif len(previous) < needed:
                note = f"needs {self.sessions} sessions, history has {len(previous) + 1}"
        if note is None:
            note = self._undefined_note(values, undefined or {})
        passed = note is None and self._passes(values)
        return ConditionReport(
            metric=self.metric,
            comparison=self.comparison,
            threshold=self.threshold,
            transform=self.transform,
            sessions=self.sessions,
            mode=self.mode,
            values=values,
            passed=passed,
            note=note,
        )

    def _undefined_note(self, values: Sequence[Scalar], undefined: Mapping[str, str]) -> str | None:
        if _is_missing(values[-1]):
            reason = undefined.get(self.metric)
            return f"{self.metric} is undefined in this session" + (f": {reason}" if reason else "")
        missing = sum(_is_missing(v) for v in values[:-1])
        if missing:
            return f"{self.metric} is undefined in {missing} of the previous {len(values) - 1} sessions"
        return None

    def _passes(self, values: Sequence[Scalar]) -> bool:
        shaped = [abs(v) if self.transform == "abs" else v for v in values]  # type: ignore[arg-type]
        compare = _OPERATORS[self.comparison]
        if self.mode == "mean":
            return bool(compare(sum(shaped) / len(shaped), self.threshold))  # type: ignore[arg-type]
        return all(compare(v, self.threshold) for v in shaped)


def _positive(sessions: int) -> int:
    if sessions < 1:
        raise ValueError(f"sessions must be >= 1, got {sessions}")
    return sessions


def _fields(metrics: Metrics) -> set[str]:
    return set(type(metrics).model_fields) | set(metrics.model_extra or {})


def _plain(value: Any) -> Scalar:
    """A JSON-friendly scalar (numpy numbers become Python numbers)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


@dataclass(frozen=True)
class MetricRef:
    """A metric by name, to be compared: ``metric("n_trials") >= 200``."""

    name: str
    transform: Literal["value", "abs"] = "value"

    def abs(self) -> "MetricRef":
        """Compare the absolute value (e.g. ``metric("bias").abs() < 10``)."""
        return replace(self, transform="abs")

    def _compare(self, comparison: Comparison, threshold: Scalar) -> Condition:
        return Condition(self.name, comparison, threshold, transform=self.transform)

    def __ge__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare(">=", threshold)

    def __gt__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare(">", threshold)

    def __le__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare("<=", threshold)

    def __lt__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare("<", threshold)

    def __eq__(self, threshold: object) -> Condition:  # type: ignore[override]
        return self._compare("==", threshold)  # type: ignore[arg-type]

    def __ne__(self, threshold: object) -> Condition:  # type: ignore[override]
        return self._compare("!=", threshold)  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]


def metric(name: str) -> MetricRef:
    """Refer to a field of the curriculum's ``Metrics`` in a ``Condition``."""
    return MetricRef(name)


class Criteria:
    """All of ``conditions`` must hold. A DSL rule (``Metrics -> bool``) that reports what it compared."""

    def __init__(self, *conditions: Condition, name: str, module: str | None = None) -> None:
        if not conditions:
            raise ValueError(f"criteria {name!r} need at least one condition")
        if not name.isidentifier():
            raise ValueError(f"criteria name {name!r} must be a Python identifier (it is the variable's name)")
        self.conditions = tuple(conditions)
        self.__name__ = self.__qualname__ = name
        # The DSL serializes a rule as "<module>.<qualname>" and imports it back from there.
        self.__module__ = module or sys._getframe(1).f_globals.get("__name__", "__main__")

    def __call__(self, metrics: Metrics) -> bool:
        context = _CONTEXT.get()
        history = context.history if context else None
        undefined = context.undefined if context else {}
        reports = [condition.evaluate(metrics, history, undefined) for condition in self.conditions]
        if context is not None:
            context.reports[id(self)] = reports
        return all(report.passed for report in reports)

    def describe(self) -> str:
        return " and ".join(condition.describe() for condition in self.conditions)

    def __repr__(self) -> str:
        return f"Criteria({self.__name__}: {self.describe()})"
