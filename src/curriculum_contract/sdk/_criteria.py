"""Named, introspectable transition criteria that explain themselves.

A criterion is a list of conditions on metric values, over the current session and, when a
condition spans several sessions, the subject's history::

    to_trained = Criteria(
        metric("n_trials") >= 200,
        (metric("performance_easy") >= 0.8).in_each_of_last(3),
        (pooled("contrast_counts").psychometric("threshold") < 19).over_last(3),
        (metric("bias_shift") > 5).mean_over_last(3, stage="current"),
        name="to_trained",
    )

``Criteria`` is a callable ``Metrics -> bool``, so it is a plain ``StageTransition`` or
``PolicyTransition`` of aind-behavior-curriculum. It serializes, as every DSL rule does, as the import
path ``<module>.<name>``; so assign it to a module-level variable of the same name. While the SDK
evaluates a session, each call reports the values and thresholds it compared.

A window spans the last ``n`` sessions of the history, whatever their stage, or with ``stage="current"``
only the sessions the subject ran in the stage it is in now (IBL's ephys criterion needs three sessions
of the biased task, which is that stage's). A *pooled* condition (``pooled``, in ``_pooling``) computes
one value from the window's sessions together, from per-session sufficient statistics in the metrics.
"""

import contextlib
import contextvars
import math
import operator
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from aind_behavior_curriculum import Metrics

from ._contract import ConditionReport, History, Scalar

Comparison = Literal[">=", ">", "<=", "<", "==", "!="]
Mode = Literal["each", "mean", "pooled"]
StageScope = Literal["any", "current"]

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
    stage: str | None = None
    """The stage the session ran in (the trainer state's), for windows over that stage's sessions."""
    results: dict[int, tuple["Criteria", Metrics, list[ConditionReport], bool]] = field(default_factory=dict)
    """Each criteria's last evaluation, by ``id``: the SDK explains the rules, then ``Trainer.evaluate`` calls
    them again on the same metrics (see ``Criteria.__call__``)."""


_CONTEXT: contextvars.ContextVar[EvaluationContext | None] = contextvars.ContextVar("curriculum_context", default=None)


@contextlib.contextmanager
def evaluation_context(
    history: History | None, undefined: Mapping[str, str] | None = None, stage: str | None = None
) -> Iterator[EvaluationContext]:
    """Make ``history`` (why metrics are undefined, the current stage) visible to criteria evaluated inside
    the block, and collect their reports."""
    context = EvaluationContext(history=history, undefined=dict(undefined or {}), stage=stage)
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


class Pool(Protocol):
    """What a pooled condition compares: one value from the window's sessions together (see ``_pooling``)."""

    sources: tuple[str, ...]

    def compute(self, sessions: Sequence[Sequence[Any]]) -> tuple[float, str | None]:
        """``sessions[i]``: each source's value in session ``i``, oldest first; the value, or NaN and why."""
        ...


