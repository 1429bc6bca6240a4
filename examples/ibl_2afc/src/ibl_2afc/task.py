"""The task the rig runs: IBL's choice world, and the parameters a stage sets.

The contrast sets are iblrig's training phases (``iblrig.choiceworld.training_contrasts_probabilities``):
training starts at 100 % and 50 %, adds 25 %, 12.5 %, 6.25 % and 0 % one at a time, and finally drops
50 %. The biased task (biasedChoiceWorld) uses that last set with blocks in which the stimulus is on the
left with probability 0.2 or 0.8.
"""

from typing import Literal

from aind_behavior_curriculum import Task, TaskParameters
from pydantic import Field

#: Contrast set (fractions) of each training phase, 0 to 5.
TRAINING_PHASES: tuple[tuple[float, ...], ...] = (
    (1.0, 0.5),
    (1.0, 0.5, 0.25),
    (1.0, 0.5, 0.25, 0.125),
    (1.0, 0.5, 0.25, 0.125, 0.0625),
    (1.0, 0.5, 0.25, 0.125, 0.0625, 0.0),
    (1.0, 0.25, 0.125, 0.0625, 0.0),
)
FINAL_PHASE = len(TRAINING_PHASES) - 1
#: The block probabilities of a left stimulus in the biased task.
BIASED_BLOCKS = [0.2, 0.8]


class ChoiceWorldParameters(TaskParameters):
    """What the rig needs to run a session of the choice world."""

    training_phase: int = Field(default=0, ge=0, le=FINAL_PHASE, description="iblrig training phase (0-5).")
    contrasts: list[float] = Field(
        default=list(TRAINING_PHASES[0]), description="Unsigned contrasts (fractions) shown on either side."
    )
    reward_volume_ul: float = Field(default=3.0, ge=1.5, le=3.0, description="Water per correct trial (uL).")
    debias: bool = Field(default=True, description="Repeat an easy stimulus after an error on it.")
    probability_left_blocks: list[float] = Field(
        default_factory=list, description="Block priors of a left stimulus; empty for an unbiased session."
    )
    session_duration_min: float = Field(default=60.0, gt=0, description="The session stops at this time.")
    response_window_s: float = Field(default=60.0, gt=0, description="No response within it is a no-go.")
    rig: Literal["training", "ephys"] = Field(default="training", description="The rig the session runs on.")


class ChoiceWorld(Task):
    """IBL's visual two-alternative choice task."""

    name: Literal["ChoiceWorld"] = "ChoiceWorld"
    task_parameters: ChoiceWorldParameters


def training_parameters(phase: int = 0, **changes: object) -> ChoiceWorldParameters:
    """trainingChoiceWorld at ``phase``: its contrast set, and debiasing in phases 0-4 (as iblrig)."""
    values = {"training_phase": phase, "contrasts": list(TRAINING_PHASES[phase]), "debias": phase < FINAL_PHASE}
    return ChoiceWorldParameters(**{**values, **changes})


def biased_parameters(**changes: object) -> ChoiceWorldParameters:
    """biasedChoiceWorld: the final contrast set, 1.5 uL, blocks of 20/80 % left, no debiasing."""
    values = {
        "training_phase": FINAL_PHASE,
        "contrasts": list(TRAINING_PHASES[FINAL_PHASE]),
        "reward_volume_ul": 1.5,
        "debias": False,
        "probability_left_blocks": list(BIASED_BLOCKS),
    }
    return ChoiceWorldParameters(**{**values, **changes})
