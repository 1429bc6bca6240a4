"""A simulated mouse in a visual change-detection task (Allen Institute Visual Behavior style).

A trial shows a stimulus (flashed, or static when ``blank_duration_s`` is 0) that changes identity at
a random time; licking within the response window after a change is a hit and is rewarded. On catch
trials (``catch_probability``) nothing changes and a lick in the same window is a false alarm. A lick
before the change aborts the trial.

The subject is a signal-detection observer: ``hit = Phi(d'/2 - c)``, ``false alarm = Phi(-d'/2 - c)``.
``d'`` grows with ``skill`` and with familiarity with the stimulus set (a new image set costs d-prime
for a few sessions); flashing costs d-prime until the subject has practised it; the criterion ``c``
moves from eager licking to conservative; impulsive (aborting) licks fade with skill. Once it has drunk
its fill (about 1.2 mL) the subject disengages and stops licking, so late trials are misses: the
reward volume sets how long it stays engaged. Auto-rewarded sessions (``auto_reward``: free water at
every change) teach the association faster.

Trials table (one row per trial; times in seconds from session start):
``trial``, ``start_time``, ``end_time``, ``stimulus`` (set name), ``flashed`` (False: static stimulus),
``initial_image``, ``change_image``,
``is_change`` (False: catch trial), ``change_time`` (NaN when aborted), ``aborted``, ``response``
(lick in the window), ``response_latency`` (from the change, NaN without a lick in the window),
``hit``, ``miss``, ``false_alarm``, ``correct_reject`` (all False on aborted trials),
``auto_rewarded``, ``reward_volume_ul``.
"""

from collections.abc import Mapping
from functools import lru_cache
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from ._base import SimulatedSubject, lognormal, numpy_column, trials_frame

SATIETY_UL = 1200.0
IMAGES_PER_SET = 8
MIN_CHANGE_S, MEAN_EXTRA_CHANGE_S, MAX_CHANGE_S = 2.25, 3.0, 8.25
INTER_TRIAL_S, REWARD_CONSUMPTION_S = 1.5, 1.0


class ChangeDetectionSubject(SimulatedSubject):
    """A seeded mouse learning the change-detection task (see the module docstring)."""

    task = "change_detection"
    defaults: Mapping[str, Any] = {
        "stimulus": "gratings",
        "flash_duration_s": 0.25,
        "blank_duration_s": 0.5,
        "auto_reward": False,
        "reward_volume_ul": 7.0,
        "session_duration_min": 60.0,
        "response_window_s": [0.15, 0.75],
        "catch_probability": 0.125,
        "rig": "training",
    }

    def detection_parameters(self, params: Mapping[str, Any]) -> dict[str, float]:
        """The true d-prime, criterion and abort rate the subject would show with ``params``."""
        skill, extra = self.state.skill, self.state.extra
        familiarity = extra.get(f"familiar:{params['stimulus']}", 0.0)
        flashed = float(params["blank_duration_s"]) > 0
        flash_factor = 1.0 - 0.3 * (1.0 - extra.get("flash_practice", 0.0)) if flashed else 1.0
        d_prime = 0.2 + 3.0 * skill * (0.5 + 0.5 * familiarity) * flash_factor
        criterion = -0.4 + 0.8 * skill
        return {
            "skill": skill,
            "d_prime": d_prime,
            "criterion": criterion,
            "hit_rate": float(NormalDist().cdf(d_prime / 2 - criterion)),
            "false_alarm_rate": float(NormalDist().cdf(-d_prime / 2 - criterion)),
            "abort_rate": 0.45 * (1.0 - skill) + 0.04,
            "satiety_ul": SATIETY_UL * self.state.motivation,
        }

    def _validate(self, params: dict[str, Any]) -> None:
        _check(params)

    def _truth(self, rng: np.random.Generator, params: dict[str, Any]) -> dict[str, float]:
        return self.detection_parameters(params)

    def _simulate(self, rng: np.random.Generator, params: dict[str, Any], truth: dict[str, float]) -> pd.DataFrame:
        return _simulate_trials(rng, params, truth)

    def _update(self, params: dict[str, Any], trials: pd.DataFrame) -> None:
        practice = float(np.count_nonzero(~numpy_column(trials, "aborted"))) / 300.0
        if not self.learn(practice, rate_factor=2.0 if params["auto_reward"] else 1.0):
            return
        extra = self.state.extra
        rate = min(1.0, self.profile.learning_rate * 2.0 * min(1.0, practice))
        key = f"familiar:{params['stimulus']}"
        extra[key] = extra.get(key, 0.0) + rate * (1.0 - extra.get(key, 0.0))
        if float(params["blank_duration_s"]) > 0:
            extra["flash_practice"] = extra.get("flash_practice", 0.0) + rate * (1.0 - extra.get("flash_practice", 0.0))


