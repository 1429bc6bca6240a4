"""A simulated mouse in a two-alternative visual choice task (IBL's choice world).

Choices follow the psychometric model the SDK fits (``curriculum_contract.sdk._psychometric``)::

    P(right | c) = lapse_low + (1 - lapse_low - lapse_high) * (1 + erf((c - bias) / threshold)) / 2

with ``c`` in percent contrast, so a fit on the simulated table recovers the subject's parameters.
Those parameters follow the latent ``skill`` (see ``_profiles``): the threshold falls from 80 % to
12 %, each lapse from about 0.45 to 0.03, the median reaction time from several seconds to under one.

The subject responds to the task parameters a curriculum suggests (``TwoAfcSubject.defaults``):

``contrasts``
    unsigned contrasts (fractions) shown on either side with equal probability; a contrast set
    without low contrasts cannot show a low threshold, and a set without 0 has no zero-contrast trials.
``reward_volume_ul``
    the subject stops when sated (about 1.1 mL): a smaller reward buys more trials, and more trials
    mean more practice, so faster learning.
``debias``
    after an error on an easy trial (contrast >= 50 %) the same stimulus repeats until a correct
    choice (IBL's repeat-on-error debiasing); a subject trained with it loses its side bias faster.
``probability_left_blocks``
    empty: the stimulus side is 50/50. ``[0.2, 0.8]``: IBL's biased blocks (90 unbiased trials, then
    blocks alternating between the probabilities, 20 to 100 trials long, 60 on average); the subject
    learns the prior over biased sessions and its bias shifts with the block.
``session_duration_min``, ``response_window_s``
    the session ends at this time; a trial without a response within the window is a no-go
    (``choice`` 0).
``rig``
    recorded in the session's ``rig_id``.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..sdk._psychometric import erf
from ._base import SimulatedSubject, clip01, lognormal, trials_frame

#: Water a subject drinks before it stops working (microliters): IBL's daily minimum is ~1 mL / 25 g.
SATIETY_UL = 1100.0
EASY_CONTRAST = 0.5
#: Lapses stay inside the range the SDK's fit allows (each below 0.5).
MAX_LAPSE = 0.49
MAX_REPEATS = 10
UNBIASED_START_TRIALS = 90
BLOCK_MEAN, BLOCK_MIN, BLOCK_MAX = 60.0, 20, 100


class TwoAfcSubject(SimulatedSubject):
    """A seeded mouse learning the two-alternative choice task (see the module docstring)."""

    task = "two_alternative_choice"
    defaults: Mapping[str, Any] = {
        "contrasts": [1.0, 0.5],
        "reward_volume_ul": 3.0,
        "debias": True,
        "probability_left_blocks": [],
        "session_duration_min": 60.0,
        "response_window_s": 60.0,
        "rig": "training",
    }

    def _draw_traits(self, rng: np.random.Generator) -> dict[str, float]:
        return {
            "initial_bias": float(rng.choice([-1.0, 1.0]) * rng.uniform(15.0, 30.0)),
            "lapse_asymmetry": float(rng.uniform(-0.2, 0.2)),
        }

    # -- the subject's observable parameters, from its latent state ------------------------------
    def psychometric_parameters(self) -> dict[str, float]:
        """The true bias, threshold and lapses (percent contrast) the next session would use."""
        skill = self.state.skill
        lapse = 0.45 - 0.42 * skill
        asym = self.traits["lapse_asymmetry"]
        debiased = self.state.extra.get("debias_practice", 0.0)
        return {
            "skill": skill,
            "bias": self.traits["initial_bias"] * float(np.exp(-debiased)),
            "threshold": 80.0 * (12.0 / 80.0) ** skill,
            "lapse_low": min(MAX_LAPSE, lapse * (1.0 + asym)),
            "lapse_high": min(MAX_LAPSE, lapse * (1.0 - asym)),
            "bias_shift": 25.0 * self.state.extra.get("prior", 0.0),
            "median_rt_scale": 0.5 + 3.5 * (1.0 - skill) ** 1.5,
            "no_go": 0.15 * (1.0 - skill) + 0.005,
            "engagement_trials": self.state.motivation * (180.0 + 720.0 * skill),
        }

    def _validate(self, params: dict[str, Any]) -> None:
        _check(params)

    def _truth(self, rng: np.random.Generator, params: dict[str, Any]) -> dict[str, float]:
        truth = self.psychometric_parameters()
        truth["bias"] += float(rng.normal(0.0, 2.0))  # the day's side bias
        return truth

    def _simulate(self, rng: np.random.Generator, params: dict[str, Any], truth: dict[str, float]) -> pd.DataFrame:
        return _simulate_trials(rng, params, truth)

    def _update(self, params: dict[str, Any], trials: pd.DataFrame) -> None:
        practice = float(np.count_nonzero(trials["choice"].to_numpy())) / 400.0
        if not self.learn(practice):
            return
        extra, rate = self.state.extra, self.profile.learning_rate * min(1.0, practice)
        extra["debias_practice"] = extra.get("debias_practice", 0.0) + rate * (2.0 if params["debias"] else 0.6)
        if _blocks(params):
            prior = extra.get("prior", 0.0)
            extra["prior"] = prior + clip01(1.5 * rate) * (1.0 - prior)


def _check(params: dict[str, Any]) -> None:
    contrasts = np.asarray(params["contrasts"], dtype=np.float64)
    if contrasts.size == 0 or np.any((contrasts < 0) | (contrasts > 1)):
        raise ValueError(f"contrasts must be a non-empty list of fractions in [0, 1], got {params['contrasts']!r}")
    if params["reward_volume_ul"] <= 0 or params["session_duration_min"] <= 0:
        raise ValueError("reward_volume_ul and session_duration_min must be positive")
    blocks = _blocks(params)
    if any(not 0.0 <= p <= 1.0 for p in blocks):
        raise ValueError(f"probability_left_blocks must be probabilities, got {blocks!r}")


def _blocks(params: dict[str, Any]) -> list[float]:
    return [float(p) for p in params["probability_left_blocks"] or [] if float(p) != 0.5]


def _probability_left(rng: np.random.Generator, n: int, blocks: list[float]) -> np.ndarray:
    """Per trial P(stimulus on the left): 0.5, or IBL-style blocks after an unbiased start."""
    p_left = np.full(n, 0.5)
    if not blocks or n <= UNBIASED_START_TRIALS:
        return p_left
    remaining = n - UNBIASED_START_TRIALS
    lengths = np.clip(rng.exponential(BLOCK_MEAN, size=remaining // BLOCK_MIN + 1), BLOCK_MIN, BLOCK_MAX)
    lengths = lengths.astype(int)
    first = int(rng.integers(len(blocks)))
    values = np.asarray(blocks)[(first + np.arange(lengths.size)) % len(blocks)]
    p_left[UNBIASED_START_TRIALS:] = np.repeat(values, lengths)[:remaining]
    return p_left


def _simulate_trials(rng: np.random.Generator, params: dict[str, Any], truth: dict[str, float]) -> pd.DataFrame:
    """The session's trials table, vectorized: draw candidate trials, then cut at time, satiety and will."""
    engagement = max(int(truth["engagement_trials"] * rng.lognormal(0.0, 0.1)), 1)
    blocks = _blocks(params)
    p_left = _probability_left(rng, engagement, blocks)
    side = np.where(rng.random(engagement) < p_left, -1, 1)
    contrast = rng.choice(np.asarray(params["contrasts"], dtype=np.float64), size=engagement)
    # A left-rich block moves the subject's bias up: it needs more contrast on the right to go right.
    bias = truth["bias"] + np.sign(p_left - 0.5) * truth["bias_shift"] / 2.0
    p_right = _p_right(side * contrast * 100.0, bias, truth)
    debiased = (contrast >= EASY_CONTRAST) if params["debias"] and not blocks else np.zeros(engagement, dtype=bool)
    index, position, forced = _repeat_on_error(rng, debiased, side, p_right, truth["no_go"])
    choice = _choices(rng, side[index], p_right[index], truth["no_go"], forced)
    timeline = _timeline(rng, choice, side[index], contrast[index], params, truth)
    keep = (timeline["end_time"] <= float(params["session_duration_min"]) * 60.0) & (
        timeline.pop("water_before") < SATIETY_UL
    )
    keep &= np.arange(index.size) < engagement
    keep = np.cumprod(keep).astype(bool)  # the session ends at the first trial that breaks a limit
    columns = {
        "trial": np.arange(index.size),
        "signed_contrast": side[index] * contrast[index],
        "stim_side": side[index].astype(np.int8),
        "probability_left": p_left[index],
        "choice": timeline.pop("choice").astype(np.int8),
        "correct": timeline.pop("correct"),
        "repeat": position > 0,
        **timeline,
    }
    return trials_frame(columns, keep)


