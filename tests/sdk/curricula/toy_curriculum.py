"""A small curriculum built only with the SDK: three stages, a policy, criteria and a plain callable."""

from pathlib import Path
from typing import Literal

from aind_behavior_curriculum import (
    Metrics,
    Stage,
    Task,
    TaskParameters,
    Trainer,
    create_curriculum,
)

from curriculum_contract.sdk import Criteria, CurriculumSpec, build_cli, metric
from curriculum_contract.sdk.metrics import fraction_correct, load_trials, trial_count

__version__ = "1.2.0"


class ToyParameters(TaskParameters):
    reward_ul: float = 3.0
    contrasts: list[float] = [1.0, 0.5]


class ToyTask(Task):
    name: Literal["ToyTask"] = "ToyTask"
    task_parameters: ToyParameters


class ToyMetrics(Metrics):
    n_trials: int
    performance: float


def compute_metrics(data_directory: Path, *, min_rt: str = "0") -> ToyMetrics:
    trials = load_trials(data_directory)
    return ToyMetrics(n_trials=trial_count(trials), performance=fraction_correct(trials))


def shrink_reward(metrics: ToyMetrics, task: ToyTask) -> ToyTask:
    """Reduce the reward by 0.5 uL per session, down to 1.5 uL."""
    task.task_parameters.reward_ul = max(1.5, task.task_parameters.reward_ul - 0.5)
    return task


def never(metrics: ToyMetrics) -> bool:
    """A plain callable that never fires."""
    return False


to_stage_b = Criteria(metric("n_trials") >= 100, (metric("performance") >= 0.7).in_each_of_last(2), name="to_stage_b")
to_final = Criteria(metric("performance") >= 0.9, name="to_final")

Curriculum = create_curriculum("ToyCurriculum", "1.2.0", (ToyTask,))
CURRICULUM = Curriculum()
STAGE_A = Stage(name="stage_a", task=ToyTask(task_parameters=ToyParameters()), start_policies=[shrink_reward])
STAGE_B = Stage(name="stage_b", task=ToyTask(task_parameters=ToyParameters(contrasts=[1.0, 0.5, 0.25])))
FINAL = Stage(name="final", task=ToyTask(task_parameters=ToyParameters(reward_ul=1.5, contrasts=[1.0, 0.25, 0.0])))
CURRICULUM.add_stage_transition(STAGE_A, STAGE_B, never)
CURRICULUM.add_stage_transition(STAGE_A, STAGE_B, to_stage_b)
CURRICULUM.add_stage_transition(STAGE_B, FINAL, to_final)

TRAINER = Trainer(CURRICULUM)
SPEC = CurriculumSpec(trainer=TRAINER, metrics=compute_metrics, version=__version__)
main = build_cli(SPEC)

if __name__ == "__main__":
    main()
