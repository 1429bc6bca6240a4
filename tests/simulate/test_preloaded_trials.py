"""``preloaded_trials``: the simulator's in-memory trials reach ``load_trials`` for exactly one directory."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curriculum_contract.sdk._trials import TrialsError, load_trials, preloaded_trials


def test_the_preloaded_directory_gets_a_checked_copy_and_others_are_read_from_disk(tmp_path: Path) -> None:
    session, other = tmp_path / "session", tmp_path / "other"
    session.mkdir(), other.mkdir()
    pd.DataFrame({"signed_contrast": [0.5], "choice": [-1]}).to_csv(other / "trials.csv", index=False)
    frame = pd.DataFrame({"signed_contrast": [1, -0.5, 0], "choice": [1.0, 1.0, 0.0], "extra": ["a", "b", "c"]})
    with preloaded_trials(session, frame):
        loaded = load_trials(session)
        assert load_trials(other)["choice"].tolist() == [-1]  # not the preloaded one
    assert loaded is not frame and loaded["choice"].dtype == np.int8 and frame["choice"].dtype == np.float64
    assert loaded["correct"].tolist() == [True, False, pd.NA] and loaded["extra"].tolist() == ["a", "b", "c"]
    assert loaded["reaction_time"].isna().all()  # the optional columns, added as from a file
    with pytest.raises(TrialsError, match="no trials file found"):
        load_trials(session)  # outside the block: the disk, where nothing was written


def test_a_preloaded_table_is_validated_like_a_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"signed_contrast": [50.0], "choice": [1]})
    match = r"trials \(in memory\): signed_contrast outside \[-1, 1\]"
    with preloaded_trials(tmp_path, frame), pytest.raises(TrialsError, match=match):
        load_trials(tmp_path)
