"""Simulated subjects that write realistic session data directories, for demos and curriculum tests.

A subject learns at a seeded, configurable rate and responds to the task parameters a curriculum
suggests, so a curriculum can be driven end to end without a rig::

    subject = TwoAfcSubject("sim-001", "fast_learner", seed=1)
    steps = run_training(SPEC, subject, tmp_path, sessions=20)
    [(s.index, s.stage) for s in steps]

``write_sample_sessions`` does the same into a curriculum repository's ``tests/data`` and records the
golden replay's ``replay.json``.

numpy and pandas only; every subject is deterministic given its seed and the parameters it is given.
"""

from ._base import DEFAULT_START, SimulatedSubject
from ._change_detection import ChangeDetectionSubject
from ._loop import TrainingStep, run_training, stage_changes
from ._profiles import PROFILES, SubjectProfile, get_profile
from ._samples import write_sample_sessions
from ._sessions import SESSION_FILE, SessionExistsError, SimulatedSession, write_session
from ._subject import TwoAfcSubject

__all__ = [
    "DEFAULT_START",
    "PROFILES",
    "SESSION_FILE",
    "ChangeDetectionSubject",
    "SessionExistsError",
    "SimulatedSession",
    "SimulatedSubject",
    "SubjectProfile",
    "TrainingStep",
    "TwoAfcSubject",
    "get_profile",
    "run_training",
    "stage_changes",
    "write_sample_sessions",
    "write_session",
]
