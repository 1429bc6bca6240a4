"""The session metrics IBL's training status is computed from, with the SDK's metric helpers.

Input: the session's trials table (``trials.csv``/``.parquet``/``.jsonl`` in the data directory), in
the SDK's two-alternative choice format (``signed_contrast``, ``choice``, ``correct``,
``reaction_time``, ``start_time``, ``end_time``), plus two optional columns this curriculum reads:

``probability_left``
    the block's prior probability of a left stimulus (IBL's ``probabilityLeft``); absent or 0.5
    everywhere means an unbiased session.
``reward_volume_ul``
    water delivered on the trial, in microliters (0 on errors).

For the training criteria, which IBL computes on the last three sessions pooled, a session also carries
its sufficient statistics: the choice counts per signed contrast (all trials, a no-go counting as not
rightward, as ibllib's ``compute_psychometric``), the same per biased block, and the reaction times of its
zero-contrast trials (ibllib's ``compute_median_reaction_time``; a no-go counts as slower than any response).

A value that cannot be computed (no easy trials, no biased blocks) or that the trials do not determine
(a psychometric parameter the fit reports as undefined: too few contrast levels, a flat likelihood, an
estimate at a bound) is ``None``, and a criterion on it does not pass; the document's warnings and the
decision say why.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
from aind_behavior_curriculum import Metrics
from curriculum_contract.sdk import declare_undefined
from curriculum_contract.sdk.metrics import (
    PsychometricFit,
    choice_counts,
    fit_psychometric,
    fraction_correct,
    fraction_correct_easy,
    load_trials,
    median_reaction_time,
    reaction_times,
    session_duration,
    trial_count,
)
from pydantic import Field

#: IBL's "easy" trials: contrast of at least 50 % (brainbox ``compute_performance_easy``).
EASY_CONTRAST = 0.5
BLOCKS = (0.2, 0.8)


class ChoiceWorldMetrics(Metrics):
    """One session's metrics. Psychometric parameters are in percent contrast, as IBL reports them."""

    n_trials: int = Field(description="Trials in the session, no-go trials included.")
    performance: float | None = Field(description="Fraction correct among trials with a response.")
    performance_easy: float | None = Field(
        description="Fraction correct on trials with contrast >= 50 %, a no-go counting as an error (IBL)."
    )
    performance_25: float | None = Field(description="Fraction correct on 25 % contrast trials.")
    n_zero_contrast: int = Field(description="Trials at zero contrast.")
    bias: float | None = Field(description="Psychometric bias (% contrast).")
    threshold: float | None = Field(description="Psychometric threshold (% contrast).")
    lapse_low: float | None = Field(description="Rate of right choices on strong left stimuli.")
    lapse_high: float | None = Field(description="Rate of left choices on strong right stimuli.")
    median_rt_zero_contrast: float | None = Field(description="Median reaction time (s) at zero contrast.")
    median_reaction_time: float | None = Field(description="Median reaction time (s) over all responses.")
    session_duration_min: float | None = Field(description="From the first trial's start to the last one's end.")
    water_delivered_ul: float = Field(description="Water delivered in the session (microliters).")
    biased_blocks: bool = Field(description="Whether the session had biased blocks (biasedChoiceWorld).")
    bias_shift: float | None = Field(description="bias in 80 % left blocks minus bias in 20 % blocks (% contrast).")
    lapse_low_20: float | None = Field(description="lapse_low fitted on the 20 % left blocks.")
    lapse_high_20: float | None = Field(description="lapse_high fitted on the 20 % left blocks.")
    lapse_low_80: float | None = Field(description="lapse_low fitted on the 80 % left blocks.")
    lapse_high_80: float | None = Field(description="lapse_high fitted on the 80 % left blocks.")
    contrast_counts: list[list[float]] = Field(
        description="[signed contrast %, trials, right choices] per level, no-go trials counted as not right (IBL)."
    )
    contrast_counts_20: list[list[float]] = Field(description="contrast_counts of the 20 % left blocks.")
    contrast_counts_80: list[list[float]] = Field(description="contrast_counts of the 80 % left blocks.")
    rt_zero_contrast: list[float | None] = Field(
        description="Reaction times (s) of the zero-contrast trials, ascending; null for each no-go."
    )


