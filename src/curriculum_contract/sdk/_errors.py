"""Exit codes of a curriculum program and the errors that map onto them.

Every failure of a ``curriculum`` command is one of these errors; the CLI turns it into its exit code,
an empty stdout and a one-line reason on stderr. ``CurriculumError`` is the SDK's branch of the package's
tree (``curriculum_contract.ContractError``); these codes are the contract's (docs/contract.md, section 4)::

    CurriculumError
    ├── UsageError            (2)  bad command line: unknown option, --curriculum mismatch, bad --opt
    ├── InputError            (3)  unreadable input: data directory, trainer state, history
    │   └── MigrationRequired (3)  trainer state from another major version of the curriculum
    ├── MetricsError          (4)  the curriculum's metrics function raised or returned a non-Metrics
    ├── EvaluationError       (5)  the trainer's evaluation (transitions, policies) raised
    ├── OutputError           (6)  the curriculum broke the contract: undeclared or missing assets,
    │                              a modified data directory, an output that fails validation
    └── LoadError             (7)  the curriculum's code cannot be loaded: no spec entry point, an
                                   exception while importing it, or it names no CurriculumSpec
"""

from enum import IntEnum
from typing import ClassVar

from .._errors import ContractError


class ExitCode(IntEnum):
    """Documented exit codes of every ``curriculum`` program (see docs/contract.md)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    INPUT = 3
    METRICS = 4
    EVALUATION = 5
    OUTPUT = 6
    LOAD = 7


class CurriculumError(ContractError):
    """Root of the SDK's errors. ``str(error)`` is the one-line reason; ``details`` may add more."""

    exit_code: ClassVar[int] = ExitCode.INTERNAL
    commands = ("curriculum",)
    _family_root = True


class UsageError(CurriculumError, ValueError):
    """The command line is wrong."""

    exit_code = ExitCode.USAGE


class InputError(CurriculumError, ValueError):
    """An input inside (or named next to) the data directory is missing or unreadable."""

    exit_code = ExitCode.INPUT


class MigrationRequired(InputError):
    """The trainer state was written by another major version of the curriculum."""


class MetricsError(CurriculumError, RuntimeError):
    """The curriculum's metrics function failed."""

    exit_code = ExitCode.METRICS


class EvaluationError(CurriculumError, RuntimeError):
    """Evaluating the trainer (stage transitions, policies) failed."""

    exit_code = ExitCode.EVALUATION


class OutputError(CurriculumError, RuntimeError):
    """The curriculum's output or its effect on the data directory breaks the contract."""

    exit_code = ExitCode.OUTPUT


class LoadError(CurriculumError, ImportError):
    """The ``curriculum`` program could not find or import the curriculum's ``CurriculumSpec``."""

    exit_code = ExitCode.LOAD