def _check(params: dict[str, Any]) -> None:
    window = params["response_window_s"]
    if len(window) != 2 or not 0 <= window[0] < window[1]:
        raise ValueError(f"response_window_s must be [start, end] with 0 <= start < end, got {window!r}")
    if not 0.0 <= params["catch_probability"] < 1.0:
        raise ValueError(f"catch_probability must be in [0, 1), got {params['catch_probability']!r}")
    if params["reward_volume_ul"] <= 0 or params["session_duration_min"] <= 0:
        raise ValueError("reward_volume_ul and session_duration_min must be positive")


def _images(stimulus: str) -> np.ndarray:
    if stimulus == "gratings":
        return np.array(["gratings_0", "gratings_90"])
    return np.array([f"{stimulus}_im{i:03d}" for i in range(IMAGES_PER_SET)])


def _simulate_trials(rng: np.random.Generator, params: dict[str, Any], truth: dict[str, float]) -> pd.DataFrame:
    """Vectorized: draw more trials than fit, lay them out in time, cut at the session's end."""
    limit = float(params["session_duration_min"]) * 60.0
    n = int(limit / 3.0) + 1
    window_start, window_end = (float(x) for x in params["response_window_s"])
    is_change = rng.random(n) >= float(params["catch_probability"])
    change_offset = np.minimum(MIN_CHANGE_S + rng.exponential(MEAN_EXTRA_CHANGE_S, n), MAX_CHANGE_S)
    period = float(params["flash_duration_s"]) + float(params["blank_duration_s"])
    if float(params["blank_duration_s"]) > 0:
        change_offset = np.ceil(change_offset / period) * period  # changes happen on a flash
    aborted = rng.random(n) < truth["abort_rate"]
    abort_offset = rng.uniform(0.3, 1.0, n) * change_offset

    lick_draw = rng.random(n)
    lick = np.where(is_change, lick_draw < truth["hit_rate"], lick_draw < truth["false_alarm_rate"])
    latency = window_start + lognormal(rng, 0.3 + 0.3 * (1.0 - truth["skill"]), 0.35, n)
    in_window = lick & (latency <= window_end)
    auto = bool(params["auto_reward"])
    volume = float(params["reward_volume_ul"])
    rewarded = ~aborted & is_change & (in_window | auto)
    water_before = np.cumsum(np.where(rewarded, volume, 0.0)) - np.where(rewarded, volume, 0.0)
    sated = water_before >= truth["satiety_ul"]
    # A sated subject stops licking: no more impulsive aborts and almost no responses.
    aborted &= ~sated
    in_window &= ~sated | (lick_draw < 0.02)
    rewarded = ~aborted & is_change & (in_window | auto)

    consumption = np.where(rewarded, REWARD_CONSUMPTION_S, 0.0)
    duration = np.where(aborted, abort_offset, change_offset + window_end + consumption) + INTER_TRIAL_S
    start = 2.0 + np.concatenate([[0.0], np.cumsum(duration)[:-1]])
    end = start + duration
    keep = end <= limit

    images = _images(str(params["stimulus"]))
    initial = rng.integers(images.size, size=n)
    step = rng.integers(1, images.size, size=n)
    changed = np.where(is_change, (initial + step) % images.size, initial)
    done = ~aborted
    columns = {
        "trial": np.arange(n),
        "start_time": np.round(start, 3),
        "end_time": np.round(end, 3),
        "stimulus": np.zeros(n, dtype=np.intp),  # text columns: codes into their labels until the rows are cut
        "flashed": np.full(n, float(params["blank_duration_s"]) > 0),
        "initial_image": initial,
        "change_image": changed,
        "is_change": is_change,
        "change_time": np.round(np.where(aborted, np.nan, start + change_offset), 3),
        "aborted": aborted,
        "response": done & in_window,
        "response_latency": np.round(np.where(done & in_window, latency, np.nan), 3),
        "hit": done & is_change & in_window,
        "miss": done & is_change & ~in_window,
        "false_alarm": done & ~is_change & in_window,
        "correct_reject": done & ~is_change & ~in_window,
        "auto_rewarded": auto & done & is_change,
        "reward_volume_ul": np.where(rewarded, volume, 0.0),
    }
    selected = {name: values[keep] for name, values in columns.items()}
    stimulus, image_names = _labels((str(params["stimulus"]),)), _labels(tuple(images.tolist()))
    selected["stimulus"] = stimulus.take(selected["stimulus"])
    selected["initial_image"] = image_names.take(selected["initial_image"])
    selected["change_image"] = image_names.take(selected["change_image"])
    return trials_frame(selected)


@lru_cache(maxsize=64)
def _labels(names: tuple[str, ...]) -> ExtensionArray:
    """The text column the table's constructor makes of ``names`` (pandas' string dtype, or objects before
    pandas 3), made once: a session's labels are taken from it, not converted string by string."""
    return pd.DataFrame({"labels": np.array(names)})["labels"].array
