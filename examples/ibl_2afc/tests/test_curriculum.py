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
            assert ORDER.index(target.name) > ORDER.index(stage.name), f"{stage.name} -> {target.name}"
    assert CURRICULUM.see_stage_transitions(STAGES[-1]) == []


def test_in_training_checks_1b_first_and_may_skip_1a() -> None:
    """ibllib's get_training_status tests criterion_1b before criterion_1a: 1b wins when both hold."""
    transitions = CURRICULUM.see_stage_transitions(STAGES[0])
    assert [(rule.callable, target.name) for rule, target in transitions] == [
        (criteria.to_trained_1b, "trained_1b"),
        (criteria.to_trained_1a, "trained_1a"),
    ]


def test_only_the_ephys_criterion_counts_sessions_of_its_stage() -> None:
    """1a and 1b pool the last three sessions whatever their stage; ready for the ephys rig needs three
    sessions of trained 1b (ibllib: three biasedChoiceWorld sessions)."""
    for rule in (criteria.to_trained_1a, criteria.to_trained_1b):
        assert {c.stage for c in rule.conditions} == {"any"}
    assert {c.stage for c in criteria.to_ready_for_ephys_rig.conditions} == {"current"}
    pooled = [c for c in criteria.to_trained_1b.conditions if c.mode == "pooled"]
    assert {c.metric for c in pooled} >= {"pooled_threshold(contrast_counts)", "pooled_median(rt_zero_contrast)"}


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
    base.update(contrast_counts=[], contrast_counts_20=[], contrast_counts_80=[], rt_zero_contrast=[])
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
