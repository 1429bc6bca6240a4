"""A population experiment: a seeded population of model learners trained on a curriculum, in one process.

In the spirit of CompNeuroPy's ``CompNeuroExp``: ``run()`` drives the simulations (override it to design
another protocol from ``train_subject``), ``results()`` returns the tables. Each session is what a rig and its
launcher would do, without the processes: the learner runs the current stage's task parameters, its trials
are written to a scratch data directory, the curriculum's real metrics function reads them and its real
trainer decides (``sdk._session.evaluate_session``, the same call as ``curriculum run``), and the session joins
the subject's history. The metrics function's one input is a directory: the simulator makes one of the
session's name (with the session's small ``session.json`` for a ``SimulatedSession``; in scratch, the last
session's directory renamed, see ``_scratch``) and hands the trials to ``load_trials`` in memory
(``sdk._trials.preloaded_trials``: the same checks and dtypes as reading the file), so no table is written
and reparsed. ``keep_sessions`` writes ``trials.csv`` too. The trainer state and the history stay in memory.

``workers`` processes (default: one per core; 1 = in-process) train the subjects: a subject's learner
depends only on the seed and its index, so the tables are identical whatever the number of workers.
"""

from __future__ import annotations

import json
import os
import shutil
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from aind_behavior_curriculum import TrainerState

from .._errors import ContractError
from ..sdk._contract import History
from ..sdk._session import evaluate_session, next_history
from ..sdk._spec import CurriculumSpec
from ..sdk._trials import preloaded_trials
from ._errors import LearnerFailed
from ._learners import Learner, LearnerFactory, LearnerParameters, resolve_learner
from ._results import ExperimentResults, SessionRecord
from ._scratch import TRIALS_FILE, ScratchDirectories, keep_failed_session, scratch_root, write_file
from ._sessions import SESSION_FILE, SimulatedSession
from ._signals import interrupts_ignored
from ._stage_graph import stage_order, stages_after
from ._words import a_type
from ._workers import default_workers, map_in_workers, stop_requested


