"""The launcher adapter's errors: one branch of the package's tree, so a launcher can skip on any of them.

``str(error)`` is always one line an operator understands (what went wrong and where); ``reason``
holds the same line and ``details`` the longer story (stderr tail, every validation error);
``exit_code`` is the code ``curriculum-contract launch | enroll | history`` exits with (the one table:
``curriculum_contract._errors.CommandExit``, docs/exit-codes.md)::

    AdapterError              (ContractError)                  the root; never raised itself
    ├── InvalidArgument       (ValueError)         2   a path or id not valid UTF-8, an option the dialect lacks
    ├── CurriculumNotFound    (FileNotFoundError)  3   no such directory, no pyproject.toml, no uv.lock
    ├── SubmoduleNotReady                          4   uninitialised, not at the recorded commit, dirty
    ├── BootstrapFailed                            5   uv missing, `uv sync` failed, no `curriculum` script
    ├── TimedOut              (TimeoutError)       6   the program ran past its timeout; its group was killed
    ├── ContractViolation                          7   stdout is not one valid contract (or AIND) document
    ├── SessionDataViolation                       8   the run modified, deleted or escaped the session data
    ├── SubjectNotEnrolled    (LookupError)        9   no starting trainer state for the subject
    ├── StoreError                                 10  the history store cannot be opened, read or written
    │   └── StoreUnreachable                       10  the store's server cannot be connected to (refused, timed out)
    ├── OfflineConflicts                           17  `sync`: queued offline decisions conflict with the store
    │   └── SubjectInConflict                      17  a launch of a subject in conflict on this rig (not run)
    ├── ProcessFailed                              11  the program exited non-zero or was killed by a signal
    ├── SessionNotFound       (FileNotFoundError)  12  the session directory is missing or not a directory
    ├── SessionWriteFailed    (OSError)            12  a file of the session cannot be written
    ├── ExternalLinkRefused                        13  the session holds a symlink pointing outside it (not run)
    ├── SessionBusy           (BlockingIOError)    13  another launch holds the session (nothing run, nothing recorded)
    ├── SubjectBusy           (TimeoutError)       13  another launch held the subject past the wait bound
    ├── SubjectMismatch                            13  the session's inputs name another subject
    ├── AlreadyEnrolled                            2   enroll of an enrolled subject without force and a reason
    ├── SessionFileRefused                         13  a session file the adapter reads or writes is a FIFO...
    ├── MigrationRefused      (ValueError)         2   `migrate`: a subject's stage is not mapped, or retired
    ├── SubjectOffCurriculum                       19  a trainer took the subject off the curriculum (not run)
    └── DependencyMissing     (ImportError)        15  an optional package the command needs is not installed

A failed child process keeps its own exit code as ``child_exit_code`` (``ProcessFailed``, ``BootstrapFailed``).

Each member lives with its family: ``_error_base`` (the root, ``InvalidArgument``, ``DependencyMissing``),
``_run_errors`` (the curriculum and its program), ``_session_errors``, ``_store_errors``; the stream-text
helpers live in ``_error_text``. This module draws the tree and re-exports them all: import errors from here.
"""

from __future__ import annotations

from .._errors import CommandExit, ContractError
from ._error_base import (
    _LAUNCHER_COMMANDS,  # noqa: F401
    AdapterError,
    DependencyMissing,
    InvalidArgument,
)
from ._error_text import (
    REASON_PREFIX,
    TAIL_CHARS,
    _after,  # noqa: F401
    head_text,
    last_line,
    reason_line,
    signal_name,
    tail_text,
)
from ._run_errors import (
    BootstrapFailed,
    ContractViolation,
    CurriculumNotFound,
    ProcessFailed,
    SubmoduleNotReady,
    TimedOut,
)
from ._session_errors import (
    ExternalLinkRefused,
    SessionBusy,
    SessionDataViolation,
    SessionFileRefused,
    SessionNotFound,
    SessionWriteFailed,
    SubjectBusy,
    SubjectMismatch,
    _and_more,  # noqa: F401
)
from ._store_errors import (
    AlreadyEnrolled,
    MigrationRefused,
    OfflineConflicts,
    StoreError,
    StoreUnreachable,
    SubjectInConflict,
    SubjectNotEnrolled,
    SubjectOffCurriculum,
)

__all__ = [
    "REASON_PREFIX",
    "TAIL_CHARS",
    "AdapterError",
    "AlreadyEnrolled",
    "BootstrapFailed",
    "CommandExit",
    "ContractError",
    "ContractViolation",
    "CurriculumNotFound",
    "DependencyMissing",
    "ExternalLinkRefused",
    "InvalidArgument",
    "MigrationRefused",
    "OfflineConflicts",
    "ProcessFailed",
    "SessionBusy",
    "SessionDataViolation",
    "SessionFileRefused",
    "SessionNotFound",
    "SessionWriteFailed",
    "StoreError",
    "StoreUnreachable",
    "SubjectBusy",
    "SubjectInConflict",
    "SubjectMismatch",
    "SubjectNotEnrolled",
    "SubjectOffCurriculum",
    "SubmoduleNotReady",
    "TimedOut",
    "head_text",
    "last_line",
    "reason_line",
    "signal_name",
    "tail_text",
]
