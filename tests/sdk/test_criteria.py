"""Criteria: comparisons over sessions, what they report, and how they serialize."""

import math

import pytest
from toy_curriculum import SPEC, ToyMetrics, to_stage_b

from curriculum_contract.sdk import Criteria, History, HistoryEntry, metric
from curriculum_contract.sdk._criteria import evaluation_context


def history(*performances: float) -> History:
    entries = [
        HistoryEntry(session=f"s{i}", stage="stage_a", metrics={"performance": p, "n_trials": 150})
        for i, p in enumerate(performances)
    ]
    if not entries:
        return History.first()
    return History(contract_version="1.0.0", first_session=False, sessions=entries)


def test_condition_over_current_session() -> None:
    condition = metric("n_trials") >= 100
    assert condition.evaluate(ToyMetrics(n_trials=100, performance=0.5), None).passed
    report = condition.evaluate(ToyMetrics(n_trials=99, performance=0.5), None)
    assert not report.passed and report.values == [99] and report.note is None


@pytest.mark.parametrize(
    ("previous", "current", "passed"),
    [((0.8, 0.9), 0.75, True), ((0.6, 0.9), 0.75, False), ((0.9,), 0.75, False)],
)
def test_in_each_of_last_uses_history(previous: tuple[float, ...], current: float, passed: bool) -> None:
    condition = (metric("performance") >= 0.7).in_each_of_last(3)
    report = condition.evaluate(ToyMetrics(n_trials=1, performance=current), history(*previous))
    assert report.passed is passed
    assert report.values[-1] == current


def test_too_short_and_missing_history_say_why() -> None:
    condition = (metric("performance") >= 0.7).in_each_of_last(3)
    metrics = ToyMetrics(n_trials=1, performance=0.9)
    assert condition.evaluate(metrics, history(0.9)).note == "needs 3 sessions, history has 2"
    missing = condition.evaluate(metrics, None)
    assert not missing.passed and missing.note is not None and "history missing" in missing.note


def test_mean_abs_and_nan() -> None:
    mean = (metric("performance") >= 0.7).mean_over_last(2)
    assert mean.evaluate(ToyMetrics(n_trials=1, performance=0.8), history(0.61)).passed
    assert not mean.evaluate(ToyMetrics(n_trials=1, performance=0.7), history(0.6)).passed
    bias = metric("performance").abs() < 0.5
    assert bias.evaluate(ToyMetrics(n_trials=1, performance=-0.4), None).passed
    assert not bias.evaluate(ToyMetrics(n_trials=1, performance=math.nan), None).passed
    assert bias.describe() == "|performance| < 0.5"


def test_unknown_metric_is_named() -> None:
    with pytest.raises(AttributeError, match="'n_trails'"):
        (metric("n_trails") > 1).evaluate(ToyMetrics(n_trials=1, performance=0.5), None)


def test_criteria_report_inside_an_evaluation_context() -> None:
    metrics = ToyMetrics(n_trials=150, performance=0.8)
    with evaluation_context(history(0.75)) as context:
        assert to_stage_b(metrics) is True
    assert [r.metric for r in context.reports[id(to_stage_b)]] == ["n_trials", "performance"]
    assert to_stage_b(metrics) is False  # outside a run there is no history: multi-session criteria cannot pass


def test_criteria_serialize_as_their_import_path() -> None:
    assert to_stage_b.__module__ == "toy_curriculum" and to_stage_b.__qualname__ == "to_stage_b"
    state = SPEC.enroll()
    restored = SPEC.trainer.trainer_state_model.model_validate_json(state.model_dump_json())
    assert "toy_curriculum.to_stage_b" in state.model_dump_json()
    assert restored.model_dump(mode="json") == state.model_dump(mode="json")


def test_criteria_need_a_name_and_conditions() -> None:
    with pytest.raises(ValueError, match="at least one condition"):
        Criteria(name="empty")
    with pytest.raises(ValueError, match="identifier"):
        Criteria(metric("x") > 1, name="not a name")
    with pytest.raises(ValueError, match="sessions must be >= 1"):
        (metric("x") > 1).in_each_of_last(0)


def test_summary_names_the_failed_condition_as_compared() -> None:
    from curriculum_contract.sdk._contract import RuleReport
    from curriculum_contract.sdk._decision import summarize

    report = (metric("bias").abs() < 16).evaluate(ToyMetrics(n_trials=1, performance=0.5, bias=-20.0), None)
    rule = RuleReport(
        kind="stage_transition",
        name="m.to_b",
        source="a",
        target="b",
        evaluated=True,
        fired=False,
        description="|bias| < 16",
        conditions=[report],
    )
    assert summarize("a", "a", [rule]) == "stay in a: to_b: |bias| < 16 failed (got -20.0)"


def staged(*sessions: tuple[str, float]) -> History:
    entries = [
        HistoryEntry(session=f"s{i}", stage=stage, metrics={"performance": p, "n_trials": 150})
        for i, (stage, p) in enumerate(sessions)
    ]
    return History(contract_version="1.0.0", first_session=False, sessions=entries)


def test_a_window_of_the_current_stage_skips_sessions_of_other_stages() -> None:
    """The last sessions of stage_b pass; the stage_a session between them would fail a plain window."""
    past = staged(("stage_b", 0.9), ("stage_a", 0.1), ("stage_b", 0.8))
    current = ToyMetrics(n_trials=150, performance=0.85)
    scoped = (metric("performance") >= 0.7).in_each_of_last(3, stage="current")
    report = scoped.evaluate(current, past, stage="stage_b")
    assert report.passed and report.values == [0.9, 0.8, 0.85]
    assert not (metric("performance") >= 0.7).in_each_of_last(3).evaluate(current, past).passed
    assert scoped.describe() == "performance >= 0.7 in each of the last 3 sessions of this stage"


def test_a_window_of_the_current_stage_says_when_it_is_short_or_the_stage_unknown() -> None:
    past = staged(("stage_a", 0.9), ("stage_a", 0.9), ("stage_b", 0.9))
    scoped = (metric("performance") >= 0.7).mean_over_last(3, stage="current")
    current = ToyMetrics(n_trials=150, performance=0.9)
    short = scoped.evaluate(current, past, stage="stage_b")
    assert not short.passed and short.note == "needs 3 sessions in stage stage_b, has 2"
    unknown = scoped.evaluate(current, past)
    assert not unknown.passed and unknown.note is not None and "current stage is unknown" in unknown.note
    with pytest.raises(ValueError, match="'any' or 'current'"):
        (metric("x") > 1).in_each_of_last(2, stage="stage_b")  # type: ignore[arg-type]


def test_criteria_see_the_stage_of_the_evaluation_context() -> None:
    rule = Criteria((metric("performance") >= 0.7).in_each_of_last(2, stage="current"), name="rule")
    past = staged(("stage_b", 0.8), ("stage_a", 0.2))
    with evaluation_context(past, stage="stage_b"):
        assert rule(ToyMetrics(n_trials=1, performance=0.75))
    with evaluation_context(past, stage="stage_a"):
        assert not rule(ToyMetrics(n_trials=1, performance=0.75))
