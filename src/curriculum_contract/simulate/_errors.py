"""The simulator's errors: members of the SDK's family (``CurriculumError``), raised by ``curriculum simulate``.

::

    CurriculumError
    ├── UsageError
    │   ├── UnknownLearner    (2)  --learner is neither built in nor module:attribute of a factory
    │   └── SamplesNotOwned   (2)  a sample folder the writer would replace holds files it did not write
    ├── InputError
    │   └── ResultsUnreadable (3)  a results directory (--compare) is missing, unreadable or of another population
    └── LearnerFailed         (5)  a learner raised, or returned something other than a trials table
                                   (or one load_trials refuses)
"""

from ..sdk._errors import CurriculumError, ExitCode, InputError, UsageError


class UnknownLearner(UsageError):
    """The learner named is neither built in nor an importable ``module:attribute`` of a learner factory."""


class ResultsUnreadable(InputError):
    """A simulation results directory is missing, unreadable, or holds another population than the one compared."""


class LearnerFailed(CurriculumError, RuntimeError):
    """A simulated learner raised, or returned something other than a trials table or a SimulatedSession (or a
    table ``load_trials`` refuses)."""

    exit_code = ExitCode.EVALUATION


class SamplesNotOwned(UsageError, FileExistsError):
    """A folder the sample writer would replace or remove holds files it did not write (nothing was changed)."""
