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

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._base import SimulatedSubject, clip01, lognormal, numpy_column, trials_frame

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
        practice = float(np.count_nonzero(numpy_column(trials, "choice"))) / 400.0
        if not self.learn(practice):
            return
        extra, rate = self.state.extra, self.profile.learning_rate * min(1.0, practice)
        extra["debias_practice"] = extra.get("debias_practice", 0.0) + rate * (2.0 if params["debias"] else 0.6)
        if _blocks(params):
            prior = extra.get("prior", 0.0)
            extra["prior"] = prior + clip01(1.5 * rate) * (1.0 - prior)


def _check(params: dict[str, Any]) -> None:
    given = params["contrasts"]
    if type(given) is list and given and all(type(c) is float for c in given):  # as JSON gives them: no array
        bad = any(c < 0 or c > 1 for c in given)  # NaN passes, as through NumPy's comparisons
    else:
        contrasts = np.asarray(given, dtype=np.float64)
        bad = contrasts.ndim != 1 or contrasts.size == 0 or bool(np.any((contrasts < 0) | (contrasts > 1)))
    if bad:
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
    lengths = rng.exponential(BLOCK_MEAN, size=remaining // BLOCK_MIN + 1)
    lengths = np.minimum(np.maximum(lengths, BLOCK_MIN), BLOCK_MAX)  # np.clip, cheaper
    lengths = lengths.astype(int)
    first = int(rng.integers(len(blocks)))
    values = np.asarray(blocks)[(first + np.arange(lengths.size)) % len(blocks)]
    p_left[UNBIASED_START_TRIALS:] = np.repeat(values, lengths)[:remaining]
    return p_left


def _simulate_trials(rng: np.random.Generator, params: dict[str, Any], truth: dict[str, float]) -> pd.DataFrame:
    """The session's trials table, vectorized: draw candidate trials, then cut at time, satiety and will.

    What depends only on the stimulus (side, contrast, block) is computed once per stimulus (``_Stimuli``) and
    looked up per trial: the same operations on the same numbers as per trial, so the same values, cheaper."""
    engagement = max(int(truth["engagement_trials"] * rng.lognormal(0.0, 0.1)), 1)
    blocks = _blocks(params)
    p_left = _probability_left(rng, engagement, blocks) if blocks else None  # None: 0.5 (it draws nothing)
    # side: -1 (left) where the draw is below P(left), else +1
    right = rng.random(engagement) >= (0.5 if p_left is None else p_left)
    levels = np.asarray(params["contrasts"], dtype=np.float64)
    stimuli = _Stimuli(levels, truth, blocks=bool(blocks))
    # rng.choice(levels, size=engagement) draws these indices, and takes levels[index]
    code = rng.integers(0, levels.size, size=engagement, dtype=np.int64) + right * levels.size
    if p_left is not None:  # a left-rich block moves the subject's bias up: it needs more contrast on the right
        code += (p_left > 0.5) * (2 * levels.size) + (p_left < 0.5) * (4 * levels.size)
    debiased = stimuli.easy[code] if params["debias"] and not blocks else np.zeros(engagement, dtype=bool)
    index, position, forced = _repeat_on_error(rng, debiased, stimuli.p_correct[code])
    code = code[index]
    side = stimuli.side[code]
    choice = _choices(rng, stimuli.p_right[code], truth["no_go"], stimuli.no_go_error[code], side, forced)
    timeline = _timeline(rng, choice, side, stimuli.median_rt[code], params)
    keep = (timeline["end_time"] <= float(params["session_duration_min"]) * 60.0) & (
        timeline.pop("water_before") < SATIETY_UL
    )
    keep[engagement:] = False
    # The session ends at the first trial that breaks a limit.
    size = int(keep.argmin()) if not keep.all() else keep.size
    code, choice = code[:size], timeline.pop("choice")[:size]
    columns = {
        "trial": np.arange(size),
        "signed_contrast": stimuli.signed_contrast[code],
        "stim_side": stimuli.stim_side[code],
        "probability_left": np.full(size, 0.5) if p_left is None else p_left[index[:size]],
        "choice": choice.astype(np.int8),
        # the SDK's dtype (nullable boolean, every value known): load_trials need not convert it
        "correct": pd.arrays.BooleanArray(timeline.pop("correct")[:size], np.zeros(size, dtype=bool)),
        "repeat": position[:size] > 0,
        **{name: values[:size] for name, values in timeline.items()},
    }
    return trials_frame(columns)


class _Stimuli:
    """Per stimulus: block (P(left) 0.5, above, below), side (-1, +1), contrast level, in the order of the codes
    ``_simulate_trials`` gives its trials. A few stimuli: Python's floats, whose operations round as NumPy's,
    so each value is the one the per-trial NumPy formula gives."""

    def __init__(self, levels: np.ndarray, truth: dict[str, float], *, blocks: bool) -> None:
        low, high, no_go, threshold = truth["lapse_low"], truth["lapse_high"], truth["no_go"], truth["threshold"]
        kinds = 3 if blocks else 1
        pairs = [(side, contrast) for side in (-1, 1) for contrast in levels.tolist()]  # within each block
        shown = [side * contrast * 100.0 for side, contrast in pairs]  # signed contrast, percent
        p_right: list[float] = []
        for sign in (0.0, 1.0, -1.0)[:kinds]:  # np.sign(p_left - 0.5)
            bias = truth["bias"] + sign * truth["bias_shift"] / 2.0
            # the psychometric model of the module docstring
            p_right += [low + (1.0 - low - high) * (1.0 + math.erf((c - bias) / threshold)) / 2.0 for c in shown]
        sides = [side for side, _ in pairs] * kinds
        p_correct = [(1.0 - no_go) * (p if side == 1 else 1.0 - p) for p, side in zip(p_right, sides, strict=True)]
        self.side = np.array(sides, dtype=np.int64)
        self.stim_side = self.side.astype(np.int8)
        self.signed_contrast = np.array([side * contrast for side, contrast in pairs] * kinds, dtype=np.float64)
        self.easy = np.array([contrast >= EASY_CONTRAST for _, contrast in pairs] * kinds, dtype=bool)
        self.p_right = np.array(p_right, dtype=np.float64)
        self.p_correct = np.array(p_correct, dtype=np.float64)
        # A forced error is a no-go in the same proportion as among the subject's errors.
        self.no_go_error = np.array([no_go / max(1.0 - correct, 1e-9) for correct in p_correct], dtype=np.float64)
        scale = truth["median_rt_scale"]
        median_rt = [scale * (1.0 + 0.8 * (1.0 - contrast)) for _, contrast in pairs]
        self.median_rt = np.array(median_rt * kinds, dtype=np.float64)


def _repeat_on_error(
    rng: np.random.Generator, debiased: np.ndarray, p_correct: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IBL's debiasing: an easy stimulus repeats after each error until the first correct choice.

    Each debiased stimulus is shown a geometric number of times (capped); every showing but the last
    is an error, the last one correct. Returns, per presented trial, the stimulus it shows, its position
    in the run of repeats, and its forced outcome (-1 error, +1 correct, 0 drawn freely).
    """
    size = debiased.size
    draws = rng.geometric(np.minimum(np.maximum(p_correct[debiased], 1e-3), 1.0))  # np.clip, cheaper
    if not draws.size:  # nothing debiased: every stimulus shown once, freely
        return np.arange(size), np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    repeats = np.ones(size, dtype=np.int64)
    repeats[debiased] = np.minimum(draws, MAX_REPEATS)
    index = np.arange(size).repeat(repeats)
    ends = repeats.cumsum()  # one past each stimulus' run
    position = np.arange(index.size) - (ends - repeats)[index]
    forced = np.where(debiased, -1, 0).repeat(repeats)
    forced[ends[debiased][draws <= MAX_REPEATS] - 1] = 1  # the last showing of a run that was not capped
    return index, position, forced


def _choices(
    rng: np.random.Generator,
    p_right: np.ndarray,
    no_go: float,
    no_go_error: np.ndarray,
    side: np.ndarray,
    forced: np.ndarray,
) -> np.ndarray:
    """-1 / +1 / 0 per trial: drawn from the psychometric curve (or a no-go), or the forced outcome (a forced
    error is a no-go with probability ``no_go_error``)."""
    draw, nogo_draw = rng.random(side.size), rng.random(side.size)
    choice = np.where(nogo_draw < no_go, 0, np.where(draw < p_right, 1, -1))
    if not forced.any():
        return choice
    error = np.where(nogo_draw < no_go_error, 0, -side)
    return np.where(forced == 1, side, np.where(forced == -1, error, choice))


def _timeline(
    rng: np.random.Generator, choice: np.ndarray, side: np.ndarray, median_rt: np.ndarray, params: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Reaction times, trial start and end, and water: a response slower than the window is a no-go."""
    reaction = lognormal(rng, median_rt, 0.45, choice.size)
    window = float(params["response_window_s"])
    choice = np.where(reaction > window, 0, choice)
    correct = choice == side  # a side is -1 or +1, never 0 (no choice)
    no_response = choice == 0
    reaction = np.where(no_response, np.nan, reaction)
    quiescence = 0.4 + rng.exponential(0.35, choice.size)
    feedback = np.where(correct, 1.5, 2.5)  # 1.0 or 2.0, and 0.5
    duration = quiescence + np.where(no_response, window, reaction) + feedback
    start = 5.0 + np.concatenate([[0.0], duration.cumsum()[:-1]])
    reward = np.where(correct, float(params["reward_volume_ul"]), 0.0)
    return {
        "choice": choice,
        "correct": correct,
        "reaction_time": reaction.round(3),
        "start_time": start.round(3),
        "end_time": (start + duration).round(3),
        "reward_volume_ul": reward,
        "water_before": reward.cumsum() - reward,
    }