@dataclass(frozen=True)
class Condition:
    """``<metric> <comparison> <threshold>``, optionally over the last ``sessions`` sessions.

    With ``pool`` set, ``metric`` is a label and the compared value is the pool's, over the window.
    """

    metric: str
    comparison: Comparison
    threshold: Scalar
    transform: Literal["value", "abs"] = "value"
    sessions: int = 1
    mode: Mode = "each"
    stage: StageScope = "any"
    pool: Pool | None = field(default=None, compare=False)

    def in_each_of_last(self, sessions: int, *, stage: StageScope = "any") -> "Condition":
        """Hold in each of the last ``sessions`` sessions, the current one included (``stage="current"``:
        the last ones run in the current stage)."""
        return self._window(sessions, "each", stage)

    def mean_over_last(self, sessions: int, *, stage: StageScope = "any") -> "Condition":
        """Hold for the mean over the last ``sessions`` sessions, the current one included."""
        return self._window(sessions, "mean", stage)

    def over_last(self, sessions: int, *, stage: StageScope = "any") -> "Condition":
        """A pooled condition: hold for the value pooled over the last ``sessions`` sessions."""
        if self.pool is None:
            raise ValueError(f"over_last pools a window: use pooled(...) for {self.metric!r}, or in_each_of_last")
        return self._window(sessions, "pooled", stage)

    def _window(self, sessions: int, mode: Mode, stage: StageScope) -> "Condition":
        if (mode == "pooled") != (self.pool is not None):
            raise ValueError(f"{self.metric!r} is pooled: use over_last(n)")
        if stage not in ("any", "current"):
            raise ValueError(f"stage must be 'any' or 'current', got {stage!r}")
        return replace(self, sessions=_positive(sessions), mode=mode, stage=stage)

    def describe(self) -> str:
        subject = f"|{self.metric}|" if self.transform == "abs" else self.metric
        text = f"{subject} {self.comparison} {self.threshold}"
        scope = " of this stage" if self.stage == "current" else ""
        if self.mode == "pooled":
            return f"{text} pooled over the last {self.sessions} sessions{scope}"
        if self.sessions == 1:
            return text
        if self.mode == "mean":
            return f"mean of {text} over the last {self.sessions} sessions{scope}"
        return f"{text} in each of the last {self.sessions} sessions{scope}"

    def evaluate(
        self,
        metrics: Metrics,
        history: History | None,
        undefined: Mapping[str, str] | None = None,
        stage: str | None = None,
    ) -> ConditionReport:
        """Compare, and say what was compared; an undefined value never passes, and the note says why."""
        names = self.pool.sources if self.pool is not None else (self.metric,)
        for name in names:
            if getattr(metrics, name, None) is None and name not in _fields(metrics):
                raise AttributeError(f"criterion uses metric {name!r}, which {type(metrics).__name__} does not have")
        previous, note = self._previous(history, stage)
        rows = [[entry.metrics.get(name) for name in names] for entry in previous]
        rows.append([getattr(metrics, name) for name in names])
        if self.pool is not None:
            # A pool's note either says why its value is undefined (NaN: fails) or qualifies a value.
            value, reason = self._pooled(rows, undefined or {}) if note is None else (math.nan, None)
            values: list[Scalar] = [_plain(value)]
            passed = note is None and not _is_missing(value) and self._passes(values)
            note = note or reason
        else:
            values = [_plain(row[0]) for row in rows]
            note = note or self._undefined_note(values, undefined or {})
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

    def _previous(self, history: History | None, stage: str | None) -> tuple[list[Any], str | None]:
        """The previous sessions the window counts, oldest first, and why it is short (None: complete)."""
        needed = self.sessions - 1
        if needed == 0:
            return [], None
        if history is None:
            return [], f"history missing: needs {self.sessions} sessions, has only the current one"
        entries = list(history.sessions)
        if self.stage == "current":
            if stage is None:
                return [], "the current stage is unknown: a window over this stage's sessions cannot be counted"
            entries = [entry for entry in entries if entry.stage == stage]
        counted = entries[-needed:]
        if len(counted) < needed:
            if self.stage == "current":
                return counted, f"needs {self.sessions} sessions in stage {stage}, has {len(counted) + 1}"
            return counted, f"needs {self.sessions} sessions, history has {len(counted) + 1}"
        return counted, None

    def _pooled(self, rows: Sequence[Sequence[Any]], undefined: Mapping[str, str]) -> tuple[float, str | None]:
        assert self.pool is not None
        for position, name in enumerate(self.pool.sources):
            missing = sum(row[position] is None for row in rows[:-1])
            if rows[-1][position] is None:
                reason = undefined.get(name)
                return math.nan, f"{name} is undefined in this session" + (f": {reason}" if reason else "")
            if missing:
                return math.nan, f"{name} is undefined in {missing} of the previous {len(rows) - 1} sessions"
        value, reason = self.pool.compute(rows)
        if reason is None and _is_missing(value):
            reason = f"{self.metric} is undefined"
        return value, reason

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
        if context is None:
            return all([condition.evaluate(metrics, None, {}, None).passed for condition in self.conditions])
        # Within one evaluation the history is fixed, so a second call on the same metrics object (the DSL's,
        # after the SDK's explanation) gives what the first gave: reuse it. The entry keeps the criteria and
        # the metrics alive, so their ids are not reused while it is compared.
        known = context.results.get(id(self))
        if known is not None and known[0] is self and known[1] is metrics:
            reports, passed = known[2], known[3]
        else:
            reports = [
                condition.evaluate(metrics, context.history, context.undefined, context.stage)
                for condition in self.conditions
            ]
            passed = all(report.passed for report in reports)
            context.results[id(self)] = (self, metrics, reports, passed)
        context.reports[id(self)] = reports
        return passed

    def describe(self) -> str:
        return " and ".join(condition.describe() for condition in self.conditions)

    def __repr__(self) -> str:
        return f"Criteria({self.__name__}: {self.describe()})"