def compute_metrics(data_directory: Path) -> ChoiceWorldMetrics:
    """The metrics of the session in ``data_directory`` (see the module docstring for its input).

    Subsets (a block, a contrast) are ``where=`` masks, not sub-tables: the same values, without pandas
    copying the table for each of them (most of the cost on a few hundred trials, besides the fits).
    """
    trials = load_trials(data_directory)
    fit = fit_psychometric(trials, report_as="{}")
    contrast = np.abs(trials["signed_contrast"].to_numpy(dtype=np.float64))
    probability_left = _probability_left(trials)
    biased = bool(np.any(~np.isclose(probability_left, 0.5)))
    in_block = {p: np.isclose(probability_left, p) for p in BLOCKS}
    blocks = {p: _block_fit(trials, in_block[p], p, biased) for p in BLOCKS}
    duration = session_duration(trials)
    water = float(trials["reward_volume_ul"].sum()) if "reward_volume_ul" in trials else 0.0
    return ChoiceWorldMetrics(
        n_trials=trial_count(trials),
        performance=_defined(fraction_correct(trials)),
        performance_easy=_defined(fraction_correct_easy(trials, EASY_CONTRAST, count_no_go_as_incorrect=True)),
        performance_25=_defined(fraction_correct(trials, where=np.isclose(contrast, 0.25))),
        n_zero_contrast=int(np.count_nonzero(contrast == 0)),
        bias=_defined(fit.bias),
        threshold=_defined(fit.threshold),
        lapse_low=_defined(fit.lapse_low),
        lapse_high=_defined(fit.lapse_high),
        median_rt_zero_contrast=_defined(median_reaction_time(trials, contrast=0.0)),
        median_reaction_time=_defined(median_reaction_time(trials)),
        session_duration_min=_defined(duration / 60.0),
        water_delivered_ul=round(water, 3),
        biased_blocks=biased,
        bias_shift=_defined(blocks[0.8].bias - blocks[0.2].bias) if biased else None,
        lapse_low_20=_defined(blocks[0.2].lapse_low) if biased else None,
        lapse_high_20=_defined(blocks[0.2].lapse_high) if biased else None,
        lapse_low_80=_defined(blocks[0.8].lapse_low) if biased else None,
        lapse_high_80=_defined(blocks[0.8].lapse_high) if biased else None,
        contrast_counts=choice_counts(trials, count_no_go_as_left=True),
        contrast_counts_20=choice_counts(trials, count_no_go_as_left=True, where=in_block[0.2]),
        contrast_counts_80=choice_counts(trials, count_no_go_as_left=True, where=in_block[0.8]),
        rt_zero_contrast=reaction_times(trials, contrast=0.0),
    )


def _block_fit(trials: pd.DataFrame, in_block: np.ndarray, probability_left: float, biased: bool) -> PsychometricFit:
    """The fit of one block's trials; its undefined lapses (and the bias shift) are reported when the
    session is biased, where criteria read them."""
    report_as = f"{{}}_{probability_left * 100:.0f}" if biased else None  # e.g. lapse_low_20
    fit = fit_psychometric(trials, report_as=report_as, where=in_block)
    if biased and "bias" in fit.undefined:
        declare_undefined("bias_shift", f"bias of the {probability_left:.0%} left blocks: {fit.undefined['bias']}")
    return fit


def _probability_left(trials: pd.DataFrame) -> np.ndarray:
    if "probability_left" not in trials:
        return np.full(len(trials), 0.5)
    column = trials["probability_left"]
    if column.dtype == np.float64:  # the usual case: to_numeric would return it unchanged
        return np.where(np.isnan(column.to_numpy()), 0.5, column.to_numpy())
    return pd.to_numeric(column, errors="coerce").fillna(0.5).to_numpy(dtype=np.float64)


def _defined(value: float) -> float | None:
    """A finite number rounded for the history, or ``None`` for "could not be computed"."""
    return round(float(value), 6) if math.isfinite(value) else None
