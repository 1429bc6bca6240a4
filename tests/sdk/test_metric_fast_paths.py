"""The metric helpers' fast paths give exactly what the straightforward pandas computation gives.

The helpers work on numpy arrays, ``coerce_trials`` leaves canonical columns as they are, and ``where=``
replaces building a sub-table: each is checked here against the plain pandas formula (or the sub-table) on
seeded random tables with NaN reaction times and times, no-go trials, zero contrasts, and the column
spellings a rig writes (int or float choice, bool / 0-1 / text / absent ``correct``, missing columns).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.sdk._metrics import (
    choice_bias,
    choice_counts,
    fraction_correct,
    fraction_correct_easy,
    median_reaction_time,
    reaction_times,
    session_duration,
)
from curriculum_contract.sdk._notes import collecting_notes
from curriculum_contract.sdk._psychometric import contrast_counts, fit_psychometric
from curriculum_contract.sdk._trials import TrialsError, coerce_trials

LEVELS = np.array([-1.0, -0.5, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 0.5, 1.0])
SEEDS = range(12)


def random_table(seed: int) -> pd.DataFrame:
    """A raw table as a rig may write it; the spelling of each column depends on the seed."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(0, 500)) if seed else 0
    contrast = rng.choice(LEVELS, size)
    choice = rng.choice([-1, 0, 1], size, p=[0.45, 0.1, 0.45])
    start = np.cumsum(rng.uniform(1.0, 3.0, size))
    frame = {
        "signed_contrast": contrast,
        "choice": choice.astype(np.float64) if seed % 3 == 1 else choice,
        "reaction_time": np.where(rng.random(size) < 0.1, np.nan, rng.gamma(2.0, 0.3, size)),
        "start_time": np.where(rng.random(size) < 0.05, np.nan, start),
        "end_time": start + 1.5,
        "probability_left": rng.choice([0.2, 0.5, 0.8], size),
    }
    correct = (choice == np.sign(contrast)) | ((contrast == 0) & (rng.random(size) < 0.5))
    if seed % 4 == 1:
        frame["correct"] = correct
    elif seed % 4 == 2:
        frame["correct"] = np.where(rng.random(size) < 0.1, np.nan, correct.astype(np.float64))
    elif seed % 4 == 3:
        frame["correct"] = np.where(correct, " True", "false").astype(object)
    if seed % 5 == 4:
        del frame["start_time"]
    if seed % 6 == 5:
        frame["reaction_time"] = pd.array(frame["reaction_time"], dtype="Float64")
    return pd.DataFrame(frame)


