"""``decide`` copies only the stage, not the whole curriculum: the caller's state and the curriculum stay as they were.

The DSL sets the task of the stage it evaluates (a policy may even change that task in place) and returns a
stage of the curriculum's own graph when the subject advances; the SDK gives it a stage of its own and detaches
the suggested one. Checked on the IBL curriculum, whose policies change task parameters and whose subjects advance.
"""

from __future__ import annotations

from aind_behavior_curriculum import Metrics, Trainer, TrainerState
from ibl_2afc.curriculum import SPEC

from curriculum_contract.sdk import CurriculumSpec
from curriculum_contract.simulate import Experiment
from curriculum_contract.simulate._stage_graph import stage_order


def test_evaluations_leave_the_states_and_the_curriculum_unchanged() -> None:
    curriculum_before = SPEC.trainer.curriculum.model_dump_json()
    enrollment = SPEC.enroll()
    enrollment_before = enrollment.model_dump_json()
    experiment = Experiment(SPEC, subjects=2, sessions=25, seed=4, workers=1)
    fed: list[tuple[object, str]] = []
    suggested = []
    train = experiment._evaluate

    def spy(directory, trials, state, history):  # type: ignore[no-untyped-def]
        fed.append((state, state.model_dump_json()))
        suggestion = train(directory, trials, state, history)
        suggested.append(suggestion.trainer_state)
        return suggestion

    experiment._evaluate = spy  # type: ignore[method-assign]
    records = experiment.run().records
    assert len({r.next_stage for r in records}) > 1, "the subjects should advance at least once"
    assert any(r.stage == r.next_stage for r in records)
    assert SPEC.trainer.curriculum.model_dump_json() == curriculum_before
    assert enrollment.model_dump_json() == enrollment_before
    for state, dumped in fed:
        assert state.model_dump_json() == dumped  # each input state, after its evaluation and the next ones
    graph_stages = [id(stage) for stage in SPEC.trainer.curriculum.see_stages()]
    graph_tasks = [id(stage.task) for stage in SPEC.trainer.curriculum.see_stages()]
    for state in suggested:
        assert id(state.stage) not in graph_stages
        assert id(state.stage.task) not in graph_tasks  # changing a suggested task never changes the curriculum
    assert stage_order(SPEC)[0] == SPEC.enroll().stage.name


class _EditingTrainer(Trainer):
    """A trainer of an author's own that edits the task it is given in place before the DSL decides."""

    def evaluate(self, trainer_state: TrainerState, metrics: Metrics) -> TrainerState:
        trainer_state.stage.task.task_parameters.contrasts.append(0.0)
        return super().evaluate(trainer_state, metrics)


def test_a_trainer_editing_the_task_in_place_changes_neither_the_states_nor_the_curriculum() -> None:
    spec = CurriculumSpec(trainer=_EditingTrainer(SPEC.trainer.curriculum), metrics=SPEC.metrics)
    curriculum_before = spec.trainer.curriculum.model_dump_json()
    experiment = Experiment(spec, subjects=2, sessions=12, seed=4, workers=1)
    fed: list[tuple[TrainerState, str]] = []
    train = experiment._evaluate

    def spy(directory, trials, state, history):  # type: ignore[no-untyped-def]
        fed.append((state, state.model_dump_json()))
        return train(directory, trials, state, history)

    experiment._evaluate = spy  # type: ignore[method-assign]
    experiment.run()
    assert spec.trainer.curriculum.model_dump_json() == curriculum_before
    assert all(state.model_dump_json() == dumped for state, dumped in fed)
