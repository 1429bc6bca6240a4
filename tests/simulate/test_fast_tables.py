"""The simulator's cheap paths give the tables and errors of the plain ones: ``trials_frame`` against the
DataFrame constructor, ``coerce_trials`` on a canonical table against the same table in other dtypes, and a
session's ``session.json`` numbers against pandas'."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.sdk._trials import TrialsError, coerce_trials
from curriculum_contract.simulate import ChangeDetectionSubject, SimulatedSession, TwoAfcSubject
from curriculum_contract.simulate._base import trials_frame


def _reference(columns: dict, rows: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(columns)[rows].reset_index(drop=True)


def _assert_same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_index_type=True, check_column_type=True)
    assert list(frame.dtypes) == list(expected.dtypes) and type(frame.index) is type(expected.index)


@pytest.mark.parametrize("kept", ["all", "none", "some"])
def test_trials_frame_is_the_constructor_then_the_mask(kept: str) -> None:
    rng = np.random.default_rng(5)
    n = 40
    rows = {"all": np.ones(n, bool), "none": np.zeros(n, bool), "some": rng.random(n) < 0.6}[kept]
    numeric = {
        "trial": np.arange(n),
        "signed_contrast": rng.uniform(-1, 1, n),
        "stim_side": np.where(rng.random(n) < 0.5, -1, 1).astype(np.int8),
        "correct": rng.random(n) < 0.5,
        "reaction_time": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
    }
    _assert_same(trials_frame(numeric, rows), _reference(numeric, rows))
    mixed = {**numeric, "stimulus": "gratings", "flashed": True, "image": np.array(["a", "bb"] * (n // 2))}
    _assert_same(trials_frame(mixed, rows), _reference(mixed, rows))


def test_the_subjects_tables_are_those_of_the_constructor() -> None:
    two_afc = TwoAfcSubject("a", seed=3).run_session({"contrasts": [1.0, 0.25, 0.0]}).trials
    detection = ChangeDetectionSubject("b", seed=3).run_session({}).trials
    for trials in (two_afc, detection):
        columns = {name: trials[name].array if name == "correct" else trials[name].to_numpy() for name in trials}
        _assert_same(trials, _reference(columns, np.ones(len(trials), bool)))
        assert isinstance(trials.index, pd.RangeIndex)
    two_afc.columns.name = "named"  # the column labels are the table's own, not shared with the next table
    assert TwoAfcSubject("a", seed=3).run_session({}).trials.columns.name is None


def test_coerce_of_a_canonical_table_equals_coerce_of_it_in_other_dtypes() -> None:
    trials = TwoAfcSubject("a", seed=4).run_session({"contrasts": [1.0, 0.5, 0.125, 0.0]}).trials
    # the fast path's input: the SDK's dtypes already
    assert trials["choice"].dtype == np.int8 and isinstance(trials["correct"].dtype, pd.BooleanDtype)
    assert not trials["correct"].isna().any()
    loose = trials.astype({"choice": np.float64, "correct": "object", "start_time": "object"})
    fast, slow = coerce_trials(trials), coerce_trials(loose)
    _assert_same(fast, slow)
    assert isinstance(fast.dtypes["correct"], pd.BooleanDtype)
    fast.loc[0, "correct"] = not bool(trials.loc[0, "correct"])
    assert trials.loc[0, "correct"] != fast.loc[0, "correct"]  # a copy: the simulator's table is untouched


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.float64, "object"])
def test_a_bad_choice_is_the_same_error_in_every_dtype(dtype: object) -> None:
    frame = pd.DataFrame({"signed_contrast": [0.5, -0.5, 0.0, 1.0], "choice": [1, 2, -3, 2]})
    frame["choice"] = frame["choice"].astype(dtype)
    message = "<DataFrame>: choice must be -1, 0 or +1; 3 row(s) are not (e.g. ['-3.0', '2.0'])"
    with pytest.raises(TrialsError, match=re.escape(message)):
        coerce_trials(frame)


def test_duplicated_column_names_are_named_in_one_line() -> None:
    frame = pd.DataFrame([[0.5, 1, 0.1, 0.2]], columns=["signed_contrast", "choice", "end_time", "end_time"])
    with pytest.raises(TrialsError, match="column end_time appears more than once"):
        coerce_trials(frame)
    extra = pd.DataFrame([[0.5, 1, 0.1, 0.2]], columns=["signed_contrast", "choice", "mine", "mine"])
    # names that are not the canonical columns may repeat: kept as they are
    assert list(coerce_trials(extra).columns[:4]) == ["signed_contrast", "choice", "mine", "mine"]


def test_session_json_numbers_equal_pandas_reductions() -> None:
    session = TwoAfcSubject("a", seed=6).run_session({"contrasts": [1.0, 0.5], "reward_volume_ul": 1.7})
    epoch = session.metadata()["stimulus_epochs"][0]
    trials = session.trials
    assert epoch["reward_consumed_during_epoch"] == round(float(trials["reward_volume_ul"].sum()), 3)
    assert epoch["trials_rewarded"] == int((trials["reward_volume_ul"] > 0).sum())
    assert epoch["trials_finished"] == int((trials["choice"] != 0).sum())
    assert session.duration == float(trials["end_time"].max())
    with_nan = TwoAfcSubject("a", seed=6).run_session({"contrasts": [1.0, 0.5], "reward_volume_ul": 1.7})
    with_nan.trials.loc[0, "reward_volume_ul"] = np.nan  # pandas' sum skips NaN: so does the document's
    assert with_nan.metadata()["reward_consumed_total"] == round(float(with_nan.trials["reward_volume_ul"].sum()), 3)


def test_session_json_of_nan_and_infinite_columns_is_that_of_pandas() -> None:
    """NumPy's reductions are read only when they are not NaN: pandas skips a NaN, and a choice of NaN counts."""
    base = TwoAfcSubject("a", seed=6).run_session({"contrasts": [1.0, 0.5]})
    trials = base.trials.astype({"choice": float})
    trials.loc[len(trials) - 1, ["end_time", "choice"]] = np.nan
    trials.loc[0, "reward_volume_ul"] = np.inf
    session = SimulatedSession(**{**vars(base), "trials": trials})
    epoch = session.metadata()["stimulus_epochs"][0]
    assert session.duration == float(trials["end_time"].max()) and not math.isnan(session.duration)
    assert epoch["trials_finished"] == int((trials["choice"] != 0).sum())
    assert epoch["reward_consumed_during_epoch"] == trials["reward_volume_ul"].sum() == math.inf
    assert epoch["trials_rewarded"] == int((trials["reward_volume_ul"] > 0).sum())
    no_columns = SimulatedSession(**{**vars(base), "trials": pd.DataFrame(index=range(3))})
    assert no_columns.duration == 0.0 and no_columns.metadata()["stimulus_epochs"][0]["trials_total"] == 3
