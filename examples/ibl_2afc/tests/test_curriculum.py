"""The curriculum's shape: IBL's stage order, no way back, and rules that serialize by import path."""

from curriculum_contract.sdk import Criteria

from ibl_2afc import criteria
from ibl_2afc.curriculum import CURRICULUM, SPEC, STAGES
from ibl_2afc.metrics import ChoiceWorldMetrics
from ibl_2afc.policies import adapt_reward, advance_training_phase
from ibl_2afc.task import FINAL_PHASE, ChoiceWorld, training_parameters

ORDER = ["in_training", "trained_1a", "trained_1b", "ready_for_ephys_rig"]


def test_stages_follow_ibl_training_progression() -> None:
    assert [stage.name for stage in CURRICULUM.see_stages()] == ORDER
    assert SPEC.enroll().stage.name == "in_training"


def test_a_status_never_falls_back() -> None:
    """Every transition goes to a later stage: a reached status is kept (ibllib's training hierarchy)."""
    for stage in CURRICULUM.see_stages():
        for _rule, target in CURRICULUM.see_stage_transitions(stage):
            assert ORDER.index(target.name) == ORDER.index(stage.name) + 1, f"{stage.name} -> {target.name}"
    assert CURRICULUM.see_stage_transitions(STAGES[-1]) == []


def test_every_criterion_is_named_importable_and_cited() -> None:
    for stage in CURRICULUM.see_stages():
        for rule, _target in CURRICULUM.see_stage_transitions(stage):
            module, _, name = rule.name.rpartition(".")
            assert module == "ibl_2afc.criteria"
            assert getattr(criteria, name) is rule.callable and isinstance(rule.callable, Criteria)
            assert "brainbox" in (rule.callable.__doc__ or "")


def test_trainer_state_round_trips_through_json() -> None:
    for stage in ORDER:
        state = SPEC.enroll(stage)
        loaded = SPEC.trainer.trainer_state_model.model_validate_json(state.model_dump_json())
        assert loaded.model_dump(mode="json") == state.model_dump(mode="json")


def metrics(**values: object) -> ChoiceWorldMetrics:
    base = {name: None for name in ChoiceWorldMetrics.model_fields}
    base.update(n_trials=300, n_zero_contrast=0, water_delivered_ul=1100.0, biased_blocks=False)
    base.update(values)
    return ChoiceWorldMetrics(**base)


def test_adaptive_reward_follows_iblrig() -> None:
    def reward_after(volume: float, **values: object) -> float:
        task = ChoiceWorld(task_parameters=training_parameters(0, reward_volume_ul=volume))
        return adapt_reward(metrics(**values), task).task_parameters.reward_volume_ul

    assert reward_after(2.0, n_trials=300) == 1.9
    assert reward_after(2.0, water_delivered_ul=500.0) == 2.1  # drank less than its daily minimum
    assert reward_after(2.0, n_trials=150) == 2.0
    assert reward_after(1.5, n_trials=300) == 1.5 and reward_after(3.0, water_delivered_ul=0.0) == 3.0


def test_training_phases_advance_one_at_a_time_and_end_debiasing() -> None:
    task = ChoiceWorld(task_parameters=training_parameters(0))
    assert advance_training_phase(metrics(performance_easy=0.7), task).task_parameters.training_phase == 0
    task = advance_training_phase(metrics(performance_easy=0.85), task)
    assert task.task_parameters.contrasts == [1.0, 0.5, 0.25]
    assert advance_training_phase(metrics(performance_25=0.5), task).task_parameters.training_phase == 1
    for _ in range(10):
        task = advance_training_phase(metrics(performance_25=0.9, n_trials=250), task)
    parameters = task.task_parameters
    assert parameters.training_phase == FINAL_PHASE and not parameters.debias and 0.5 not in parameters.contrasts
