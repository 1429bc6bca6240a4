"""Columns of the trials table as numpy arrays, and ``where=``: a metric on some of the trials.

The metric helpers work on numpy arrays: on a few hundred rows, pandas' per-operation overhead (an
indexing, a boolean selection of the whole frame) costs far more than the arithmetic. ``where`` is how a
curriculum asks for a metric on a subset (a block, one contrast) without building the sub-frame:
``fraction_correct(trials, where=mask)`` is ``fraction_correct(trials[mask])``, value for value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from ._frames import numeric_column
from ._trials import TrialsError

if TYPE_CHECKING:
    import pandas as pd

#: One boolean per trial (a numpy array, a boolean Series on the table's index, a list), or None: all trials.
Where: TypeAlias = "np.ndarray | pd.Series | Sequence[bool] | None"
_SOURCE = "trials table"


def _column(trials: pd.DataFrame, name: str) -> pd.Series:
    try:
        return trials[name]
    except KeyError:
        found = ", ".join(map(str, trials.columns)) or "none"
        raise TrialsError(_SOURCE, f"missing column {name} (found: {found})") from None


def _array(trials: pd.DataFrame, name: str, dtype: Any = None, *, nan_for_missing: bool = False) -> np.ndarray:
    """The column as an array; ``nan_for_missing``: float64 with NaN for a missing value (optional columns).

    A numeric numpy column is read without a Series (``_frames``); any other goes through ``trials[name]``.
    """
    values = numeric_column(trials, name)
    if values is None:
        column = _column(trials, name)
        if nan_for_missing:
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        return column.to_numpy() if dtype is None else column.to_numpy(dtype=dtype)
    if nan_for_missing:
        dtype = np.float64
    return values if dtype is None or values.dtype == dtype else values.astype(dtype)


def _rows(trials: pd.DataFrame, where: Where) -> np.ndarray | None:
    """``where`` as a boolean array with one entry per trial (None for all trials)."""
    if where is None:
        return None
    import pandas as pd

    if isinstance(where, pd.Series) and not where.index.equals(trials.index):
        raise TrialsError(_SOURCE, "where is a Series on another index than the trials table's")
    rows = np.asarray(where)
    if rows.shape == (0,):
        rows = rows.astype(bool)  # an empty list: no trials, of no dtype
    if rows.dtype != np.bool_ or rows.shape != (len(trials),):
        raise TrialsError(
            _SOURCE, f"where must hold one boolean per trial ({len(trials)}), got {rows.dtype} of shape {rows.shape}"
        )
    return rows


def _select(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]
