"""The contract, v1: the models of the documents that cross the curriculum boundary.

``Suggestion`` is the one JSON document ``curriculum run`` prints on stdout. Its keys
``trainer_state``, ``metrics``, ``version`` and ``dsl_version`` keep the shape the AIND launcher
parses, so that launcher runs our curricula unchanged; the other keys are ours.
``History`` is the subject's past, which a launcher places in the data directory before the run.
The committed JSON Schemas (``schema/``) are generated from these models and tested for drift.
"""

from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from aind_behavior_curriculum import Metrics, TrainerState
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator, model_validator

#: Semantic version of this contract. Consumers accept any document of the same major version.
CONTRACT_VERSION = "1.1.0"
CONTRACT_MAJOR = 1

_SEMVER = r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$"

Scalar = float | int | str | bool | None


class _Strict(BaseModel):
    """Base of the contract's own nested objects: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


class _Versioned(BaseModel):
    """Base of top-level documents: unknown keys are kept, so a newer minor version still parses."""

    model_config = ConfigDict(extra="allow")

    contract_version: str = Field(
        pattern=_SEMVER,
        description="Semantic version of the contract this document follows; major version 1.",
    )

    @field_validator("contract_version")
    @classmethod
    def _same_major(cls, value: str) -> str:
        major = int(value.split(".", 1)[0])
        if major != CONTRACT_MAJOR:
            raise ValueError(f"contract major version {major} is not supported (this reader speaks {CONTRACT_MAJOR}.x)")
        return value


class ConditionReport(_Strict):
    """One comparison of a metric against a threshold, with the values it saw."""

    metric: str = Field(description="Name of the metric field compared.")
    comparison: Literal[">=", ">", "<=", "<", "==", "!="] = Field(description="The comparison operator.")
    threshold: Scalar = Field(description="The value the metric is compared against.")
    transform: Literal["value", "abs"] = Field(default="value", description="Applied to each value first.")
    sessions: int = Field(ge=1, description="How many sessions, the current one last, the condition spans.")
    mode: Literal["each", "mean", "pooled"] = Field(
        description="'each': every session must pass; 'mean': the mean over the sessions must pass; "
        "'pooled': one value computed from the sessions together must pass (e.g. one psychometric fit)."
    )
    values: list[Scalar] = Field(
        description="The metric's values, oldest first; the current session last ('pooled': the one pooled value)."
    )
    passed: bool = Field(description="Whether the condition held.")
    note: str | None = Field(default=None, description="Why it could not hold, e.g. too few sessions.")


class RuleReport(_Strict):
    """One transition or policy the trainer evaluated or applied."""

    kind: Literal["stage_transition", "policy_transition", "policy"] = Field(description="What the rule is.")
    name: str = Field(description="The rule's name: its import path, as the trainer state serializes it.")
    source: str | None = Field(description="Stage (or policy) the transition leaves.")
    target: str | None = Field(description="Stage (or policy) the transition enters.")
    evaluated: bool = Field(description="False when a higher-priority transition already fired.")
    fired: bool = Field(description="The transition was taken, or the policy was applied.")
    description: str = Field(description="Human-readable criteria, e.g. 'n_trials >= 200 in each of the last 3'.")
    conditions: list[ConditionReport] = Field(
        default_factory=list, description="Introspected conditions; empty for a plain callable."
    )


class Decision(_Strict):
    """Why the curriculum suggested what it did."""

    stage_before: str | None = Field(description="Stage of the input trainer state.")
    stage_after: str | None = Field(description="Stage of the suggested trainer state.")
    stage_changed: bool = Field(description="Whether the subject moves to another stage.")
    history: Literal["present", "first_session", "missing"] = Field(
        description="What history the curriculum had: 'missing' means multi-session criteria could not pass."
    )
    previous_sessions: int = Field(ge=0, description="Number of previous sessions in the history.")
    transitions: list[RuleReport] = Field(description="Stage transitions from stage_before, in priority order.")
    policy_transitions: list[RuleReport] = Field(description="Policy transitions of the active policies.")
    policies: list[RuleReport] = Field(description="Policies applied to the suggested task parameters.")
    summary: str = Field(description="One line an operator reads: what happened and why.")


class Suggestion(_Versioned):
    """The document ``curriculum run`` prints on stdout: the next trainer state and the metrics."""

    curriculum_name: str = Field(description="Name of the curriculum that made the suggestion.")
    version: str = Field(description="Version of the curriculum package (AIND key).")
    dsl_version: str = Field(description="Version of aind-behavior-curriculum used (AIND key).")
    data_directory: str = Field(description="Absolute path of the session data directory that was read.")
    trainer_state: SerializeAsAny[TrainerState] = Field(
        description="The suggested trainer state for the next session (AIND key), with its concrete fields."
    )
    metrics: SerializeAsAny[Metrics] = Field(description="The metrics computed from this session (AIND key).")
    decision: Decision = Field(description="Why this suggestion: the rules evaluated and the values compared.")
    assets: list[str] = Field(
        default_factory=list, description="Files the curriculum created, relative to the data directory."
    )
    warnings: list[str] = Field(default_factory=list, description="Non-fatal problems the operator should see.")

    @field_validator("assets")
    @classmethod
    def _relative_inside(cls, assets: list[str]) -> list[str]:
        for asset in assets:
            path = PurePosixPath(asset)
            if path.is_absolute() or ".." in path.parts or not path.parts:
                raise ValueError(f"asset {asset!r} must be a relative path inside the data directory")
        return assets


class LegacySuggestion(BaseModel):
    """The shape the AIND launcher parses: what AIND curricula print. Unknown keys are ignored."""

    trainer_state: SerializeAsAny[TrainerState]
    metrics: SerializeAsAny[Metrics]
    version: str
    dsl_version: str


class HistoryEntry(_Strict):
    """One previous session of the subject."""

    session: str = Field(description="The session's identifier (e.g. its data directory name).")
    stage: str | None = Field(description="Stage the subject was in during that session.")
    metrics: dict[str, Any] = Field(description="The metrics computed for that session.")
    suggested_stage: str | None = Field(default=None, description="Stage suggested after that session.")
    date: datetime | None = Field(default=None, description="When the session ran.")


class HistoryEvent(_Strict):
    """Something besides a session that changed the subject's course: an override, off/on curriculum..."""

    kind: str = Field(
        description="What happened: 'override', 'off-curriculum', 'on-curriculum', 'stage-migration', "
        "'re-enrollment', 'subject-mismatch-override'... (new kinds may appear: ignore the ones you do not know)."
    )
    at: datetime = Field(description="When it was recorded.")
    operator: str | None = Field(default=None, description="Who did it (a trainer's name), when recorded.")
    reason: str | None = Field(default=None, description="Why, as the operator typed it.")
    stage: str | None = Field(
        default=None, description="The stage it put the subject in (state-setting events); null: none or off."
    )
    session_before: str | None = Field(
        default=None, description="The latest session of `sessions` before it; null: before all of them."
    )


