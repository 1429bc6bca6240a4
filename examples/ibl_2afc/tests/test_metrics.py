"""The choice-world metrics on hand-made tables: IBL's definitions and the undefined cases."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ibl_2afc.metrics import compute_metrics


def test_performance_easy_counts_no_go_as_errors(tmp_path: Path) -> None:
    contrasts = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0] * 60
    choice = [-1 if c < 0 else 1 for c in contrasts]
    choice[0] = 0  # a no-go on a 100 % trial
    trials = pd.DataFrame(
        {
            "signed_contrast": contrasts,
            "choice": choice,
            "probability_left": [0.5] * 140 + [0.2] * 140 + [0.8] * 140,
            "reward_volume_ul": [1.5] * len(contrasts),
        }
    )
    trials.to_csv(tmp_path / "trials.csv", index=False)
    metrics = compute_metrics(tmp_path)
    easy = sum(abs(c) >= 0.5 for c in contrasts)
    assert metrics.performance_easy == pytest.approx((easy - 1) / easy, abs=1e-6)
    assert metrics.n_zero_contrast == 60 and metrics.biased_blocks
    assert metrics.water_delivered_ul == pytest.approx(1.5 * len(contrasts))
    # A perfect subject's step lies anywhere between two levels: the blocks' biases are not determined.
    assert metrics.bias_shift is None and metrics.bias is None


def test_blocks_are_fitted_and_their_bias_shift_recovered(tmp_path: Path) -> None:
    """Choices drawn from IBL's model, the bias 20 % higher (leaning left) in the 80 % left blocks."""
    rng = np.random.default_rng(3)
    levels = np.array([-1.0, -0.5, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 0.5, 1.0])
    blocks = np.repeat([0.2, 0.8], 2200)
    contrast = rng.choice(levels, size=blocks.size)
    true_bias = np.where(blocks == 0.8, 10.0, -10.0)  # more left stimuli: the subject leans left
    p_right = 0.05 + 0.9 * (1 + np.vectorize(math.erf)((contrast * 100 - true_bias) / 20.0)) / 2
    choice = np.where(rng.random(blocks.size) < p_right, 1, -1)
    frame = {"signed_contrast": contrast, "choice": choice, "probability_left": blocks}
    pd.DataFrame(frame).to_csv(tmp_path / "trials.csv", index=False)
    metrics = compute_metrics(tmp_path)
    # 2,200 trials a block: each bias is known to about 1.5 %, so the shift to within 6 %.
    assert metrics.bias_shift is not None and metrics.bias_shift == pytest.approx(20.0, abs=6.0)
    assert metrics.lapse_low_20 is not None and metrics.lapse_low_20 == pytest.approx(0.05, abs=0.04)


def test_an_unbiased_session_has_no_block_metrics(tmp_path: Path) -> None:
    pd.DataFrame({"signed_contrast": [1.0, -1.0], "choice": [1, -1]}).to_csv(tmp_path / "trials.csv", index=False)
    metrics = compute_metrics(tmp_path)
    assert not metrics.biased_blocks and metrics.bias_shift is None and metrics.lapse_low_80 is None
    assert metrics.median_rt_zero_contrast is None and metrics.water_delivered_ul == 0.0


def test_an_empty_session_is_all_undefined(tmp_path: Path) -> None:
    (tmp_path / "trials.csv").write_text("signed_contrast,choice\n", encoding="utf-8")
    metrics = compute_metrics(tmp_path)
    assert metrics.n_trials == 0 and metrics.performance_easy is None and metrics.threshold is None
