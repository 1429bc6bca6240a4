"""A column's values without a pandas Series: what the metric helpers read a dozen times a session.

``frame[name]`` builds a Series (an index, a name, a copy-on-write reference): about 10 µs, more than the
arithmetic of a metric on a few hundred trials. pandas keeps an internal accessor for one column's values
(``DataFrame._get_column_array``, since 1.3); it is used where it exists and the name is one column, and
every caller falls back on ``frame[name]`` otherwise, so a pandas without it is slower, not wrong (the
tests run both paths).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: pandas' internal accessor of one column's values by position.
ACCESSOR = "_get_column_array"


def column_values(frame: pd.DataFrame, name: str) -> Any | None:
    """The values of column ``name`` (a numpy array or a pandas extension array, not to be written to), or
    None where the fast path does not apply: no accessor, a missing name, a name that is several columns."""
    get = getattr(frame, ACCESSOR, None)
    if get is None:
        return None
    try:
        position = frame.columns.get_loc(name)
    except (KeyError, TypeError):
        return None
    return get(position) if isinstance(position, int) else None


def numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    """``column_values`` when they are a numeric or boolean numpy array, read-only (as ``Series.to_numpy``
    gives them under copy-on-write); None otherwise."""
    values = column_values(frame, name)
    if not (isinstance(values, np.ndarray) and values.dtype.kind in "biuf"):
        return None
    view = values.view()
    view.flags.writeable = False
    return view
