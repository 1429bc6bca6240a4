"""Change-detection metrics on hand-made tables: the definitions, the edge cases, the errors."""

import math
from pathlib import Path

import pandas as pd
import pytest
from curriculum_contract.sdk import InputError

from visual_behavior.metrics import REQUIRED_COLUMNS, compute_metrics, d_prime


def write(tmp_path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows, columns=list(REQUIRED_COLUMNS)).to_csv(tmp_path / "trials.csv", index=False)
    return tmp_path


def trial(start: float, *, change: bool, lick: bool, aborted: bool = False) -> dict:
    hit, fa = (change and lick and not aborted), (not change and lick and not aborted)
    return {
        "start_time": start,
        "end_time": start + 6.0,
        "is_change": change,
        "aborted": aborted,
        "hit": hit,
        "false_alarm": fa,
        "reward_volume_ul": 7.0 if hit else 0.0,
        "stimulus": "images_A",
        "flashed": True,
    }


def test_rates_d_prime_and_engagement(tmp_path: Path) -> None:
    rows = [trial(6.0 * i, change=i % 4 != 0, lick=i % 4 != 0) for i in range(40)]
    rows.append(trial(240.0, change=True, lick=False, aborted=True))
    metrics = compute_metrics(write(tmp_path, rows))
    assert (metrics.n_trials, metrics.n_go, metrics.n_catch) == (41, 30, 10)
    assert metrics.hit_rate == 1.0 and metrics.false_alarm_rate == 0.0
    # Rates clipped to [1/2N, 1 - 1/2N] keep d-prime finite.
    assert metrics.d_prime == pytest.approx(d_prime(1.0, 30, 0.0, 10), abs=1e-6) and math.isfinite(metrics.d_prime)
    assert metrics.engaged_minutes == pytest.approx(41 * 6.0 / 60.0)
    assert metrics.stimulus == "images_A" and metrics.flashed
    assert metrics.fraction_aborted == pytest.approx(1 / 41, abs=1e-6)


def test_an_empty_session_has_undefined_rates(tmp_path: Path) -> None:
    metrics = compute_metrics(write(tmp_path, []))
    assert metrics.n_trials == 0 and metrics.d_prime is None and metrics.hit_rate is None
    assert metrics.engaged_minutes == 0.0 and metrics.stimulus == ""


def test_a_missing_column_or_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no trials file"):
        compute_metrics(tmp_path)
    pd.DataFrame({"start_time": [0.0]}).to_csv(tmp_path / "trials.csv", index=False)
    with pytest.raises(InputError, match="missing column"):
        compute_metrics(tmp_path)
    rows = [trial(0.0, change=True, lick=True)]
    rows[0]["hit"] = "maybe"
    with pytest.raises(InputError, match="column hit must be true/false"):
        compute_metrics(write(tmp_path, rows))