def reference_coerce(frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical table built the plain way: a deep copy, every column converted and assigned."""
    out = frame.copy(deep=True)
    contrast = pd.to_numeric(out["signed_contrast"]).to_numpy(dtype=np.float64)
    choice = pd.to_numeric(out["choice"]).to_numpy(dtype=np.float64)
    out["signed_contrast"] = contrast
    out["choice"] = choice.astype(np.int8)
    if "correct" in out:
        text = out["correct"].astype("string").str.strip().str.lower()
        truth = text.map({"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False})
        out["correct"] = pd.array(truth.where(text.notna() & (text != ""), None), dtype="boolean")
    else:
        out["correct"] = pd.array(np.where(contrast == 0, None, choice == np.sign(contrast)), dtype="boolean")
    for name in ("reaction_time", "start_time", "end_time"):
        out[name] = pd.to_numeric(out[name]).to_numpy(dtype=np.float64, na_value=np.nan) if name in out else np.nan
    return out


def same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN, floats bit for bit."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return type(a) is type(b) and a == b


@pytest.fixture(params=SEEDS, ids=lambda s: f"seed{s}")
def raw(request: pytest.FixtureRequest) -> pd.DataFrame:
    return random_table(request.param)


def test_coerce_matches_the_plain_conversion(raw: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(coerce_trials(raw), reference_coerce(raw), check_exact=True)


def test_coerce_leaves_its_input_alone(raw: pd.DataFrame) -> None:
    before = raw.copy(deep=True)
    out = coerce_trials(raw)
    out.loc[:, "signed_contrast"] = 0.5  # a shallow copy under copy-on-write must not write through
    out.loc[:, "reaction_time"] = 1.0
    pd.testing.assert_frame_equal(raw, before, check_exact=True)


def test_helpers_match_plain_pandas(raw: pd.DataFrame) -> None:
    t = coerce_trials(raw)
    responded = t[t["choice"] != 0]
    known = responded[responded["correct"].notna()]
    rate = float(known["correct"].astype(bool).mean()) if len(known) else math.nan
    assert same(fraction_correct(t), rate)
    easy = known[known["signed_contrast"].abs() >= 0.5]
    assert same(fraction_correct_easy(t, 0.5), float(easy["correct"].astype(bool).mean()) if len(easy) else math.nan)
    right, left = int((t["choice"] == 1).sum()), int((t["choice"] == -1).sum())
    assert same(choice_bias(t), (right - left) / (right + left) if right + left else math.nan)
    rts = responded["reaction_time"].dropna()
    assert same(median_reaction_time(t), float(rts.median()) if len(rts) else math.nan)
    table = t.assign(contrast=t["signed_contrast"] * 100.0, right=t["choice"] == 1).groupby("contrast")
    sizes, rights = table.size(), table["right"].sum()
    expected = [[float(c), int(n), int(r)] for c, n, r in zip(sizes.index, sizes, rights, strict=True)]
    assert choice_counts(t, count_no_go_as_left=True) == expected
    zero = t[t["signed_contrast"] == 0.0]
    ordered = sorted(zero.loc[zero["choice"] != 0, "reaction_time"].dropna().tolist())
    assert reaction_times(t) == ordered + [None] * int((zero["choice"] == 0).sum())
    start, end = t["start_time"].dropna(), t["end_time"].dropna()
    assert same(session_duration(t), float(end.max() - start.min()) if len(start) and len(end) else math.nan)


@pytest.mark.parametrize("block", [0.2, 0.8, 0.5, -1.0])
def test_where_is_the_sub_table(raw: pd.DataFrame, block: float) -> None:
    t = coerce_trials(raw)
    mask = np.isclose(t["probability_left"].to_numpy(), block)
    sub = t[mask]
    for helper in (fraction_correct, fraction_correct_easy, choice_bias, median_reaction_time):
        assert same(helper(t, where=mask), helper(sub)), helper.__name__
    assert same(
        fraction_correct(t, where=mask, count_no_go_as_incorrect=True),
        fraction_correct(sub, count_no_go_as_incorrect=True),
    )
    assert same(median_reaction_time(t, contrast=0.0, where=mask), median_reaction_time(sub, contrast=0.0))
    for no_go_left in (False, True):
        assert choice_counts(t, count_no_go_as_left=no_go_left, where=mask) == choice_counts(
            sub, count_no_go_as_left=no_go_left
        )
    assert reaction_times(t, where=pd.Series(mask, index=t.index)) == reaction_times(sub)
    assert same(fraction_correct(t, where=mask.tolist()), fraction_correct(sub))  # a list, as ``Where`` says
    for a, b in zip(contrast_counts(t, where=mask), contrast_counts(sub), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_fit_where_is_the_fit_of_the_sub_table(seed: int) -> None:
    t = coerce_trials(random_table(seed))
    mask = np.isclose(t["probability_left"].to_numpy(), 0.8)
    with collecting_notes() as notes_where:
        on_mask = fit_psychometric(t, where=mask, report_as="{}_80")
    with collecting_notes() as notes_sub:
        on_sub = fit_psychometric(t[mask], report_as="{}_80")
    assert repr(on_mask) == repr(on_sub)  # every field, NaN included, bit for bit
    assert notes_where.undefined == notes_sub.undefined
    empty = fit_psychometric(t, where=np.zeros(len(t), dtype=bool), report_as=None)
    assert empty.reason == "no trials"


def test_where_must_be_one_boolean_per_trial() -> None:
    t = coerce_trials(random_table(2))
    with pytest.raises(TrialsError, match="one boolean per trial"):
        fraction_correct(t, where=np.ones(len(t) + 1, dtype=bool))
    with pytest.raises(TrialsError, match="one boolean per trial"):
        choice_counts(t, where=np.ones(len(t)))
    with pytest.raises(TrialsError, match="another index"):
        choice_bias(t, where=pd.Series(True, index=t.index + 1))
