"""The simulated learners' cheap paths give what the plain code of before gave, bit for bit: the two-alternative
table (against the per-trial NumPy code it replaced, kept here as the reference), the session's generator, the
data frame's blocks, and the columns ``session.json`` reads."""

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.sdk._psychometric import erf as sdk_erf
from curriculum_contract.sdk._trials import coerce_trials
from curriculum_contract.simulate import ChangeDetectionSubject, SimulatedSession, TwoAfcSubject
from curriculum_contract.simulate._base import numpy_column, trials_frame
from curriculum_contract.simulate._subject import (
    EASY_CONTRAST,
    MAX_REPEATS,
    SATIETY_UL,
    _blocks,
    _probability_left,
    _simulate_trials,
)


# -- the reference: the per-trial code the stimulus tables replaced ------------------------------------------
def _reference_trials(rng: np.random.Generator, params: dict, truth: dict) -> pd.DataFrame:
    engagement = max(int(truth["engagement_trials"] * rng.lognormal(0.0, 0.1)), 1)
    blocks = _blocks(params)
    p_left = _probability_left(rng, engagement, blocks)
    side = np.where(rng.random(engagement) < p_left, -1, 1)
    contrast = rng.choice(np.asarray(params["contrasts"], dtype=np.float64), size=engagement)
    bias = truth["bias"] + np.sign(p_left - 0.5) * truth["bias_shift"] / 2.0
    low, high = truth["lapse_low"], truth["lapse_high"]
    p_right = low + (1.0 - low - high) * (1.0 + sdk_erf((side * contrast * 100.0 - bias) / truth["threshold"])) / 2.0
    debiased = (contrast >= EASY_CONTRAST) if params["debias"] and not blocks else np.zeros(engagement, dtype=bool)
    no_go = truth["no_go"]
    p_correct = (1.0 - no_go) * np.where(side == 1, p_right, 1.0 - p_right)
    repeats = np.ones(side.size, dtype=np.int64)
    repeats[debiased] = rng.geometric(np.clip(p_correct[debiased], 1e-3, 1.0))
    capped = repeats > MAX_REPEATS
    repeats = np.minimum(repeats, MAX_REPEATS)
    index = np.repeat(np.arange(side.size), repeats)
    position = np.arange(index.size) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    last = position == repeats[index] - 1
    forced = np.where(debiased[index], np.where(last & ~capped[index], 1, -1), 0)
    shown, p_shown = side[index], p_right[index]
    draw, nogo_draw = rng.random(shown.size), rng.random(shown.size)
    choice = np.where(nogo_draw < no_go, 0, np.where(draw < p_shown, 1, -1))
    p_error = 1.0 - (1.0 - no_go) * np.where(shown == 1, p_shown, 1.0 - p_shown)
    error = np.where(nogo_draw < no_go / np.maximum(p_error, 1e-9), 0, -shown)
    choice = np.where(forced == 1, shown, np.where(forced == -1, error, choice))
    median_rt = truth["median_rt_scale"] * (1.0 + 0.8 * (1.0 - contrast[index]))
    reaction = np.exp(np.log(median_rt) + 0.45 * rng.standard_normal(choice.size))
    window = float(params["response_window_s"])
    choice = np.where(reaction > window, 0, choice)
    correct = (choice == shown) & (choice != 0)
    reaction = np.where(choice == 0, np.nan, reaction)
    quiescence = 0.4 + rng.exponential(0.35, choice.size)
    feedback = np.where(correct, 1.0, 2.0) + 0.5
    duration = quiescence + np.where(choice == 0, window, reaction) + feedback
    start = 5.0 + np.concatenate([[0.0], np.cumsum(duration)[:-1]])
    reward = np.where(correct, float(params["reward_volume_ul"]), 0.0)
    end = np.round(start + duration, 3)
    keep = (end <= float(params["session_duration_min"]) * 60.0) & (np.cumsum(reward) - reward < SATIETY_UL)
    keep &= np.arange(index.size) < engagement
    keep = np.cumprod(keep).astype(bool)
    columns = {
        "trial": np.arange(index.size),
        "signed_contrast": side[index] * contrast[index],
        "stim_side": side[index].astype(np.int8),
        "probability_left": p_left[index],
        "choice": choice.astype(np.int8),
        "correct": correct,
        "repeat": position > 0,
        "reaction_time": np.round(reaction, 3),
        "start_time": np.round(start, 3),
        "end_time": end,
        "reward_volume_ul": reward,
    }
    return pd.DataFrame(columns)[keep].reset_index(drop=True)