class History(_Versioned):
    """The subject's previous sessions, newest last. A first session says so explicitly."""

    subject_id: str | None = Field(default=None, description="The subject.")
    curriculum_name: str | None = Field(default=None, description="The curriculum the history belongs to.")
    first_session: bool = Field(description="True only for the subject's first session: sessions is empty.")
    sessions: list[HistoryEntry] = Field(description="Previous sessions, oldest first, newest last.")
    events: list[HistoryEvent] = Field(
        default_factory=list,
        description="Events since the subject's enrollment (overrides, off/on curriculum...), oldest first "
        "(contract 1.1; absent: none known). The trainer state already reflects the state-setting ones.",
    )

    @model_validator(mode="after")
    def _explicit_first_session(self) -> "History":
        if self.first_session and self.sessions:
            raise ValueError("first_session is true but sessions is not empty")
        if not self.first_session and not self.sessions:
            raise ValueError("sessions is empty but first_session is false: a first session must say so")
        return self

    @classmethod
    def first(cls, subject_id: str | None = None, curriculum_name: str | None = None) -> "History":
        """The explicit history of a subject's first session."""
        return cls(
            contract_version=CONTRACT_VERSION,
            subject_id=subject_id,
            curriculum_name=curriculum_name,
            first_session=True,
            sessions=[],
        )
