"""The trials table loader and the session metrics, on small tables with hand-computed answers."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.sdk import _frames
from curriculum_contract.sdk._errors import InputError
from curriculum_contract.sdk._metrics import (
    SessionSummary,
    choice_bias,
    fraction_correct,
    fraction_correct_easy,
    median_reaction_time,
    session_duration,
    summarize_session,
    trial_count,
)
from curriculum_contract.sdk._trials import TrialsError, coerce_trials, load_trials

# Six trials; the expected values below are worked out by hand from these rows.
#   row  contrast  choice  correct (derived)  rt    start  end
#   0    -1.00     -1      True               0.5   0.0    2.0
#   1    -0.50     +1      False              1.0   2.5    4.0
#   2     0.00     +1      <NA> (zero)        2.0   4.5    7.0
#   3     0.25     +1      True               NaN   7.5    9.0
#   4     1.00      0      False (no-go)      3.0   9.5    12.5
#   5     1.00     +1      True               0.7   13.0   14.0
ROWS = {
    "signed_contrast": [-1.0, -0.5, 0.0, 0.25, 1.0, 1.0],
    "choice": [-1, 1, 1, 1, 0, 1],
    "reaction_time": [0.5, 1.0, 2.0, math.nan, 3.0, 0.7],
    "start_time": [0.0, 2.5, 4.5, 7.5, 9.5, 13.0],
    "end_time": [2.0, 4.0, 7.0, 9.0, 12.5, 14.0],
}


@pytest.fixture(autouse=True, params=["column accessor", "Series"])
def column_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs twice: with pandas' column accessor (``sdk._frames``) and with plain Series reads,
    what a pandas without that accessor gets."""
    if request.param == "Series":
        monkeypatch.setattr(_frames, "ACCESSOR", "_no_such_accessor")
    return request.param


@pytest.fixture
def trials() -> pd.DataFrame:
    return coerce_trials(pd.DataFrame(ROWS))


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


# --- loading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".ndjson"])
def test_each_format_loads_to_the_same_canonical_table(tmp_path: Path, suffix: str, trials: pd.DataFrame) -> None:
    loaded = load_trials(write(pd.DataFrame(ROWS), tmp_path / f"trials{suffix}"))
    assert loaded.dtypes["signed_contrast"] == np.float64
    assert loaded.dtypes["choice"] == np.int8
    assert isinstance(loaded.dtypes["correct"], pd.BooleanDtype)
    pd.testing.assert_frame_equal(loaded[trials.columns], trials)


def test_directory_prefers_parquet_then_csv_then_jsonl_and_the_top_level(tmp_path: Path) -> None:
    write(pd.DataFrame({"signed_contrast": [0.5], "choice": [1]}), tmp_path / "behavior" / "trials.csv")
    assert load_trials(tmp_path)["signed_contrast"].tolist() == [0.5]
    write(pd.DataFrame({"signed_contrast": [0.25], "choice": [1]}), tmp_path / "trials.jsonl")
    assert load_trials(tmp_path)["signed_contrast"].tolist() == [0.25]
    write(pd.DataFrame({"signed_contrast": [0.125], "choice": [1]}), tmp_path / "trials.csv")
    assert load_trials(tmp_path)["signed_contrast"].tolist() == [0.125]
    write(pd.DataFrame({"signed_contrast": [1.0], "choice": [1]}), tmp_path / "trials.parquet")
    assert load_trials(tmp_path)["signed_contrast"].tolist() == [1.0]


def test_directory_without_trials_names_every_place_looked(tmp_path: Path) -> None:
    with pytest.raises(TrialsError) as info:
        load_trials(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    for place in ("trials.parquet", "trials.csv", "trials.jsonl", "behavior/trials.parquet", "behavior/trials.jsonl"):
        assert place in message
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)


def test_missing_path_and_unknown_type_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TrialsError, match="no such file") as info:
        load_trials(tmp_path / "nope.csv")
    assert str(tmp_path / "nope.csv") in str(info.value)
    (tmp_path / "trials.xlsx").write_text("x")
    with pytest.raises(TrialsError, match=r"unknown trials file type '\.xlsx'"):
        load_trials(tmp_path / "trials.xlsx")