def _repeat_on_error(
    rng: np.random.Generator, debiased: np.ndarray, side: np.ndarray, p_right: np.ndarray, no_go: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IBL's debiasing: an easy stimulus repeats after each error until the first correct choice.

    Each debiased stimulus is shown a geometric number of times (capped); every showing but the last
    is an error, the last one correct. Returns, per presented trial, the stimulus it shows, its position
    in the run of repeats, and its forced outcome (-1 error, +1 correct, 0 drawn freely).
    """
    p_correct = (1.0 - no_go) * np.where(side == 1, p_right, 1.0 - p_right)
    repeats = np.ones(side.size, dtype=np.int64)
    repeats[debiased] = rng.geometric(np.clip(p_correct[debiased], 1e-3, 1.0))
    capped = repeats > MAX_REPEATS
    repeats = np.minimum(repeats, MAX_REPEATS)
    index = np.repeat(np.arange(side.size), repeats)
    position = np.arange(index.size) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    last = position == repeats[index] - 1
    forced = np.where(debiased[index], np.where(last & ~capped[index], 1, -1), 0)
    return index, position, forced


def _choices(
    rng: np.random.Generator, side: np.ndarray, p_right: np.ndarray, no_go: float, forced: np.ndarray
) -> np.ndarray:
    """-1 / +1 / 0 per trial: drawn from the psychometric curve (or a no-go), or the forced outcome."""
    draw, nogo_draw = rng.random(side.size), rng.random(side.size)
    choice = np.where(nogo_draw < no_go, 0, np.where(draw < p_right, 1, -1))
    # A forced error is a no-go in the same proportion as among the subject's errors.
    p_error = 1.0 - (1.0 - no_go) * np.where(side == 1, p_right, 1.0 - p_right)
    error = np.where(nogo_draw < no_go / np.maximum(p_error, 1e-9), 0, -side)
    return np.where(forced == 1, side, np.where(forced == -1, error, choice))


def _timeline(
    rng: np.random.Generator,
    choice: np.ndarray,
    side: np.ndarray,
    contrast: np.ndarray,
    params: dict[str, Any],
    truth: dict[str, float],
) -> dict[str, np.ndarray]:
    """Reaction times, trial start and end, and water: a response slower than the window is a no-go."""
    median_rt = truth["median_rt_scale"] * (1.0 + 0.8 * (1.0 - contrast))
    reaction = lognormal(rng, median_rt, 0.45, choice.size)
    window = float(params["response_window_s"])
    choice = np.where(reaction > window, 0, choice)
    correct = (choice == side) & (choice != 0)
    reaction = np.where(choice == 0, np.nan, reaction)
    quiescence = 0.4 + rng.exponential(0.35, choice.size)
    feedback = np.where(correct, 1.0, 2.0) + 0.5
    duration = quiescence + np.where(choice == 0, window, reaction) + feedback
    start = 5.0 + np.concatenate([[0.0], np.cumsum(duration)[:-1]])
    reward = np.where(correct, float(params["reward_volume_ul"]), 0.0)
    return {
        "choice": choice,
        "correct": correct,
        "reaction_time": np.round(reaction, 3),
        "start_time": np.round(start, 3),
        "end_time": np.round(start + duration, 3),
        "reward_volume_ul": reward,
        "water_before": np.cumsum(reward) - reward,
    }


def _p_right(contrast_percent: np.ndarray, bias: np.ndarray, truth: dict[str, float]) -> np.ndarray:
    """The psychometric model of the module docstring, with a per-trial bias."""
    low, high = truth["lapse_low"], truth["lapse_high"]
    return low + (1.0 - low - high) * (1.0 + erf((contrast_percent - bias) / truth["threshold"])) / 2.0
