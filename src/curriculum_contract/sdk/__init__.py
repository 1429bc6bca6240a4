"""The curriculum-side SDK: the contract's models and what turns a curriculum into a ``curriculum`` CLI.

A curriculum package supplies a ``Trainer`` and a metrics function, and gets the whole command::

    SPEC = CurriculumSpec(trainer=TRAINER, metrics=compute_metrics, version=__version__)

and in its pyproject.toml ``[project.scripts] curriculum = "curriculum_contract.sdk:main"`` with
``[project.entry-points."curriculum_contract.specs"] my-curriculum = "my_curriculum.curriculum:SPEC"``.
"""

from ._app import build_cli
from ._contract import (
    CONTRACT_VERSION,
    ConditionReport,
    Decision,
    History,
    HistoryEntry,
    LegacySuggestion,
    RuleReport,
    Suggestion,
)
from ._criteria import Condition, Criteria, current_history
from ._errors import (
    CurriculumError,
    EvaluationError,
    ExitCode,
    InputError,
    LoadError,
    MetricsError,
    MigrationRequired,
    OutputError,
    UsageError,
)
from ._layout import (
    HISTORY_FILE,
    SUGGESTION_FILE,
    TRAINER_STATE_FILE,
    history_path,
    suggestion_path,
    trainer_state_path,
)
from ._main import main
from ._notes import declare_asset, declare_undefined
from ._pooling import Pooled, PooledRef, pooled
from ._refs import MetricRef, metric
from ._replay_contract import ReplayError, ReplayRequest, ReplayResult
from ._session import ReplayStep, evaluate_session, replay, replay_steps, run_session
from ._spec import CurriculumSpec

__all__ = [
    "CONTRACT_VERSION",
    "HISTORY_FILE",
    "SUGGESTION_FILE",
    "TRAINER_STATE_FILE",
    "Condition",
    "ConditionReport",
    "Criteria",
    "CurriculumError",
    "CurriculumSpec",
    "Decision",
    "EvaluationError",
    "ExitCode",
    "History",
    "HistoryEntry",
    "InputError",
    "LegacySuggestion",
    "LoadError",
    "MetricRef",
    "MetricsError",
    "MigrationRequired",
    "OutputError",
    "Pooled",
    "PooledRef",
    "ReplayError",
    "ReplayRequest",
    "ReplayResult",
    "ReplayStep",
    "RuleReport",
    "Suggestion",
    "UsageError",
    "build_cli",
    "current_history",
    "declare_asset",
    "declare_undefined",
    "evaluate_session",
    "history_path",
    "main",
    "metric",
    "pooled",
    "replay",
    "replay_steps",
    "run_session",
    "suggestion_path",
    "trainer_state_path",
]
