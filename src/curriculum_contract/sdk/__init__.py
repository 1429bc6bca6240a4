"""The curriculum-side SDK: the contract's models and what turns a curriculum into a ``curriculum`` CLI."""

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
from ._errors import (
    CurriculumError,
    EvaluationError,
    ExitCode,
    InputError,
    MetricsError,
    MigrationRequired,
    OutputError,
    UsageError,
)
from ._layout import HISTORY_FILE, SUGGESTION_FILE, TRAINER_STATE_FILE, history_path, suggestion_path, trainer_state_path

__all__ = [
    "CONTRACT_VERSION",
    "HISTORY_FILE",
    "SUGGESTION_FILE",
    "TRAINER_STATE_FILE",
    "ConditionReport",
    "CurriculumError",
    "Decision",
    "EvaluationError",
    "ExitCode",
    "History",
    "HistoryEntry",
    "InputError",
    "LegacySuggestion",
    "MetricsError",
    "MigrationRequired",
    "OutputError",
    "RuleReport",
    "Suggestion",
    "UsageError",
    "history_path",
    "suggestion_path",
    "trainer_state_path",
]