def test_missing_required_column_is_named_with_the_file(tmp_path: Path) -> None:
    path = write(pd.DataFrame({"signed_contrast": [0.5], "response": [1]}), tmp_path / "trials.csv")
    with pytest.raises(TrialsError) as info:
        load_trials(path)
    assert str(path) in str(info.value)
    assert "missing required column(s) choice" in str(info.value)
    assert "found: signed_contrast, response" in str(info.value)


def test_contrast_in_percent_is_rejected_with_the_row_count_and_a_hint(tmp_path: Path) -> None:
    path = write(pd.DataFrame({"signed_contrast": [-100, 0, 25, 0.5], "choice": [1, 1, 1, 1]}), tmp_path / "t.csv")
    with pytest.raises(TrialsError) as info:
        load_trials(path)
    message = str(info.value)
    assert str(path) in message and "signed_contrast outside [-1, 1] in 2 row(s)" in message
    assert "min -100, max 25" in message and "divide percent by 100" in message


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ({"signed_contrast": [0.5, None], "choice": [1, 1]}, "signed_contrast is empty or NaN in 1 row(s)"),
        ({"signed_contrast": [0.5, "left"], "choice": [1, 1]}, "column signed_contrast must be numeric; 1 row(s)"),
        ({"signed_contrast": [0.5, 0.5, 0.5], "choice": [1, 2, -2]}, "choice must be -1, 0 or +1; 2 row(s)"),
        ({"signed_contrast": [0.5], "choice": [None]}, "choice must be -1, 0 or +1; 1 row(s)"),
        ({"signed_contrast": [0.5], "choice": [1], "correct": [2]}, "column correct must be boolean or 0/1"),
        ({"signed_contrast": [0.5], "choice": [1], "correct": ["maybe"]}, "column correct must be true/false"),
        ({"signed_contrast": [0.5], "choice": [1], "reaction_time": ["fast"]}, "column reaction_time must be numeric"),
    ],
)
def test_bad_values_name_the_file_and_column(tmp_path: Path, rows: dict, expected: str) -> None:
    path = write(pd.DataFrame(rows), tmp_path / "trials.csv")
    with pytest.raises(TrialsError) as info:
        load_trials(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("trials.csv", b"", "csv"),
        ("trials.parquet", b"not parquet at all", "parquet"),
        ("trials.jsonl", b"{oops\n", "jsonl"),
    ],
)
def test_unreadable_files_name_the_file_and_format(tmp_path: Path, name: str, content: bytes, kind: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(TrialsError, match=f"unreadable {kind} file") as info:
        load_trials(tmp_path / name)
    assert str(tmp_path / name) in str(info.value)


def test_parquet_without_pyarrow_gives_an_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(pd.DataFrame(ROWS), tmp_path / "trials.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what `import pyarrow` sees when it is not installed
    with pytest.raises(TrialsError, match="needs pyarrow: pip install pyarrow") as info:
        load_trials(path)
    assert str(path) in str(info.value)


def test_empty_jsonl_is_a_session_without_trials(tmp_path: Path) -> None:
    (tmp_path / "trials.jsonl").write_text("\n")
    loaded = load_trials(tmp_path)
    assert len(loaded) == 0 and loaded.dtypes["choice"] == np.int8
    assert trial_count(loaded) == 0 and math.isnan(fraction_correct(loaded))


def test_correct_column_from_csv_text_keeps_unknowns_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "trials.csv"
    path.write_text("signed_contrast,choice,correct,block\n0,1,true,a\n0,-1,False,a\n0.5,1,,b\n-0.5,-1,1,b\n")
    loaded = load_trials(path)
    assert loaded["correct"].tolist() == [True, False, pd.NA, True]
    assert loaded["block"].tolist() == ["a", "a", "b", "b"]
    # The given column wins over the derived rule: zero-contrast trials count, row 2 is unknown.
    assert fraction_correct(loaded) == pytest.approx(2 / 3)


def test_jsonl_booleans_and_nulls_become_nullable_booleans(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    lines = [{"signed_contrast": 0, "choice": 1, "correct": True}, {"signed_contrast": 0, "choice": 1, "correct": None}]
    path.write_text("\n".join(json.dumps(line) for line in lines))
    assert load_trials(path)["correct"].tolist() == [True, pd.NA]


# --- metrics ---------------------------------------------------------------------------------------


def test_hand_computed_metrics(trials: pd.DataFrame) -> None:
    assert trial_count(trials) == 6
    # responded with a known outcome: rows 0, 1, 3, 5 -> 3 correct of 4
    assert fraction_correct(trials) == 0.75
    # |contrast| >= 0.5 and responded: rows 0, 1, 5 -> 2 of 3; with the no-go row 4 as an error: 2 of 4
    assert fraction_correct_easy(trials) == pytest.approx(2 / 3)
    assert fraction_correct_easy(trials, count_no_go_as_incorrect=True) == 0.5
    assert fraction_correct(trials, count_no_go_as_incorrect=True) == 0.6
    # |contrast| >= 0.25 adds row 3 (correct): 3 of 4
    assert fraction_correct_easy(trials, 0.25) == 0.75
    # right: rows 1, 2, 3, 5; left: row 0 -> (4 - 1) / 5
    assert choice_bias(trials) == 0.6
    # responded with a time: 0.5, 1.0, 2.0, 0.7 -> (0.7 + 1.0) / 2; the no-go row's 3.0 is not used
    assert median_reaction_time(trials) == 0.85
    assert median_reaction_time(trials, contrast=0.0) == 2.0
    assert math.isnan(median_reaction_time(trials, contrast=0.125))
    assert session_duration(trials) == 14.0


def test_summary_collects_every_metric_and_flattens(trials: pd.DataFrame) -> None:
    summary = summarize_session(trials)
    assert isinstance(summary, SessionSummary)
    assert (summary.n_trials, summary.fraction_correct, summary.choice_bias) == (6, 0.75, 0.6)
    assert summary.psychometric.n_trials == 5
    flat = summary.as_dict()
    assert flat["median_reaction_time"] == 0.85 and flat["session_duration"] == 14.0
    assert flat["psychometric_n_trials"] == 5 and "psychometric" not in flat
    assert set(flat) >= {"psychometric_bias", "psychometric_threshold", "psychometric_lapse_low", "psychometric_reason"}
    # Scalars only: the per-parameter reasons stay on the fit (and were declared); their gist is the reason.
    assert "psychometric_undefined" not in flat and "psychometric_negative_log_likelihood" in flat
    assert all(not isinstance(value, dict) for value in flat.values())
    assert set(summary.psychometric.undefined) <= {"bias", "threshold", "lapse_low", "lapse_high"}
    with pytest.raises(AttributeError):
        summary.n_trials = 7  # type: ignore[misc]


def test_no_trials_gives_zero_count_and_nan_rates(trials: pd.DataFrame) -> None:
    summary = summarize_session(trials.iloc[:0])
    assert summary.n_trials == 0
    for value in (summary.fraction_correct, summary.fraction_correct_easy, summary.choice_bias):
        assert math.isnan(value)
    assert math.isnan(summary.median_reaction_time) and math.isnan(summary.session_duration)
    assert summary.psychometric.reason == "no trials"


def test_all_no_go_trials(trials: pd.DataFrame) -> None:
    no_go = trials.assign(choice=np.int8(0))
    assert trial_count(no_go) == 6
    assert math.isnan(fraction_correct(no_go)) and math.isnan(choice_bias(no_go))
    assert math.isnan(median_reaction_time(no_go))
    assert fraction_correct(no_go, count_no_go_as_incorrect=True) == 0.0
    assert session_duration(no_go) == 14.0
    assert summarize_session(no_go).psychometric.reason == "no trial with a response (every choice is 0)"


def test_one_side_only_bias_and_unknown_duration() -> None:
    left = coerce_trials(pd.DataFrame({"signed_contrast": [-1.0, 0.5], "choice": [-1, -1], "start_time": [0.0, 1.0]}))
    assert choice_bias(left) == -1.0
    assert fraction_correct(left) == 0.5
    assert math.isnan(session_duration(left))  # start times without end times: the last trial's end is unknown


def test_metrics_accept_a_raw_frame_and_name_a_missing_column() -> None:
    raw = pd.DataFrame({"signed_contrast": [0.5, -0.5, 0.0], "choice": [1, 1, -1]})
    assert fraction_correct(raw) == 0.5  # correct derived on the fly; the zero-contrast row is unknown
    assert choice_bias(raw) == pytest.approx(1 / 3)
    with pytest.raises(TrialsError, match="missing column reaction_time"):
        median_reaction_time(raw)
    with pytest.raises(TrialsError, match="missing column choice"):
        choice_bias(raw.drop(columns="choice"))


def test_easy_threshold_must_be_a_fraction(trials: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"threshold is a contrast fraction in \[0, 1\], got 50"):
        fraction_correct_easy(trials, 50)


def test_importing_the_helpers_adds_no_heavy_dependency() -> None:
    """The cold start of `curriculum run` is measured against `import aind_behavior_curriculum, pandas`."""
    code = (
        "import sys, aind_behavior_curriculum, pandas\n"
        "before = set(sys.modules)\n"
        "import curriculum_contract.sdk._trials, curriculum_contract.sdk._metrics\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    new = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    heavy = [m for m in new if m.split(".")[0] in {"scipy", "pyarrow", "matplotlib", "sqlalchemy", "copier"}]
    assert heavy == []
    assert "curriculum_contract.sdk._psychometric" in new  # the check saw the modules load


# --- column access -----------------------------------------------------------------------------------


def test_column_reads_match_the_series_whatever_the_dtype(column_path: str) -> None:
    """Every dtype a trials table may hold reads as ``Series.to_numpy`` reads it, read-only, on both paths."""
    from curriculum_contract.sdk._rows import _array

    frame = pd.DataFrame(
        {
            "f": [0.5, math.nan, -1.0],
            "i": np.array([1, -1, 0], dtype=np.int8),
            "b": [True, False, True],
            "nb": pd.array([True, None, False], dtype="boolean"),
            "ni": pd.array([1, None, 3], dtype="Int64"),
            "s": ["a", "b", None],
        }
    )
    assert (_frames.column_values(frame, "f") is not None) == (column_path == "column accessor")
    for name in frame.columns:
        got, want = _array(frame, name), frame[name].to_numpy()
        assert got.dtype == want.dtype and pd.Series(got).equals(pd.Series(want)), name
    for name in ("f", "i", "b", "nb", "ni"):
        got, want = _array(frame, name, nan_for_missing=True), frame[name].to_numpy(np.float64, na_value=np.nan)
        assert got.dtype == want.dtype == np.float64
        np.testing.assert_array_equal(got, want)
    assert _array(frame, "i", np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        _array(frame, "f")[0] = 1.0  # the table's own values are never written through a metric's array
    with pytest.raises(TrialsError, match="missing column nope"):
        _array(frame, "nope")


def test_a_name_held_by_two_columns_is_read_as_pandas_reads_it() -> None:
    frame = pd.DataFrame([[1.0, 1, 0.5], [-1.0, 0, 0.5]], columns=["signed_contrast", "choice", "choice"])
    assert _frames.column_values(frame, "choice") is None
    with pytest.raises(TrialsError, match="column choice appears more than once"):
        coerce_trials(frame)


@pytest.mark.parametrize("size", [1, 2, 3, 10, 11, 400, 401])
def test_median_reaction_time_is_numpys_median_bit_for_bit(size: int) -> None:
    rng = np.random.default_rng(size)
    rt = np.round(rng.lognormal(-0.5, 0.6, size), 3)
    frame = coerce_trials(pd.DataFrame({"signed_contrast": 0.5, "choice": 1, "reaction_time": rt}))
    assert median_reaction_time(frame) == float(np.median(rt))
