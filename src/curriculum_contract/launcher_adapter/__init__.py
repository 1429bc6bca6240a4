"""What a rig's launcher calls after a session: run a curriculum safely and record what it said.

``launch`` returns a validated suggestion or raises one of the typed errors below (recorded as a
skip); ``run_or_skip`` returns ``None`` instead. Module imports stay light: the contract's models
(pydantic, the DSL) load only when output is validated.
"""

from typing import TYPE_CHECKING, Any

from ._bootstrap import ensure_environment
from ._errors import (
    AdapterError,
    AlreadyEnrolled,
    BootstrapFailed,
    ContractViolation,
    CurriculumNotFound,
    ExternalLinkRefused,
    InvalidArgument,
    ProcessFailed,
    SessionBusy,
    SessionDataViolation,
    SessionFileRefused,
    SessionNotFound,
    SessionWriteFailed,
    StoreError,
    SubjectBusy,
    SubjectMismatch,
    SubjectNotEnrolled,
    SubmoduleNotReady,
    TimedOut,
)
from ._feed import SESSION_METADATA_FILE, SESSION_METADATA_KEY
from ._git import GitResult, GitRunner, run_git
from ._guard import SessionSnapshot
from ._launch import DEFAULT_TIMEOUT_S, Environment, LaunchResult, Timings, enroll, launch, run_or_skip
from ._locate import CurriculumLocation, Provenance, locate_curriculum
from ._process import Dialect, ProcessResult, Runner, build_init_argv, build_run_argv, clean_environment, run_process
from ._store import HistoryStore, SessionRecord, store_url
from ._tools import DEFAULT_LOCK_WAIT_S

if TYPE_CHECKING:
    from ._recover import RecoveryReport, recover_session
    from ._unfinished import Unfinished, finish_unfinished, recover
    from ._validate import ValidatedOutput, parse_output

_LAZY = {
    "RecoveryReport": "._recover",
    "Unfinished": "._unfinished",
    "ValidatedOutput": "._validate",
    "parse_output": "._validate",
    "finish_unfinished": "._unfinished",
    "recover": "._unfinished",
    "recover_session": "._recover",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_LOCK_WAIT_S",
    "DEFAULT_TIMEOUT_S",
    "SESSION_METADATA_FILE",
    "SESSION_METADATA_KEY",
    "AdapterError",
    "AlreadyEnrolled",
    "BootstrapFailed",
    "ContractViolation",
    "CurriculumLocation",
    "CurriculumNotFound",
    "Dialect",
    "Environment",
    "ExternalLinkRefused",
    "GitResult",
    "GitRunner",
    "HistoryStore",
    "InvalidArgument",
    "LaunchResult",
    "ProcessFailed",
    "ProcessResult",
    "Provenance",
    "RecoveryReport",
    "Runner",
    "SessionBusy",
    "SessionDataViolation",
    "SessionFileRefused",
    "SessionNotFound",
    "SessionRecord",
    "SessionSnapshot",
    "SessionWriteFailed",
    "StoreError",
    "SubjectBusy",
    "SubjectMismatch",
    "SubjectNotEnrolled",
    "SubmoduleNotReady",
    "TimedOut",
    "Timings",
    "Unfinished",
    "ValidatedOutput",
    "build_init_argv",
    "build_run_argv",
    "clean_environment",
    "enroll",
    "ensure_environment",
    "finish_unfinished",
    "launch",
    "locate_curriculum",
    "parse_output",
    "recover",
    "recover_session",
    "run_git",
    "run_or_skip",
    "run_process",
    "store_url",
]
