"""The shortcuts of a session's evaluation give what the long way gave.

Each criteria is evaluated once per decision (the DSL's call reuses the SDK's explanation), the trainer's task
is copied only for a trainer that may edit it in place, the data directory is checked with one ``stat``, and the
options accepted by the metrics function are bound once.
"""

import os
from pathlib import Path

import pytest
from aind_behavior_curriculum import Metrics, Trainer, TrainerState
from toy_curriculum import SPEC, ToyMetrics

from curriculum_contract.sdk import Criteria, CurriculumSpec, History, InputError, UsageError, metric
from curriculum_contract.sdk._criteria import Condition, evaluation_context
from curriculum_contract.sdk._decision import edits_no_task_in_place
from curriculum_contract.sdk._inputs import check_data_directory
from curriculum_contract.sdk._session import evaluate_session

counted = Criteria(metric("n_trials") >= 100, metric("performance") >= 0.7, name="counted")


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The metric of every condition evaluated."""
    seen: list[str] = []
    evaluate = Condition.evaluate

    def spy(self: Condition, *args: object, **kwargs: object) -> object:
        seen.append(self.metric)
        return evaluate(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Condition, "evaluate", spy)
    return seen


def test_a_criteria_called_again_on_the_same_metrics_reuses_its_evaluation(evaluations: list[str]) -> None:
    metrics = ToyMetrics(n_trials=150, performance=0.5)
    with evaluation_context(History.first()) as context:
        assert counted(metrics) is False
        first = context.reports.pop(id(counted))
        assert counted(metrics) is False
        assert context.reports[id(counted)] == first  # reported again, for a rule that uses it twice
    assert evaluations == ["n_trials", "performance"]


def test_other_metrics_or_another_evaluation_evaluate_again(evaluations: list[str]) -> None:
    with evaluation_context(History.first()):
        assert counted(ToyMetrics(n_trials=150, performance=0.5)) is False
        assert counted(ToyMetrics(n_trials=150, performance=0.8)) is True
    with evaluation_context(History.first()):
        assert counted(ToyMetrics(n_trials=150, performance=0.8)) is True
    assert len(evaluations) == 6


def test_outside_an_evaluation_every_condition_is_evaluated(evaluations: list[str]) -> None:
    assert counted(ToyMetrics(n_trials=1, performance=0.8)) is False
    assert counted(ToyMetrics(n_trials=1, performance=0.8)) is False
    assert len(evaluations) == 4
    with pytest.raises(AttributeError, match="bias"):  # a later condition still checks its metric
        Criteria(metric("n_trials") >= 100, metric("bias") >= 0, name="broken")(ToyMetrics(n_trials=1, performance=1))


def test_a_session_evaluates_each_criteria_once(sessions: Path, evaluations: list[str]) -> None:
    evaluate_session(SPEC, sessions / "advances", SPEC.enroll(), History.first())
    assert len(evaluations) == len(set(evaluations)) == 2  # to_stage_b's two conditions, not twice


class _Subclass(Trainer):
    """Decides as the DSL does."""


class _OwnEvaluate(Trainer):
    def evaluate(self, trainer_state: TrainerState, metrics: Metrics) -> TrainerState:
        return super().evaluate(trainer_state, metrics)


class _OwnPolicyTransitions(Trainer):
    @classmethod
    def _evaluate_policy_transitions(cls, current_stage, active_policies, metrics):  # type: ignore[no-untyped-def]
        return super()._evaluate_policy_transitions(current_stage, active_policies, metrics)


def test_only_the_dsls_own_evaluate_goes_without_a_copy_of_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    curriculum, stage = SPEC.trainer.curriculum, SPEC.enroll().stage
    assert edits_no_task_in_place(SPEC.trainer, stage)
    assert edits_no_task_in_place(_Subclass(curriculum), stage)
    assert not edits_no_task_in_place(_OwnEvaluate(curriculum), stage)
    assert not edits_no_task_in_place(_OwnPolicyTransitions(curriculum), stage)
    assert not edits_no_task_in_place(SPEC.trainer, None)  # type: ignore[arg-type]
    patched = Trainer(curriculum)
    patched.evaluate = lambda state, metrics: state  # type: ignore[method-assign]
    assert not edits_no_task_in_place(patched, stage)
    monkeypatch.setattr(Trainer, "evaluate", _OwnEvaluate.evaluate)
    assert not edits_no_task_in_place(SPEC.trainer, stage)


def test_the_suggested_task_is_its_own_and_the_callers_is_unchanged(sessions: Path) -> None:
    for session in ("first_session", "advances"):
        state = SPEC.enroll()
        before = state.model_dump_json()
        suggestion = evaluate_session(SPEC, sessions / session, state, History.first())
        assert state.model_dump_json() == before
        tasks = [id(stage.task) for stage in SPEC.trainer.curriculum.see_stages()] + [id(state.stage.task)]
        assert id(suggestion.trainer_state.stage.task) not in tasks
        stages = [id(stage) for stage in SPEC.trainer.curriculum.see_stages()] + [id(state.stage)]
        assert id(suggestion.trainer_state.stage) not in stages


def _old_check(data_directory: Path) -> Path:
    """What ``check_data_directory`` did with ``exists``, ``is_dir`` and ``resolve``."""
    if not data_directory.exists():
        raise InputError(f"data directory {data_directory} does not exist")
    if not data_directory.is_dir():
        raise InputError(f"data directory {data_directory} is not a directory (it is a file)")
    return data_directory.resolve()


def _outcome(check: object, path: Path) -> object:
    try:
        return check(path)  # type: ignore[operator]
    except InputError as error:
        return str(error)


def test_the_data_directory_check_says_what_exists_is_dir_and_resolve_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "file").write_text("x")
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    monkeypatch.chdir(tmp_path)
    paths = ["real", "file", "link", "dangling", "loop", "missing", "file/below", "link/../real", "."]
    for path in [Path(p) for p in paths] + [tmp_path / p for p in paths]:
        assert _outcome(check_data_directory, path) == _outcome(_old_check, path), path
    assert check_data_directory(Path("link")) == tmp_path.resolve() / "real"


def test_accepted_options_are_remembered_and_refused_ones_refused_every_time(tmp_path: Path) -> None:
    spec = CurriculumSpec(trainer=SPEC.trainer, metrics=SPEC.metrics, version="1.2.0")
    for _ in range(2):
        spec.bind_options(tmp_path, {"min_rt": "1"})
        spec.bind_options(tmp_path, {})
        with pytest.raises(UsageError, match="not accepted by metrics function"):
            spec.bind_options(tmp_path, {"max_rt": "1"})
