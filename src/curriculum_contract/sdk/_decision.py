"""Explaining a trainer's evaluation: which rules it checked, in which order, and what they compared.

The rules are evaluated here in the DSL's own order (stage transitions by priority, the first that
holds wins; policy transitions only when the stage stays), so the report says exactly what
``Trainer.evaluate`` does; ``Trainer.evaluate`` itself still computes the suggested state.
"""

from collections.abc import Callable, Sequence
from typing import Any

from aind_behavior_curriculum import Metrics, Policy, Stage, Trainer, TrainerState

from ._contract import ConditionReport, Decision, History, RuleReport
from ._criteria import Criteria, EvaluationContext


def rule_name(rule: Any) -> str:
    """The rule's import path, as the DSL serializes it."""
    return rule.name if hasattr(rule, "name") else f"{rule.__module__}.{rule.__qualname__}"


def _callable_of(rule: Any) -> Callable[..., Any]:
    return rule.callable if hasattr(rule, "callable") else rule


def describe_rule(rule: Any) -> str:
    """Criteria describe themselves; a plain callable is described by its name."""
    inner = _callable_of(rule)
    if isinstance(inner, Criteria):
        return inner.describe()
    doc = (getattr(inner, "__doc__", None) or "").strip().splitlines()
    return doc[0] if doc else f"callable {getattr(inner, '__qualname__', repr(inner))}"


def _report(
    kind: str,
    rule: Any,
    source: str | None,
    target: str | None,
    context: EvaluationContext,
    fired: bool | None,
) -> RuleReport:
    conditions = context.reports.pop(id(_callable_of(rule)), [])
    return RuleReport(
        kind=kind,  # type: ignore[arg-type]
        name=rule_name(rule),
        source=source,
        target=target,
        evaluated=fired is not None,
        fired=bool(fired),
        description=describe_rule(rule),
        conditions=conditions,
    )


def _first_that_fires(
    kind: str,
    transitions: Sequence[tuple[Any, Any]],
    source: str,
    metrics: Metrics,
    context: EvaluationContext,
) -> tuple[list[RuleReport], Any]:
    reports, chosen = [], None
    for rule, destination in transitions:
        fired = None if chosen is not None else bool(rule.invoke(metrics))
        if fired:
            chosen = destination
        reports.append(_report(kind, rule, source, destination.name, context, fired))
    return reports, chosen


def explain(
    state: TrainerState, metrics: Metrics, context: EvaluationContext
) -> tuple[list[RuleReport], list[RuleReport], Any]:
    """Stage-transition and policy-transition reports, and the stage the DSL will choose (or None)."""
    curriculum, stage = state.curriculum, state.stage
    transitions, chosen = _first_that_fires(
        "stage_transition", curriculum.see_stage_transitions(stage), stage.name, metrics, context
    )
    policy_reports: list[RuleReport] = []
    if chosen is None:
        for policy in state.active_policies or []:
            reports, _ = _first_that_fires(
                "policy_transition", stage.see_policy_transitions(policy), rule_name(policy), metrics, context
            )
            policy_reports.extend(reports)
    return transitions, policy_reports, chosen


def _ordered_policies(state: TrainerState) -> list[Policy] | None:
    """The active policies in the stage's own order: the DSL keeps them in a set, so its order changes
    from one process to the next, and so would the document. Always a new list: the DSL hands out a new
    stage's own ``start_policies``."""
    policies = state.active_policies
    if not policies:
        return list(policies) if policies is not None else None
    order = {rule_name(policy): index for index, policy in enumerate(state.stage.see_policies())}
    return sorted(policies, key=lambda p: order.get(rule_name(p), len(order)))


#: The DSL's own methods that get the stage being evaluated: captured at import, so a trainer patched later
#: is not taken for the DSL's.
_STOCK_METHODS = (
    ("evaluate", Trainer.evaluate),
    ("_evaluate_stage_transition", Trainer._evaluate_stage_transition),
    ("_evaluate_policy_transitions", Trainer.__dict__["_evaluate_policy_transitions"].__func__),
)
_STOCK_TASK_METHODS = (("get_task", Stage.get_task), ("set_task", Stage.set_task))


def _is_stock(owner: object, methods: tuple[tuple[str, object], ...]) -> bool:
    """Whether ``owner``'s methods (bound or static, its class's or its own) are these originals."""
    for name, original in methods:
        found = getattr(owner, name, None)
        if getattr(found, "__func__", found) is not original:
            return False
    return True


def edits_no_task_in_place(trainer: Trainer, stage: Stage) -> bool:
    """Whether ``trainer.evaluate`` is the DSL's, which never edits the task it is given: it hands the policies
    a copy (``get_task``) and replaces the stage's task with a copy of theirs (``set_task``). A trainer of the
    author's own (a subclass, a patched method) may edit it in place, so it gets a task of its own."""
    return _is_stock(trainer, _STOCK_METHODS) and _is_stock(stage, _STOCK_TASK_METHODS)


