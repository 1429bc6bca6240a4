"""Between-session parameter updates within a stage (DSL policies): IBL's adaptive reward and
training phases.

Sources: iblrig's ``choiceworld.compute_adaptive_reward_volume`` (reward) and
``TrainingChoiceWorldSession.check_training_phase`` (phases); the protocol is Appendix 2 of The
International Brain Laboratory, "Standardized and reproducible measurement of decision-making in
mice", eLife 2021;10:e63711. iblrig decides the phase within a session, on the last 50 trials; a
curriculum decides between sessions, so here a phase advances at most once per session, on the
session's metrics.
"""

from .metrics import ChoiceWorldMetrics
from .task import FINAL_PHASE, TRAINING_PHASES, ChoiceWorld

REWARD_STEP_UL, REWARD_MIN_UL, REWARD_MAX_UL = 0.1, 1.5, 3.0
#: A 25 g mouse's minimum daily water, ~1 mL (iblrig: subject weight / 25 mL).
DAILY_WATER_UL = 1000.0


def adapt_reward(metrics: ChoiceWorldMetrics, task: ChoiceWorld) -> ChoiceWorld:
    """IBL's adaptive reward: 0.1 uL less after a session of more than 200 trials (down to 1.5 uL).

    It is 0.1 uL more instead (up to 3 uL) after a session in which the subject drank less than its
    daily minimum.
    """
    parameters = task.task_parameters
    volume = parameters.reward_volume_ul
    if metrics.water_delivered_ul < DAILY_WATER_UL:
        volume += REWARD_STEP_UL
    elif metrics.n_trials > 200:
        volume -= REWARD_STEP_UL
    parameters.reward_volume_ul = round(min(REWARD_MAX_UL, max(REWARD_MIN_UL, volume)), 3)
    return task


def advance_training_phase(metrics: ChoiceWorldMetrics, task: ChoiceWorld) -> ChoiceWorld:
    """iblrig's training phases: add the next lower contrast, at most one phase per session.

    0 -> 1 when performance on 100 % and 50 % is above 80 %; 1 -> 2 when performance on 25 % is above
    80 %; 2 -> 3 -> 4 -> 5 after a session of at least 200 trials. Debiasing stays on until phase 5,
    which drops 50 %.
    """
    parameters = task.task_parameters
    phase = parameters.training_phase
    if phase == 0:
        ready = (metrics.performance_easy or 0.0) > 0.8
    elif phase == 1:
        ready = (metrics.performance_25 or 0.0) > 0.8
    else:
        ready = phase < FINAL_PHASE and metrics.n_trials >= 200
    if ready:
        phase += 1
        parameters.training_phase = phase
        parameters.contrasts = list(TRAINING_PHASES[phase])
        parameters.debias = phase < FINAL_PHASE
    return task