@dataclass
class Experiment:
    """Train ``subjects`` seeded learners for ``sessions`` sessions each on ``spec``'s curriculum.

    The same ``seed`` (and arguments) gives the same population and identical tables. ``learner`` is a
    built-in name (``two_afc``, ``change_detection``), ``module:attribute`` of a factory, or a factory.
    ``keep_sessions`` keeps every session's data directory there (with its ``trials.csv``) instead of removing
    it. ``workers``: processes training the subjects (None: one per core; 1: in this process).
    """

    spec: CurriculumSpec
    learner: str | LearnerFactory = "two_afc"
    subjects: int = 20
    sessions: int = 40
    seed: int = 0
    parameters: LearnerParameters = field(default_factory=LearnerParameters)
    opts: Mapping[str, str] = field(default_factory=dict)
    keep_sessions: Path | None = None
    workers: int | None = None
    records: list[SessionRecord] = field(default_factory=list, init=False)
    _needs_file: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.subjects < 1 or self.sessions < 1:
            raise ValueError(f"subjects and sessions must be >= 1, got {self.subjects} and {self.sessions}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0 (a NumPy seed), got {self.seed}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        self.learner_name, self.factory = resolve_learner(self.learner)
        self.spec.bind_options(Path(os.curdir), self.opts)  # an --opt the metrics refuse: before any training

    def subject_id(self, index: int) -> str:
        return f"sim-{index + 1:03d}"

    def make_learner(self, index: int) -> Learner:
        """Subject ``index``'s learner: its generator depends only on the seed and the index."""
        rng = np.random.default_rng([self.seed, index])
        try:
            return self.factory(self.subject_id(index), rng, self.parameters)
        except Exception as error:
            raise LearnerFailed(
                f"learner {self.learner_name} could not make subject {self.subject_id(index)}: "
                f"{type(error).__name__}: {error}",
                traceback.format_exc(),
            ) from error

    def run(self) -> Experiment:
        """Train every subject from enrollment (override to run another protocol); returns ``self``."""
        self.records = [record for records in self.map_subjects(self.train_subject) for record in records]
        return self

    def map_subjects(self, train: Callable[[int], list[SessionRecord]]) -> list[list[SessionRecord]]:
        """``train(index)`` for every subject, in index order, spread over ``workers`` processes."""
        return map_in_workers(train, self.subjects, min(self.subjects, self.workers or default_workers()))

    def train_subject(
        self, index: int, *, sessions: int | None = None, start: TrainerState | None = None
    ) -> list[SessionRecord]:
        """The closed loop of one subject: ``sessions`` sessions from ``start`` (default: enrollment)."""
        subject_id, learner = self.subject_id(index), self.make_learner(index)
        state = start or self.spec.enroll()
        history = History.first(subject_id=subject_id, curriculum_name=self.spec.name)
        # Resolved: evaluate_session hands the metrics function the resolved path, which preloaded_trials must match.
        root = self.keep_sessions.resolve() if self.keep_sessions is not None else scratch_root()
        scratch = ScratchDirectories(root) if self.keep_sessions is None else None
        records: list[SessionRecord] = []
        try:
            for number in range(1, (sessions or self.sessions) + 1):
                if stop_requested():  # a worker's Ctrl-C: stop here, through this function's cleanup
                    raise KeyboardInterrupt
                parameters = state.stage.task.task_parameters.model_dump(mode="json")
                session = self._session(learner, subject_id, number, parameters)
                directory, trials = self._write(session, root, f"{subject_id}_session_{number:03d}", scratch)
                try:
                    suggestion = self._evaluate(directory, trials, state, history)
                except ContractError as error:  # its directory is a scratch one, or staged: gone after the run
                    _keep_for_the_author(error, directory, trials)
                    error.prefixed(f"subject {subject_id}, session {number}: ")
                    raise
                if scratch is not None:
                    scratch.release(directory)
                stage, after = state.stage.name, suggestion.trainer_state.stage.name
                history = next_history(history, directory.name, stage, suggestion)
                metrics = dict(history.sessions[-1].metrics)  # as JSON, as the history records them: dumped once
                records.append(SessionRecord(subject_id, number, stage, after, metrics))
                state = suggestion.trainer_state
        finally:
            if self.keep_sessions is None:
                with interrupts_ignored():
                    shutil.rmtree(root, ignore_errors=True)
        return records

    def results(self) -> ExperimentResults:
        """The tables of the last ``run()`` (running it first if it has not run)."""
        if not self.records:
            self.run()
        order = stage_order(self.spec)
        return ExperimentResults.from_records(
            self.records, order, self.sessions, self.description(), after=stages_after(self.spec)
        )

    def description(self) -> dict[str, Any]:
        """What the results were made from (``run.json``): enough to rerun the same population."""
        return {
            "curriculum": self.spec.name,
            "curriculum_version": self.spec.package_version,
            "learner": self.learner_name,
            "parameters": vars(self.parameters),
            "subjects": self.subjects,
            "sessions": self.sessions,
            "seed": self.seed,
            "opts": dict(self.opts),
        }

    def _session(
        self, learner: Learner, subject_id: str, number: int, parameters: dict[str, Any]
    ) -> pd.DataFrame | SimulatedSession:
        where = f"learner {self.learner_name} of subject {subject_id}, session {number}"
        try:
            session = learner.run_session(parameters)
        except Exception as error:
            raise LearnerFailed(
                f"{where} failed with parameters {json.dumps(parameters)}: {type(error).__name__}: {error}",
                traceback.format_exc(),
            ) from error
        if not isinstance(session, pd.DataFrame | SimulatedSession):
            returned = a_type(session)
            raise LearnerFailed(f"{where} returned {returned}, not a DataFrame or SimulatedSession")
        return session

    def _evaluate(self, directory: Path, trials: pd.DataFrame, state: TrainerState, history: History) -> Any:
        """The real evaluation; the trials in memory, unless the metrics read the file their own way."""
        if not self._needs_file:
            try:
                with preloaded_trials(directory, trials) as preloaded:
                    suggestion = evaluate_session(self.spec, directory, state, history, opts=self.opts)
            except Exception as error:
                if preloaded.refused is not None:
                    raise LearnerFailed(
                        f"learner {self.learner_name} returned trials that load_trials refuses: "
                        f"{preloaded.refused.problem}"
                    ) from error
                if preloaded.used:
                    raise
            if preloaded.used:
                return suggestion
            self._needs_file = True  # from now on (deterministically the same in every worker)
        if not (directory / TRIALS_FILE).is_file():
            trials.to_csv(directory / TRIALS_FILE, index=False)
        return evaluate_session(self.spec, directory, state, history, opts=self.opts)

    def _write(
        self, session: pd.DataFrame | SimulatedSession, root: Path, name: str, scratch: ScratchDirectories | None
    ) -> tuple[Path, pd.DataFrame]:
        """The session's data directory: ``session.json`` for a ``SimulatedSession`` (indented when kept, as
        ``write_session`` writes it; compact in a scratch directory) and, when kept, ``trials.csv``."""
        simulated: SimulatedSession | None = None
        if isinstance(session, SimulatedSession):
            simulated, trials, name = session, session.trials, session.name
        else:
            trials = session
        if scratch is None:
            directory = root / name
            directory.mkdir(parents=True)
            trials.to_csv(directory / TRIALS_FILE, index=False)
        else:
            directory = scratch.make(name)
        if simulated is not None:
            text = json.dumps(simulated.metadata(), indent=2 if scratch is None else None)
            write_file(os.path.join(directory, SESSION_FILE), (text + "\n").encode())
        return directory, trials


def _keep_for_the_author(error: ContractError, directory: Path, trials: pd.DataFrame) -> None:
    """The failed session's data directory, kept (``keep_failed_session``): the error names the copy."""
    try:
        kept = keep_failed_session(directory, trials)
    except OSError as problem:
        error.details += f"\n{directory} could not be kept ({problem}): it is gone after the run\n"
        return
    error.reason = error.reason.replace(str(directory), str(kept))
    error.details += (
        f"\nthe session's data directory is kept in {kept} (its trials as {TRIALS_FILE}): "
        f"`curriculum run --path {kept}` reads it as the metrics function did\n"
    )
