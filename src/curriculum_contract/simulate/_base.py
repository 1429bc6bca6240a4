"""What every simulated subject shares: identity, seeded randomness, the learning state, the calendar.

A subject is deterministic given its seed and the sequence of task parameters it is given: each
session draws from its own generator seeded with ``(seed, session index, task)``, and the learning
state changes only through what the subject did in the session.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

try:  # pandas >= 3: a table from its blocks, as they are
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - pandas 2
    _from_blocks = None

from ..sdk._frames import numeric_column
from ._profiles import SubjectProfile, get_profile
from ._sessions import SimulatedSession

#: The first simulated session starts here unless a subject is given another ``start``.
DEFAULT_START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


@dataclass
class LearningState:
    """The latent state a session reads and updates."""

    skill: float = 0.0
    motivation: float = 1.0
    extra: dict[str, float] = field(default_factory=dict)


class SimulatedSubject:
    """Base class: a subject id, a profile, a seed, and a session counter.

    A task's subclass says what its parameters and trials are (``_validate``, ``_truth``, ``_simulate``)
    and how the subject learns from a session (``_update``); running a session is the same for all.
    """

    task: str = "task"
    defaults: Mapping[str, Any] = {}

    def __init__(
        self,
        subject_id: str,
        profile: str | SubjectProfile = "fast_learner",
        *,
        seed: int = 0,
        start: datetime = DEFAULT_START,
    ) -> None:
        if not subject_id or any(c in subject_id for c in "/\\ "):
            raise ValueError(f"subject_id {subject_id!r} must be non-empty, without spaces or slashes")
        self.subject_id = subject_id
        self.profile = get_profile(profile)
        self.seed = seed
        self.start = start
        self.sessions_run = 0
        self.state = LearningState(motivation=self.profile.motivation)
        traits = np.random.default_rng([seed, 0x5EED, _code(self.task)])
        self.traits = self._draw_traits(traits)

    def _draw_traits(self, rng: np.random.Generator) -> dict[str, float]:
        """Fixed per-subject traits (e.g. a side preference); subclasses override."""
        return {}

    def run_session(self, parameters: Mapping[str, Any] | None = None) -> SimulatedSession:
        """Run one session with the suggested task ``parameters``; the subject learns from it."""
        params, ignored = self.resolve(parameters or {})
        self._check_kinds(params)
        self._validate(params)
        rng = self.session_rng()
        truth = self._truth(rng, params)
        trials = self._simulate(rng, params, truth)
        session = SimulatedSession(
            subject_id=self.subject_id,
            session_index=self.sessions_run,
            task=self.task,
            profile=self.profile.name,
            start=self.session_start(),
            rig_id=f"simulated-{params['rig']}-rig",
            parameters=params,
            ignored_parameters=ignored,
            truth=truth,
            trials=trials,
        )
        self._update(params, trials)
        self.sessions_run += 1
        return session

    def _check_kinds(self, params: dict[str, Any]) -> None:
        """Each parameter it models is of its default's kind (a list, a number, a flag, a text), else a
        ``ValueError`` that says so: usually another task's curriculum (``--learner`` for another task)."""
        for key, default in self.defaults.items():
            value = params[key]
            kind = _kind(default)
            if kind is not None and _kind(value) != kind:
                raise ValueError(
                    f"task parameter {key} = {value!r} is not {kind} as the {self.task} learner models it "
                    f"(default {default!r}): is this learner for this curriculum's task?"
                )

    def _validate(self, params: dict[str, Any]) -> None:
        """Reject parameters the task cannot run (``ValueError``)."""

    def _truth(self, rng: np.random.Generator, params: dict[str, Any]) -> dict[str, float]:
        """The subject's latent parameters during this session (may draw from the session's ``rng``)."""
        raise NotImplementedError

    def _simulate(self, rng: np.random.Generator, params: dict[str, Any], truth: dict[str, float]) -> pd.DataFrame:
        """The session's trials table."""
        raise NotImplementedError

    def _update(self, params: dict[str, Any], trials: pd.DataFrame) -> None:
        """Learn from the session (see ``learn``)."""
        raise NotImplementedError

    def session_rng(self) -> np.random.Generator:
        """The generator of the next session: depends only on the seed and the session index."""
        words = (self.seed, self.sessions_run, _code(self.task))
        if all(type(word) is int and 0 <= word < 2**32 for word in words):
            # the entropy a list of such ints gives the seed sequence (one word each), without converting them
            return np.random.default_rng(np.array(words, dtype=np.uint32))
        return np.random.default_rng(list(words))

    def session_start(self) -> datetime:
        """One session a day, at the same time of day."""
        return self.start + timedelta(days=self.sessions_run)

    def resolve(self, parameters: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        """All the parameters as run (the suggested ones, defaults filled in for the ones it models),
        and the suggested keys the simulation does not model."""
        resolved = {**parameters, **{key: parameters.get(key, value) for key, value in self.defaults.items()}}
        ignored = tuple(sorted(key for key in parameters if key not in self.defaults))
        return resolved, ignored

    def learn(self, practice: float, rate_factor: float = 1.0) -> bool:
        """Update skill after a session with ``practice`` in [0, 1]; returns False while declining."""
        profile, state = self.profile, self.state
        if profile.degrade_after is not None and self.sessions_run >= profile.degrade_after:
            state.skill *= 1.0 - profile.degrade_rate
            state.motivation *= 1.0 - profile.degrade_rate
            return False
        rate = min(1.0, profile.learning_rate * rate_factor)
        state.skill += rate * min(1.0, max(0.0, practice)) * (1.0 - state.skill)
        return True


@cache
def _code(task: str) -> int:
    """A stable small integer for a task name (Python's ``hash`` of a str changes between runs); cached: it is
    part of every session's seed."""
    return sum((i + 1) * ord(c) for i, c in enumerate(task)) % 65521


def lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, size: int) -> np.ndarray:
    """Samples with the given median (``exp(mu)``) and log-space spread ``sigma``."""
    return np.exp(np.log(median) + sigma * rng.standard_normal(size))


def clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def numpy_column(trials: pd.DataFrame, name: str) -> np.ndarray:
    """``trials[name].to_numpy()``, without making a Series when the column is a NumPy array."""
    values = numeric_column(trials, name)
    return trials[name].to_numpy() if values is None else values


def trials_frame(columns: Mapping[str, Any], rows: np.ndarray | None = None) -> pd.DataFrame:
    """``pd.DataFrame(columns)[rows].reset_index(drop=True)`` (``rows`` None: every row): the same table
    (columns, dtypes, values, a ``RangeIndex``; from pandas 3 also the constructor's blocks), cheaper: the boolean
    mask ``rows`` is applied to the arrays, not to a table. A column is a NumPy or pandas array, or a scalar
    (every row); the table's values are its own (copies, as the constructor's)."""
    if rows is None:  # NumPy columns are copied into the blocks; a pandas array would be taken as it is
        selected = {name: v.copy() if isinstance(v, ExtensionArray) else v for name, v in columns.items()}
        size = next(len(values) for values in selected.values() if _is_array(values))
    else:
        selected = {name: value[rows] if _is_array(value) else value for name, value in columns.items()}
        size = int(np.count_nonzero(rows))
    if _from_blocks is not None and all(_fast(values) for values in selected.values()):
        return _frame_from_blocks(selected, size)
    if not any(_is_array(values) for values in selected.values()):
        return pd.DataFrame(selected, index=pd.RangeIndex(size))
    return pd.DataFrame(selected, copy=False)


def _is_array(values: object) -> bool:
    return isinstance(values, np.ndarray | ExtensionArray)


def _fast(values: object) -> bool:
    """A column the constructor takes as it is: a 1-d NumPy numeric array, a nullable boolean or a string array."""
    if isinstance(values, np.ndarray):
        return values.ndim == 1 and values.dtype.kind in "biuf"
    return isinstance(values, pd.arrays.BooleanArray) or (
        isinstance(values, ExtensionArray) and isinstance(values.dtype, pd.StringDtype)
    )


def _frame_from_blocks(selected: dict[str, Any], size: int) -> pd.DataFrame:
    """The constructor's table without its inference: the NumPy columns of one dtype stacked into one block, a
    block of its own for a pandas array, in the order of their first column (as ``pd.DataFrame`` makes them)."""
    arrays = list(selected.values())
    dtypes = tuple(values.dtype if isinstance(values, np.ndarray) else None for values in arrays)
    columns, layout = _layout(tuple(selected), dtypes)
    blocks: list[tuple[Any, np.ndarray]] = []
    for dtype, where in layout:
        if dtype is None:  # a pandas array
            block = arrays[where[0]]
        else:
            block = np.empty((where.size, size), dtype=dtype)
            for row, position in enumerate(where.tolist()):
                block[row] = arrays[position]
        blocks.append((block, where.copy()))  # the table's own placement
    assert _from_blocks is not None
    return _from_blocks(blocks, pd.RangeIndex(size), columns.copy())


@cache
def _layout(names: tuple[str, ...], dtypes: tuple[Any, ...]) -> tuple[pd.Index, list[tuple[Any, np.ndarray]]]:
    """The column labels the constructor makes, and its blocks (a dtype, or None for a pandas array, and the
    columns' positions), once per table layout: each table gets a shallow copy of the labels (its own name and
    object), which shares the label lookup table a table builds on its first column lookup."""
    groups: dict[object, list[int]] = {}
    for position, dtype in enumerate(dtypes):
        groups.setdefault(dtype if dtype is not None else -1 - position, []).append(position)
    layout = [(dtypes[where[0]], np.array(where, dtype=np.intp)) for where in groups.values()]
    return pd.DataFrame({name: [] for name in names}).columns, layout


def _kind(value: object) -> str | None:
    """What kind of task parameter ``value`` is, by the JSON it comes from; None: any (a null default)."""
    if isinstance(value, bool):
        return "a flag"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list | tuple):
        return "a list"
    return None if value is None else type(value).__name__