def _assert_same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_index_type=True, check_column_type=True)
    assert list(frame.dtypes) == list(expected.dtypes) and type(frame.index) is type(expected.index)
    for name in frame.columns:  # numbers bit for bit (NaN, signed zeros)
        values, other = frame[name].to_numpy(), expected[name].to_numpy()
        assert values.dtype.kind == "O" or values.tobytes() == other.tobytes(), name


def _blocks_of(frame: pd.DataFrame) -> list:
    return [
        (type(block), block.dtype, list(block.mgr_locs.as_array), block.shape, _contiguous(block.values))
        for block in frame._mgr.blocks
    ]


def _contiguous(values: object) -> bool:
    return values.flags.c_contiguous if isinstance(values, np.ndarray) else type(values) is pd.arrays.BooleanArray


TASKS = [
    {},
    {"contrasts": [1.0, 0.5, 0.25, 0.125, 0.0625, 0.0], "debias": False},
    {"contrasts": [1.0, 0.5, 0.25, 0.125, 0.0625, 0.0], "probability_left_blocks": [0.2, 0.8]},
    {"contrasts": [0.8, 0.3, 0.05], "probability_left_blocks": [0.1, 0.5, 0.9], "debias": True},
    {"contrasts": [0.0], "reward_volume_ul": 1.5},
    {"contrasts": [1.0], "session_duration_min": 10.0, "response_window_s": 1.0},
    {"contrasts": [0.5, 1.0, 0.5], "reward_volume_ul": 10.0, "response_window_s": 2.5},
    {"contrasts": [1.0, 0.5], "session_duration_min": 0.05},  # no trial fits
]


@pytest.mark.parametrize("task", range(len(TASKS)))
def test_the_two_alternative_table_is_the_per_trial_codes(task: int) -> None:
    """The same draws in the same order, the same table, the generator left in the same state."""
    for seed in range(12):
        subject = TwoAfcSubject("a", seed=seed)
        subject.state.skill = seed / 12
        subject.state.extra = {"prior": (seed % 4) / 4, "debias_practice": seed / 5}
        params, _ = subject.resolve(TASKS[task])
        truth = subject._truth(subject.session_rng(), params)
        fast, plain = np.random.default_rng([seed, task]), np.random.default_rng([seed, task])
        table, reference = _simulate_trials(fast, params, truth), _reference_trials(plain, params, truth)
        assert fast.bit_generator.state == plain.bit_generator.state
        # correct is the SDK's nullable boolean, all known, else the table is the same, and so is what reads it
        assert isinstance(table.dtypes["correct"], pd.BooleanDtype) and not table["correct"].isna().any()
        _assert_same(table.astype({"correct": bool}), reference)
        _assert_same(coerce_trials(table), coerce_trials(reference))
        assert table.to_csv(index=False) == reference.to_csv(index=False)
        assert table.to_json(orient="records", lines=True) == reference.to_json(orient="records", lines=True)
        assert _blocks_of(table) == _blocks_of(pd.DataFrame({name: table[name].array for name in table}))


@pytest.mark.parametrize("seed", [0, 5, 2**31, 2**32 - 1, 2**32, 2**40 + 3, np.int64(7), True])
def test_the_session_generator_is_the_one_of_the_seed_list(seed: int) -> None:
    subject = TwoAfcSubject("a", seed=seed)
    subject.sessions_run = 3
    expected = np.random.default_rng([seed, 3, _task_code(subject.task)])
    assert subject.session_rng().bit_generator.state == expected.bit_generator.state


def _task_code(task: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(task)) % 65521


def test_trials_frame_without_a_mask_takes_every_row_and_the_constructors_blocks() -> None:
    n = 30
    columns = {
        "a": np.arange(n),
        "b": np.linspace(0, 1, n),
        "c": np.arange(n) % 2 == 0,
        "known": pd.arrays.BooleanArray(np.arange(n) % 3 == 0, np.arange(n) % 5 == 0),
        "d": np.ones(n, dtype=np.int8),
        "e": np.linspace(1, 2, n),
        "also": pd.arrays.BooleanArray(np.arange(n) % 2 == 1, np.zeros(n, dtype=bool)),
    }
    expected = pd.DataFrame(columns)
    for frame in (trials_frame(columns), trials_frame(columns, np.ones(n, dtype=bool))):
        _assert_same(frame, expected)
        assert _blocks_of(frame) == _blocks_of(expected)
    first, second = trials_frame(columns), trials_frame(columns)
    first.columns.name = "mine"
    assert second.columns.name is None and first.columns is not second.columns
    first.loc[0, "b"] = 5.0  # each table's values are its own
    first.loc[0, "also"] = True
    assert second.loc[0, "b"] == 0.0 and columns["b"][0] == 0.0
    assert not second.loc[0, "also"] and not columns["also"][0]
    columns["also"][1] = False  # and the columns stay the caller's
    assert first.loc[1, "also"] and second.loc[1, "also"]


