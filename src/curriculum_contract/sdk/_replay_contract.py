"""The documents of ``curriculum replay`` (contract 1.1): one request per input line, one result per output line.

A batch replays many sessions in one process, so a launcher re-deciding a subject's 200 sessions pays one
interpreter start, not 200. Committed schemas: ``schema/replay-request-v1.schema.json`` and
``schema/replay-result-v1.schema.json`` (docs/contract.md, "Batch replay").
"""

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from ._contract import History, Suggestion, _Strict, _Versioned


class ReplayRequest(_Strict):
    """One session to decide: its data directory (metrics computed now) or its recorded metrics."""

    session: str = Field(description="The session's identifier; it names the session in the history that follows.")
    subject_id: str | None = Field(
        default=None,
        description="The subject. A line naming another subject than the line before starts a new chain.",
    )
    data_directory: str | None = Field(
        default=None, description="The session's data directory: metrics are computed from it, as `run` does."
    )
    metrics: dict[str, Any] | None = Field(
        default=None, description="Recorded metrics (as a suggestion's `metrics`): decided without reading trials."
    )
    trainer_state: dict[str, Any] | None = Field(
        default=None,
        description="The state the session starts from. Omitted: the previous line's suggestion in this chain "
        "(the first line of a chain: the curriculum's enrollment).",
    )
    history: History | None = Field(
        default=None,
        description="The history to decide with. Omitted: the sessions replayed before it in this chain, with "
        "the decisions this replay made (what this curriculum would have done).",
    )
    date: datetime | None = Field(default=None, description="When the session ran (kept in the history).")
    opts: dict[str, str] = Field(default_factory=dict, description="Options for the metrics function (--opt).")

    @model_validator(mode="after")
    def _one_source(self) -> "ReplayRequest":
        if (self.data_directory is None) == (self.metrics is None):
            raise ValueError("give exactly one of data_directory and metrics")
        return self


class ReplayError(_Strict):
    """Why one session could not be decided; the others are unaffected (a chain stops at its first error)."""

    exit_code: int = Field(description="The code `curriculum run` would have exited with (docs/contract.md).")
    reason: str = Field(description="One line naming what went wrong and where.")


class ReplayResult(_Versioned):
    """One output line: the request's session and either its suggestion or its error."""

    line: int = Field(ge=1, description="The request's line number in the input.")
    session: str | None = Field(description="The request's session (null when the line could not be parsed).")
    subject_id: str | None = Field(default=None, description="The request's subject.")
    suggestion: Suggestion | None = Field(description="The document `curriculum run` prints, or null on error.")
    error: ReplayError | None = Field(description="Null on success.")
