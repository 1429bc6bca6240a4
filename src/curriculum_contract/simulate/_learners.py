"""Model learners for population experiments: a small protocol, and the two built-in tasks' learners.

A learner is one simulated subject. The experiment asks it to run a session with the task parameters the
curriculum suggested and hands what it returns to the curriculum's own metrics function, so a learner is
anything with a ``run_session`` (see ``Learner``). A *learner factory* makes the learner of one subject of the
population from its id, a generator seeded for that subject, and the scientist's ``LearnerParameters``.

The built-in factories wrap ``TwoAfcSubject`` and ``ChangeDetectionSubject`` with what a population needs:
a learning rate that varies across subjects (log-normal, ``variability``), a ``plateau`` of skill the subject
never passes, and ``forgetting``, the fraction of skill lost between sessions.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ._base import SimulatedSubject, clip01
from ._change_detection import ChangeDetectionSubject
from ._errors import UnknownLearner
from ._profiles import SubjectProfile
from ._sessions import SimulatedSession
from ._subject import TwoAfcSubject
from ._words import a_type


@runtime_checkable
class Learner(Protocol):
    """One simulated subject of an experiment.

    ``run_session`` runs one session with the task parameters the curriculum suggested (the stage's
    ``task_parameters`` as JSON), learns from it, and returns the session: its trials table (a DataFrame the
    curriculum's metrics function can read once written as ``trials.csv``), or a ``SimulatedSession``
    (trials plus an AIND-style ``session.json``).
    """

    def run_session(self, parameters: Mapping[str, Any]) -> pd.DataFrame | SimulatedSession: ...


@dataclass(frozen=True)
class LearnerParameters:
    """How a population learns; every built-in learner reads these (a custom one may ignore them)."""

    learning_rate: float = 0.32
    """Median fraction of the remaining way to the plateau covered by one session of full practice."""
    variability: float = 0.3
    """Log-space spread of the learning rate (and half of it for motivation) across subjects; 0: identical."""
    plateau: float = 1.0
    """Skill (0 naive .. 1 expert) a subject approaches and never passes."""
    forgetting: float = 0.0
    """Fraction of skill lost between one session and the next."""
    motivation: float = 1.0
    """Median willingness to work: scales the trials a subject does before it disengages."""

    def __post_init__(self) -> None:
        checks = {
            "learning_rate": (0.0 <= self.learning_rate <= 1.0, "0 <= learning_rate <= 1"),
            "variability": (0.0 <= self.variability <= 3.0, "0 <= variability <= 3"),
            "plateau": (0.0 < self.plateau <= 1.0, "0 < plateau <= 1"),
            "forgetting": (0.0 <= self.forgetting < 1.0, "0 <= forgetting < 1"),
            "motivation": (self.motivation > 0.0, "motivation > 0"),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:  # NaN fails every check
                raise ValueError(f"learner parameter {name} = {getattr(self, name)!r} is out of range ({allowed})")


LearnerFactory = Callable[[str, np.random.Generator, LearnerParameters], Learner]
"""``factory(subject_id, rng, parameters) -> Learner``: one subject of the population (``rng`` is its own)."""


class _PopulationLearning:
    """Overrides ``SimulatedSubject.learn``: forgetting between sessions, learning towards a plateau."""

    plateau: float = 1.0
    forgetting: float = 0.0

    def learn(self: Any, practice: float, rate_factor: float = 1.0) -> bool:
        state = self.state
        state.skill *= 1.0 - self.forgetting
        rate = min(1.0, self.profile.learning_rate * rate_factor)
        state.skill += rate * clip01(practice) * max(0.0, self.plateau - state.skill)
        return True


class TwoAfcLearner(_PopulationLearning, TwoAfcSubject):
    """``TwoAfcSubject`` with a plateau and forgetting; also reads the template's parameter names.

    The template's ``repeat_incorrect_easy_trials`` is this simulator's ``debias``.
    """

    def resolve(self, parameters: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        parameters = dict(parameters)
        if "repeat_incorrect_easy_trials" in parameters and "debias" not in parameters:
            parameters["debias"] = bool(parameters.pop("repeat_incorrect_easy_trials"))
        return super().resolve(parameters)


class ChangeDetectionLearner(_PopulationLearning, ChangeDetectionSubject):
    """``ChangeDetectionSubject`` with a plateau and forgetting."""


def _built_in(cls: type[SimulatedSubject]) -> LearnerFactory:
    def factory(subject_id: str, rng: np.random.Generator, parameters: LearnerParameters) -> Learner:
        spread = parameters.variability
        rate = min(1.0, parameters.learning_rate * math.exp(spread * float(rng.standard_normal())))
        motivation = parameters.motivation * math.exp(0.5 * spread * float(rng.standard_normal()))
        profile = SubjectProfile(f"population(rate={rate:.3f})", learning_rate=rate, motivation=motivation)
        learner = cls(subject_id, profile, seed=int(rng.integers(2**31)))
        learner.plateau, learner.forgetting = parameters.plateau, parameters.forgetting  # type: ignore[attr-defined]
        return learner  # type: ignore[return-value]

    factory.__name__ = factory.__qualname__ = f"{cls.__name__}.factory"
    factory.__doc__ = f"A {cls.__name__} whose learning rate and motivation are drawn from ``rng``."
    return factory


two_afc_learner = _built_in(TwoAfcLearner)
change_detection_learner = _built_in(ChangeDetectionLearner)

#: The learners ``--learner NAME`` knows; any other name is ``module:attribute`` of a factory.
LEARNERS: dict[str, LearnerFactory] = {
    "two_afc": two_afc_learner,
    "change_detection": change_detection_learner,
}


def resolve_learner(learner: str | LearnerFactory) -> tuple[str, LearnerFactory]:
    """The learner's name and factory: a factory as is, a built-in name, or ``module:attribute``."""
    if not isinstance(learner, str):
        return getattr(learner, "__qualname__", repr(learner)), learner
    if learner in LEARNERS:
        return learner, LEARNERS[learner]
    module_name, _, attribute = learner.partition(":")
    if not module_name or not attribute:
        raise UnknownLearner(
            f"unknown learner {learner!r}: use one of {', '.join(LEARNERS)} or module:attribute of a factory"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UnknownLearner(f"learner {learner!r}: cannot import {module_name}: {error}") from None
    try:
        factory = getattr(module, attribute)
    except AttributeError:
        raise UnknownLearner(f"learner {learner!r}: module {module_name} has no attribute {attribute!r}") from None
    if not callable(factory):
        raise UnknownLearner(f"learner {learner!r} is {a_type(factory)}, not a callable factory")
    return learner, factory
