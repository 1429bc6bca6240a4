"""The trials table: one row per trial of a two-alternative choice session, and how it is loaded.

Curriculum metrics, the simulated subject and the rig's exporters all agree on this table, so it is
the one documented input of the metric helpers. Columns (canonical dtype after ``load_trials`` or
``coerce_trials``):

``signed_contrast`` (float64, required)
    Stimulus contrast as a fraction in [-1, 1]: negative = stimulus on the left, positive = right,
    0 = zero contrast. A fraction, not a percent (the psychometric fit reports percent, like IBL).
``choice`` (int8, required)
    -1 = left, +1 = right, 0 = no response (a no-go or time-out trial).
``correct`` (nullable ``boolean``, optional)
    Whether the trial was correct. When the column is absent it is derived: a trial with a stimulus
    on one side is correct when ``choice == sign(signed_contrast)``, so a no-response trial is not
    correct; a zero-contrast trial has no correct side that the choice alone can reveal (the rig may
    have rewarded either side), so its ``correct`` is *unknown* (``<NA>``) and the rate metrics leave
    it out. Write the column (from the rig's reward side) when zero-contrast trials must count.
    Accepted spellings: booleans, 0/1, ``"true"``/``"false"``; empty means unknown.
``reaction_time`` (float64 seconds, optional, NaN allowed)
``start_time``, ``end_time`` (float64 seconds from session start, optional, NaN allowed)

Optional columns that are absent are added, filled with NaN, so every canonical table has all six;
other columns are kept unchanged for the curriculum's own metrics.

Where the table is found: ``load_trials`` takes a session's data directory and looks for
``trials.parquet``, ``trials.csv`` and ``trials.jsonl`` in that order, first in the directory, then
in its ``behavior/`` folder, and takes the first that exists; or it takes a file path directly
(``.parquet``, ``.csv``, ``.jsonl``/``.ndjson``). An empty JSON-lines file is a session with no trials;
a CSV needs its header line.

In memory (``preloaded_trials``): the simulator hands a session's table to the curriculum's unchanged
metrics function without writing and reparsing it. Inside ``with preloaded_trials(directory, frame):``,
``load_trials(directory)`` -- exactly that directory, nothing else -- returns ``coerce_trials(frame)``: the
same checks and dtypes as a file, on a copy. The context is per thread (a ``ContextVar``) and nests; the
object it yields says whether ``load_trials`` took the table (``used``): a metrics function that reads its
files its own way did not, and needs the file written.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._errors import InputError
from ._frames import column_values, numeric_column

if TYPE_CHECKING:
    import pandas as pd

#: File names looked for inside a data directory, in order of preference.
TRIALS_FILE_NAMES = ("trials.parquet", "trials.csv", "trials.jsonl")
#: Folders of a data directory searched for them, in order ("" is the directory itself).
TRIALS_SUBDIRS = ("", "behavior")
REQUIRED_COLUMNS = ("signed_contrast", "choice")
OPTIONAL_FLOAT_COLUMNS = ("reaction_time", "start_time", "end_time")
_CANONICAL = (*REQUIRED_COLUMNS, "correct", *OPTIONAL_FLOAT_COLUMNS)
_SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_TRUE = frozenset({"true", "1", "1.0", "yes"})
_FALSE = frozenset({"false", "0", "0.0", "no"})


class TrialsError(InputError):
    """The trials table is missing, unreadable or malformed; the message names the file and the column."""

    def __init__(self, source: str | Path, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = str(source)
        self.problem = problem


def find_trials_file(data_directory: str | Path) -> Path:
    """The first trials file present in ``data_directory`` (see the module docstring for the order)."""
    root = Path(data_directory)
    candidates = [root / sub / name for sub in TRIALS_SUBDIRS for name in TRIALS_FILE_NAMES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c.relative_to(root)) for c in candidates)
    raise TrialsError(root, f"no trials file found (looked for {looked})")


@dataclass
class Preloaded:
    """A trials table held in memory for one data directory; ``used``: ``load_trials`` returned it;
    ``refused``: its check failed (the table's maker, a simulated learner, is at fault, not a file)."""

    directory: Path
    trials: pd.DataFrame
    used: bool = False
    refused: TrialsError | None = None


_PRELOADED: ContextVar[Preloaded | None] = ContextVar("preloaded_trials", default=None)


@contextmanager
def preloaded_trials(data_directory: str | Path, trials: pd.DataFrame) -> Iterator[Preloaded]:
    """Within the block, ``load_trials(data_directory)`` returns a checked copy of ``trials`` (no file read).

    For the simulator: the session's table is already in memory, and the curriculum's metrics function,
    which takes a directory, runs unchanged. Any other path is read from disk as usual.
    """
    preloaded = Preloaded(Path(data_directory).absolute(), trials)
    token = _PRELOADED.set(preloaded)
    try:
        yield preloaded
    finally:
        _PRELOADED.reset(token)


def load_trials(path: str | Path) -> pd.DataFrame:
    """Read a trials table from a data directory or a file and return it with canonical dtypes."""
    path = Path(path)
    preloaded = _PRELOADED.get()
    if preloaded is not None and path.absolute() == preloaded.directory:
        preloaded.used = True
        try:
            return coerce_trials(preloaded.trials, source=path / "trials (in memory)")
        except TrialsError as error:
            preloaded.refused = error
            raise
    if path.is_dir():
        path = find_trials_file(path)
    elif not path.exists():
        raise TrialsError(path, "no such file or directory")
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        expected = ", ".join(sorted(_SUFFIXES))
        raise TrialsError(path, f"unknown trials file type {path.suffix!r} (expected {expected})")
    return coerce_trials(_read(path, kind), source=path)


def _read(path: Path, kind: str) -> pd.DataFrame:
    import pandas as pd

    try:
        if kind == "parquet":
            if importlib.util.find_spec("pyarrow") is None:
                hint = "reading Parquet needs pyarrow: pip install pyarrow (or write trials.csv)"
                raise TrialsError(path, hint)
            return pd.read_parquet(path)
        if kind == "csv":
            return pd.read_csv(path)
        if not path.read_bytes().strip():
            return pd.DataFrame({"signed_contrast": [], "choice": []})
        return pd.read_json(path, lines=True, orient="records")
    except TrialsError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as error:
        # pandas' parser errors (EmptyDataError, ParserError, pyarrow's ArrowInvalid) are ValueErrors.
        raise TrialsError(path, f"unreadable {kind} file: {type(error).__name__}: {error}") from None


def coerce_trials(frame: pd.DataFrame, source: str | Path = "<DataFrame>") -> pd.DataFrame:
    """Check ``frame`` against the trials table and return a copy with canonical dtypes.

    Raises ``TrialsError`` naming ``source`` and the column for a missing required column or a value
    outside its domain. Use it on tables built in memory; ``load_trials`` already calls it.
    """
    import pandas as pd

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise TrialsError(source, f"missing required column(s) {', '.join(missing)} (found: {found})")
    if not frame.columns.is_unique:
        twice = [name for name in _CANONICAL if np.count_nonzero(frame.columns == name) > 1]
        if twice:
            raise TrialsError(source, f"column {twice[0]} appears more than once: which one is meant is unclear")
    out = frame.copy(deep=not _copy_on_write())
    # A Series costs more than the checks on a few hundred rows: the two required columns' values are read
    # once, without one where pandas allows (``_frames``); of the others only the dtype is needed, unless it
    # must be converted.
    dtypes = _dtypes(out)
    contrast = _numeric(out, "signed_contrast", source)
    bad = np.isnan(contrast)
    if bad.any():
        raise TrialsError(source, f"signed_contrast is empty or NaN in {int(bad.sum())} row(s)")
    outside = np.abs(contrast) > 1.0
    if outside.any():
        hint = " (it is a fraction: divide percent by 100)" if np.abs(contrast).max() <= 100 else ""
        raise TrialsError(
            source,
            f"signed_contrast outside [-1, 1] in {int(outside.sum())} row(s) "
            f"(min {contrast.min():g}, max {contrast.max():g}){hint}",
        )
    choice = _numeric(out, "choice", source)
    if isinstance(dtypes["choice"], np.dtype) and dtypes["choice"].kind in "iu":
        integers = numeric_column(out, "choice")  # the same rows as np.isin on the floats, at a fraction of its cost
        integers = out["choice"].to_numpy() if integers is None else integers
        bad = (integers < -1) | (integers > 1)
    else:
        bad = ~np.isin(choice, (-1.0, 0.0, 1.0))
    if bad.any():
        examples = sorted({str(v) for v in choice[bad][:50]})[:3]
        problem = f"choice must be -1, 0 or +1; {int(bad.sum())} row(s) are not (e.g. {examples})"
        raise TrialsError(source, problem)
    # A column already in its canonical dtype keeps its values as they are: assigning them again costs more
    # than the checks, and the simulator's tables arrive canonical.
    if dtypes["signed_contrast"] != np.float64:
        out["signed_contrast"] = contrast
    if dtypes["choice"] != np.int8:
        out["choice"] = choice.astype(np.int8)
    if "correct" not in dtypes:
        out["correct"] = derive_correct(contrast, choice)
    elif not isinstance(dtypes["correct"], pd.BooleanDtype):
        out["correct"] = _boolean(out["correct"], source)
    for name in OPTIONAL_FLOAT_COLUMNS:
        if name not in dtypes:
            out[name] = np.nan
        elif dtypes[name] != np.float64:
            out[name] = _numeric(out, name, source)
    return out


def _dtypes(frame: pd.DataFrame) -> dict[str, object]:
    """The dtype of each canonical column ``frame`` has: from each column's values where ``_frames`` reads
    them, else from the table's dtypes (no Series per column either way)."""
    import pandas as pd

    present = [name for name in _CANONICAL if name in frame.columns]
    values = [column_values(frame, name) for name in present]
    if all(v is not None for v in values):
        return {name: v.dtype for name, v in zip(present, values, strict=True)}
    if isinstance(frame.columns, pd.MultiIndex) or not frame.columns.is_unique:
        # A name that is not one column: None, and the column's lookup fails where it did before.
        return {name: getattr(frame[name], "dtype", None) for name in present}
    columns, dtypes = frame.columns, frame.dtypes.to_numpy()
    return {name: dtypes[columns.get_loc(name)] for name in present}  # get_indexer: slower


def _copy_on_write() -> bool:
    """Whether pandas copies on write (always from pandas 3): a shallow copy is then as good as a deep one."""
    import pandas as pd

    return int(pd.__version__.split(".", 1)[0]) >= 3 or pd.options.mode.copy_on_write is True


def derive_correct(signed_contrast: np.ndarray, choice: np.ndarray) -> pd.arrays.BooleanArray:
    """``choice == sign(contrast)``, unknown (``<NA>``) at zero contrast (see the module docstring)."""
    import pandas as pd

    side = np.sign(signed_contrast)
    return pd.arrays.BooleanArray(np.asarray(choice) == side, side == 0)


def _numeric(frame: pd.DataFrame, name: str, source: str | Path) -> np.ndarray:
    """Column ``name`` as float64 (what ``pd.to_numeric`` gives; NaN is the only NA), or a ``TrialsError``."""
    import pandas as pd

    values = numeric_column(frame, name)
    if values is not None and values.dtype.kind in "iuf":
        return values.astype(np.float64, copy=False)
    column = frame[name]
    if column.dtype == bool or isinstance(column.dtype, pd.BooleanDtype):
        raise TrialsError(source, f"column {name} must be numeric, not boolean")
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf":
        return column.to_numpy(dtype=np.float64)  # what to_numeric gives, without its checks: NaN is the only NA
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & column.notna().to_numpy()
    if bad.any():
        example = column[bad].iloc[0]
        problem = f"column {name} must be numeric; {int(bad.sum())} row(s) are not (e.g. {example!r})"
        raise TrialsError(source, problem)
    return values


def _boolean(column: pd.Series, source: str | Path) -> pd.arrays.BooleanArray:
    import pandas as pd

    if column.dtype == bool:  # what pd.array(column, dtype="boolean") makes, without its inference
        return pd.arrays.BooleanArray(column.to_numpy(dtype=bool, copy=True), np.zeros(len(column), dtype=bool))
    if isinstance(column.dtype, pd.BooleanDtype):
        return pd.array(column, dtype="boolean")
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        known = ~np.isnan(values)
        if not np.isin(values[known], (0.0, 1.0)).all():
            raise TrialsError(source, "column correct must be boolean or 0/1; found other numbers")
        return pd.arrays.BooleanArray(values == 1.0, ~known)
    text = column.astype("string").str.strip().str.lower()
    unknown = text.isna() | (text == "")
    is_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    bad = ~(is_true | is_false | unknown.to_numpy(dtype=bool))
    if bad.any():
        example = column[bad].iloc[0]
        problem = f"column correct must be true/false; {int(bad.sum())} row(s) are not (e.g. {example!r})"
        raise TrialsError(source, problem)
    return pd.arrays.BooleanArray(is_true, unknown.to_numpy(dtype=bool))