def with_own_stage(state: TrainerState, *, copy_task: bool = True) -> TrainerState:
    """A copy of ``state`` for the trainer: its stage and active policy list are its own, and with
    ``copy_task`` the stage's task too.

    What a trainer changes is a stage's task: the DSL replaces it (``set_task``, with a copy), a trainer of
    the author's may edit it in place (``copy_task``: see ``edits_no_task_in_place``). The stage's policy
    graph and the curriculum are only read, and every state the DSL makes shares the trainer's
    (``create_enrollment`` too); deep-copying them as well cost most of a decision.
    """
    stage = state.stage
    if stage is not None:
        stage = stage.model_copy(update={"task": stage.task.model_copy(deep=True) if copy_task else stage.task})
    policies = list(state.active_policies) if state.active_policies is not None else None
    return state.model_copy(update={"stage": stage, "active_policies": policies})


def detached(suggested: TrainerState, given: Stage) -> TrainerState:
    """The trainer's suggestion with a stage, task and policy list of its own, the policies in the stage's order.

    The DSL returns a stage of the curriculum's own graph when the subject advances: that one is copied,
    shallowly and its task deeply. When the subject stays it hands back ``given``, the copy this decision
    gave it, whose task it replaced (or, a trainer of the author's, edited in a copy of its own): no copy.
    The policies are the ones the trainer state validated, only reordered: no validation again.
    """
    stage = suggested.stage
    if stage is not None and stage is not given:
        stage = stage.model_copy(update={"task": stage.task.model_copy(deep=True)})
    return suggested.model_copy(update={"stage": stage, "active_policies": _ordered_policies(suggested)})


def task_parameters(state: TrainerState) -> dict[str, Any]:
    """The state's task parameters as JSON values (taken before ``evaluate``, which mutates the stage)."""
    return state.stage.task.task_parameters.model_dump(mode="json")


def applied_policies(old: dict[str, Any], after: TrainerState, stage_changed: bool) -> list[RuleReport]:
    """Policies the DSL applied to the suggested task (none when the stage changed: defaults apply)."""
    if stage_changed:
        return []
    new = after.stage.task.task_parameters.model_dump(mode="json")
    changes = [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    effect = "; ".join(changes) or "no parameter changed"
    return [
        RuleReport(
            kind="policy",
            name=rule_name(Policy.normalize_rule_or_callable(policy)),
            source=after.stage.name,
            target=None,
            evaluated=True,
            fired=True,
            description=f"{describe_rule(policy)} ({effect})",
        )
        for policy in after.active_policies or []
    ]


def _failed(conditions: Sequence[ConditionReport]) -> str:
    parts = []
    for c in conditions:
        if not c.passed:
            shown = c.values[-1] if len(c.values) == 1 else c.values
            subject = f"|{c.metric}|" if c.transform == "abs" else c.metric
            parts.append(f"{subject} {c.comparison} {c.threshold} failed ({c.note or f'got {shown}'})")
    return "; ".join(parts)


def summarize(stage_before: str, stage_after: str, transitions: Sequence[RuleReport]) -> str:
    """The one line an operator reads after the session."""
    fired = next((t for t in transitions if t.fired), None)
    if fired is not None:
        return f"advance {stage_before} -> {stage_after}: {fired.name.rsplit('.', 1)[-1]} held ({fired.description})"
    if not transitions:
        return f"stay in {stage_before}: no transition leaves this stage"
    reasons = [f"{t.name.rsplit('.', 1)[-1]}: {_failed(t.conditions) or 'returned False'}" for t in transitions]
    return f"stay in {stage_before}: " + " | ".join(reasons)


def build_decision(
    stage_before: str,
    parameters_before: dict[str, Any],
    after: TrainerState,
    history: History | None,
    transitions: list[RuleReport],
    policy_transitions: list[RuleReport],
) -> Decision:
    stage_after = after.stage.name
    changed = stage_before != stage_after
    if history is None:
        history_state, previous = "missing", 0
    else:
        history_state = "first_session" if history.first_session else "present"
        previous = len(history.sessions)
    return Decision(
        stage_before=stage_before,
        stage_after=stage_after,
        stage_changed=changed,
        history=history_state,
        previous_sessions=previous,
        transitions=transitions,
        policy_transitions=policy_transitions,
        policies=applied_policies(parameters_before, after, changed),
        summary=summarize(stage_before, stage_after, transitions) + override_note(history),
    )


#: The history's state-setting events a decision mentions: the trainer state came from a person (or a migration).
_STARTING_EVENTS = ("override", "on-curriculum", "stage-migration")


def override_note(history: History | None) -> str:
    """`` (started from an override by alice: reason)`` when the history's latest event set the state after its
    last session; else empty."""
    if history is None or not history.events:
        return ""
    event = history.events[-1]
    last = history.sessions[-1].session if history.sessions else None
    if event.kind not in _STARTING_EVENTS or event.session_before != last:
        return ""
    article = "an" if event.kind[:1] in "aeiou" else "a"
    by = f" by {event.operator}" if event.operator else ""
    return f" (started from {article} {event.kind}{by}: {event.reason or 'no reason given'})"
