"""The task the rig runs: visual change detection, and the parameters a regimen stage sets."""

from typing import Literal

from aind_behavior_curriculum import Task, TaskParameters
from pydantic import Field


class ChangeDetectionParameters(TaskParameters):
    """What the rig needs to run a change-detection session; a regimen stage sets every field."""

    stimulus: str = Field(description="Stimulus set: 'gratings' or an image set such as 'images_A'.")
    flash_duration_s: float = Field(gt=0, description="How long each flash shows the stimulus.")
    blank_duration_s: float = Field(ge=0, description="Gray screen between flashes; 0 shows a static stimulus.")
    auto_reward: bool = Field(description="Deliver water at every change without waiting for a lick.")
    reward_volume_ul: float = Field(gt=0, description="Water per hit (microliters).")
    session_duration_min: float = Field(gt=0, description="Session length.")
    response_window_s: list[float] = Field(
        min_length=2, max_length=2, description="[start, end] after a change in which a lick counts."
    )
    catch_probability: float = Field(ge=0, lt=1, description="Fraction of trials without a change.")


class ChangeDetection(Task):
    """The Visual Behavior change-detection task."""

    name: Literal["ChangeDetection"] = "ChangeDetection"
    task_parameters: ChangeDetectionParameters