def test_numpy_column_is_the_columns_to_numpy() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "flag": pd.array([True, None], dtype="boolean"), "s": ["a", "b"]})
    for name in frame.columns:
        got, want = numpy_column(frame, name), frame[name].to_numpy()
        assert got.dtype == want.dtype and pd.Series(got).equals(pd.Series(want)), name
    with pytest.raises(KeyError):
        numpy_column(frame, "missing")


def test_session_json_of_odd_tables_is_that_of_pandas() -> None:
    """A learner's own table: extension dtypes, NaN, no end time, a repeated column fail or count as before."""
    base = TwoAfcSubject("a", seed=2).run_session({})
    loose = base.trials.astype({"choice": "Int64", "reward_volume_ul": "Float64", "end_time": object})
    session = SimulatedSession(**{**vars(base), "trials": loose})
    epoch = session.metadata()["stimulus_epochs"][0]
    assert epoch["trials_finished"] == int((base.trials["choice"] != 0).sum())
    assert epoch["reward_consumed_during_epoch"] == round(float(base.trials["reward_volume_ul"].sum()), 3)
    assert session.duration == float(base.trials["end_time"].max())
    without = SimulatedSession(**{**vars(base), "trials": base.trials.drop(columns=["end_time"])})
    with pytest.raises(KeyError, match="end_time"):
        without.metadata()
    no_reward = SimulatedSession(**{**vars(base), "trials": base.trials.drop(columns=["reward_volume_ul"])})
    assert no_reward.metadata()["reward_consumed_total"] == 0.0
    detection = ChangeDetectionSubject("b", seed=2).run_session({})
    assert detection.metadata()["stimulus_epochs"][0]["trials_finished"] == int((~detection.trials["aborted"]).sum())


def test_a_nested_contrast_list_is_refused() -> None:
    """Not a list of fractions: refused, where the per-trial code broadcast it into nonsense or failed."""
    with pytest.raises(ValueError, match="contrasts must be a non-empty list of fractions"):
        TwoAfcSubject("a").run_session({"contrasts": [[1.0], [0.5]]})


@pytest.mark.parametrize(
    "task",
    [{}, {"stimulus": "images_A", "blank_duration_s": 0.0}, {"stimulus": "images_B"}, {"session_duration_min": 0.02}],
)
def test_the_change_detection_labels_are_those_the_constructor_makes_of_text(task: dict) -> None:
    """The text columns, taken from labels made once, are the columns the constructor made of the per-trial
    strings and the scalars (the stimulus name, whether it flashed)."""
    subject = ChangeDetectionSubject("b", seed=4)
    for _ in range(3):
        session = subject.run_session(task)
        table = session.trials
        columns: dict = {name: table[name].to_numpy() for name in table}
        for name in ("initial_image", "change_image"):
            columns[name] = np.array(table[name].tolist(), dtype=str) if len(table) else np.array([], dtype="<U1")
        columns["stimulus"] = str(session.parameters["stimulus"])
        columns["flashed"] = float(session.parameters["blank_duration_s"]) > 0
        expected = pd.DataFrame(columns)
        _assert_same(table, expected)
        assert _blocks_of(table) == _blocks_of(expected)


def test_without_pandas_blocks_the_tables_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas 2 has no ``create_dataframe_from_blocks``: the constructor's path gives the same tables."""
    from curriculum_contract.simulate import _base

    tasks = [({"contrasts": [1.0, 0.25, 0.0]}, TwoAfcSubject), ({"stimulus": "images_A"}, ChangeDetectionSubject)]
    fast = [cls("a", seed=8).run_session(task).trials for task, cls in tasks]
    monkeypatch.setattr(_base, "_from_blocks", None)
    plain = [cls("a", seed=8).run_session(task).trials for task, cls in tasks]
    for table, other in zip(fast, plain, strict=True):
        _assert_same(table, other)
