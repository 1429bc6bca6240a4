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
        return np.random.default_rng([self.seed, self.sessions_run, _code(self.task)])

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


def trials_frame(columns: Mapping[str, np.ndarray], rows: np.ndarray) -> pd.DataFrame:
    """``pd.DataFrame(columns)[rows].reset_index(drop=True)``: the same table (columns, dtypes, values, a
    ``RangeIndex``), cheaper: the boolean mask ``rows`` is applied to the arrays, not to a table, and the
    table takes the masked arrays as they are (they are its own). A column may be a scalar (every row)."""
    selected = {name: values[rows] if isinstance(values, np.ndarray) else values for name, values in columns.items()}
    if all(not isinstance(values, np.ndarray) for values in selected.values()):
        return pd.DataFrame(selected, index=pd.RangeIndex(int(np.count_nonzero(rows))))
    return pd.DataFrame(selected, copy=False)
