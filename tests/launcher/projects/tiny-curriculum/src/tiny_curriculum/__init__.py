"""A two-stage curriculum: warmup -> training once a subject did 5+ trials in each of its last 2 sessions."""

from pathlib import Path
from typing import Literal

import pandas as pd
from aind_behavior_curriculum import Metrics, Stage, Task, TaskParameters, Trainer, create_curriculum

from curriculum_contract.sdk import Criteria, CurriculumSpec, build_cli, metric

__version__ = "0.1.0"


class TinyParameters(TaskParameters):
    reward_ul: float = 3.0


class TinyTask(Task):
    name: Literal["TinyTask"] = "TinyTask"
    task_parameters: TinyParameters


class TinyMetrics(Metrics):
    n_trials: int


def compute_metrics(data_directory: Path) -> TinyMetrics:
    return TinyMetrics(n_trials=len(pd.read_csv(data_directory / "trials.csv")))


to_training = Criteria((metric("n_trials") >= 5).in_each_of_last(2), name="to_training")

Curriculum = create_curriculum("TinyCurriculum", __version__, (TinyTask,))
CURRICULUM = Curriculum()
WARMUP = Stage(name="warmup", task=TinyTask(task_parameters=TinyParameters()))
TRAINING = Stage(name="training", task=TinyTask(task_parameters=TinyParameters(reward_ul=2.0)))
CURRICULUM.add_stage_transition(WARMUP, TRAINING, to_training)

SPEC = CurriculumSpec(trainer=Trainer(CURRICULUM), metrics=compute_metrics, version=__version__)
main = build_cli(SPEC)
