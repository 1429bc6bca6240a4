"""Closed-loop training in one process: the subject runs what the curriculum suggested last.

Each step does what a rig and its launcher do, without subprocesses: run the session with the
current stage's task parameters, write its data directory, place the contract's inputs in it
(``curriculum/trainer_state.json`` and ``curriculum/history.json``, so ``curriculum run --path`` works
on it as is), evaluate it with the SDK (``evaluate_session``, what ``curriculum run`` and ``replay``
call), then append the session to the history. ``replay(spec, [step.directory ...])`` over the
written directories reproduces the same suggestions.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aind_behavior_curriculum import TrainerState

from .._files import write_text_atomic
from ..sdk._contract import History, Suggestion
from ..sdk._layout import history_path, trainer_state_path
from ..sdk._session import evaluate_session, next_history
from ..sdk._spec import CurriculumSpec
from ._sessions import SimulatedSession, TrialsFormat, write_session


class Subject(Protocol):
    """What the loop needs of a simulated subject."""

    subject_id: str

    def run_session(self, parameters: Mapping[str, object] | None = None) -> SimulatedSession: ...


@dataclass(frozen=True)
class TrainingStep:
    """One session of closed-loop training and the curriculum's suggestion after it."""

    index: int
    directory: Path
    session: SimulatedSession
    stage: str
    """The stage the session ran in."""
    suggestion: Suggestion

    @property
    def next_stage(self) -> str:
        return self.suggestion.trainer_state.stage.name


def run_training(
    spec: CurriculumSpec,
    subject: Subject,
    root: str | os.PathLike[str],
    *,
    sessions: int,
    start: TrainerState | None = None,
    history: History | None = None,
    opts: Mapping[str, str] | None = None,
    trials_format: TrialsFormat = "csv",
) -> list[TrainingStep]:
    """Train ``subject`` on ``spec``'s curriculum for ``sessions`` sessions, writing them under ``root``.

    ``start`` and ``history`` continue an earlier run (default: a new enrollment and a first session).
    """
    if sessions < 0:
        raise ValueError(f"sessions must be >= 0, got {sessions}")
    state = start or spec.enroll()
    history = history or History.first(subject_id=subject.subject_id, curriculum_name=spec.name)
    steps: list[TrainingStep] = []
    for index in range(sessions):
        parameters = state.stage.task.task_parameters.model_dump(mode="json")
        session = subject.run_session(parameters)
        directory = write_session(session, root, trials_format=trials_format)
        write_text_atomic(trainer_state_path(directory), state.model_dump_json(indent=2) + "\n")
        write_text_atomic(history_path(directory), history.model_dump_json(indent=2) + "\n")
        suggestion = evaluate_session(spec, directory, state, history, opts=opts)
        steps.append(TrainingStep(index, directory, session, state.stage.name, suggestion))
        history = next_history(history, directory.name, state.stage.name, suggestion, session.start)
        state = suggestion.trainer_state
    return steps


def stage_changes(steps: list[TrainingStep]) -> list[tuple[int, str, str]]:
    """``(session index, from, to)`` for every session after which the stage changed."""
    return [(s.index, s.stage, s.next_stage) for s in steps if s.next_stage != s.stage]
