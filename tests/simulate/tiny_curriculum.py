"""A two-stage curriculum whose one threshold a test can make stricter: ``spec(0.8)`` or ``spec(0.95)``."""

from pathlib import Path
from typing import Literal

from aind_behavior_curriculum import Metrics, Stage, Task, TaskParameters, Trainer, create_curriculum
from pydantic import Field

from curriculum_contract.sdk import Criteria, CurriculumSpec, metric
from curriculum_contract.sdk.metrics import fraction_correct_easy, load_trials, trial_count
from curriculum_contract.simulate import LEARNERS, Learner


class TinyMetrics(Metrics):
    n_trials: int = Field(description="Trials.")
    fraction_correct_easy: float = Field(description="Fraction correct on easy trials.")


def compute_metrics(data_directory: Path) -> TinyMetrics:
    trials = load_trials(data_directory)
    return TinyMetrics(n_trials=trial_count(trials), fraction_correct_easy=fraction_correct_easy(trials, 0.5))


class TinyParameters(TaskParameters):
    contrasts: list[float] = Field(description="Contrasts.")


class TinyTask(Task):
    name: Literal["TinyTask"] = "TinyTask"
    task_parameters: TinyParameters


to_trained_080 = Criteria((metric("fraction_correct_easy") >= 0.80).in_each_of_last(2), name="to_trained_080")
to_trained_095 = Criteria((metric("fraction_correct_easy") >= 0.95).in_each_of_last(2), name="to_trained_095")


def spec(threshold: float) -> CurriculumSpec:
    """The curriculum with its one transition at ``threshold`` (0.8 or 0.95)."""
    training = Stage(name="training", task=TinyTask(task_parameters=TinyParameters(contrasts=[1.0, 0.5])))
    trained = Stage(name="trained", task=TinyTask(task_parameters=TinyParameters(contrasts=[1.0, 0.5, 0.25, 0.0])))
    curriculum = create_curriculum("Tiny", "1.0.0", (TinyTask,))()
    curriculum.add_stage_transition(training, trained, {0.8: to_trained_080, 0.95: to_trained_095}[threshold])
    return CurriculumSpec(trainer=Trainer(curriculum), metrics=compute_metrics, version=f"1.0.0+t{threshold}")


class _FailsOnSecondSession:
    """The built-in two-alternative learner, except that its second session raises: a run that fails after
    it kept some sessions."""

    def __init__(self, learner: Learner) -> None:
        self.learner, self.sessions = learner, 0

    def run_session(self, parameters: dict) -> object:
        self.sessions += 1
        if self.sessions == 2:
            raise RuntimeError("the learner broke on its second session")
        return self.learner.run_session(parameters)


def failing_learner(subject_id: str, rng: object, parameters: object) -> _FailsOnSecondSession:
    return _FailsOnSecondSession(LEARNERS["two_afc"](subject_id, rng, parameters))


class _Slow:
    """The built-in learner, each session after writing this process's id into ``$SIMULATE_PIDS`` and a pause:
    a worker a test can find, and kill the run around."""

    def __init__(self, learner: Learner) -> None:
        self.learner = learner

    def run_session(self, parameters: dict) -> object:
        import os
        import time

        (Path(os.environ["SIMULATE_PIDS"]) / str(os.getpid())).touch()
        time.sleep(0.2)
        return self.learner.run_session(parameters)


def slow_learner(subject_id: str, rng: object, parameters: object) -> _Slow:
    return _Slow(LEARNERS["two_afc"](subject_id, rng, parameters))


#: ``tiny_curriculum:SPEC``: what a test's ``curriculum`` program in a new process loads (threshold 0.8).
SPEC = spec(0.8)
