"""Simulated subjects that write realistic session data directories, for demos and curriculum tests.

A subject learns at a seeded, configurable rate and responds to the task parameters a curriculum
suggests, so a curriculum can be driven end to end without a rig::

    subject = TwoAfcSubject("sim-001", "fast_learner", seed=1)
    steps = run_training(SPEC, subject, tmp_path, sessions=20)
    [(s.index, s.stage) for s in steps]

``write_sample_sessions`` does the same into a curriculum repository's ``tests/data`` and records the
golden replay's ``replay.json``; ``regenerate_samples`` makes ``tests/data`` one seeded population learner's run
to the last stage, rewriting only what changed (the template's ``tests/sample_sessions.py``).

``Experiment`` trains a seeded population of model learners on a curriculum and tabulates how many sessions
each stage takes (``curriculum simulate``; docs/simulate.md)::

    results = Experiment(SPEC, learner="two_afc", subjects=50, sessions=40, seed=1).run().results()
    results.summary  # per stage: reached, median sessions (censored rule), ...

numpy and pandas only; every subject is deterministic given its seed and the parameters it is given.
"""

from ._base import DEFAULT_START, SimulatedSubject
from ._change_detection import ChangeDetectionSubject
from ._compare import compare
from ._errors import LearnerFailed, ResultsUnreadable, UnknownLearner
from ._experiment import Experiment
from ._learners import (
    LEARNERS,
    ChangeDetectionLearner,
    Learner,
    LearnerFactory,
    LearnerParameters,
    TwoAfcLearner,
    change_detection_learner,
    resolve_learner,
    two_afc_learner,
)
from ._loop import TrainingStep, run_training, stage_changes
from ._output import read_results, write_results
from ._profiles import PROFILES, SubjectProfile, get_profile
from ._results import ExperimentResults, SessionRecord
from ._sample_set import SampleChanges, SamplesNotOwned, regenerate_samples
from ._samples import write_sample_sessions
from ._sessions import SESSION_FILE, SessionExistsError, SimulatedSession, write_session
from ._subject import TwoAfcSubject

__all__ = [
    "DEFAULT_START",
    "LEARNERS",
    "PROFILES",
    "SESSION_FILE",
    "ChangeDetectionLearner",
    "ChangeDetectionSubject",
    "Experiment",
    "ExperimentResults",
    "Learner",
    "LearnerFactory",
    "LearnerFailed",
    "LearnerParameters",
    "ResultsUnreadable",
    "SampleChanges",
    "SamplesNotOwned",
    "SessionExistsError",
    "SessionRecord",
    "SimulatedSession",
    "SimulatedSubject",
    "SubjectProfile",
    "TrainingStep",
    "TwoAfcLearner",
    "TwoAfcSubject",
    "UnknownLearner",
    "change_detection_learner",
    "compare",
    "get_profile",
    "read_results",
    "regenerate_samples",
    "resolve_learner",
    "run_training",
    "stage_changes",
    "two_afc_learner",
    "write_results",
    "write_sample_sessions",
    "write_session",
]
