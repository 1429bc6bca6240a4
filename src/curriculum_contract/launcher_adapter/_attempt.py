"""One launch as it goes: what is known so far (enough to record it however it ends), and its result."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._locate import Provenance
from ._store import SessionRecord, now, stage_name

if TYPE_CHECKING:
    from ..sdk import LegacySuggestion, Suggestion


@dataclass(frozen=True)
class Timings:
    """Seconds spent: locating and bootstrapping, running the program, the whole launch."""

    bootstrap_s: float
    run_s: float
    total_s: float


@dataclass(frozen=True)
class LaunchResult:
    """A validated suggestion for one session, and what the adapter did with it."""

    subject_id: str
    session_dir: Path
    suggestion: Suggestion | LegacySuggestion
    document: dict[str, Any]
    legacy: bool
    curriculum_name: str | None
    stage_before: str | None
    stage_after: str | None
    metrics: dict[str, Any]
    warnings: tuple[str, ...]
    provenance: Provenance
    timings: Timings
    record_id: int
    suggestion_file: Path
    metadata_file: Path | None
    store_status: str = "recorded"
    """Offline rigs (``_rig_store``): ``recorded`` in the store, ``queued`` in the rig's outbox, or ``conflict``."""
    input_trainer_state: dict[str, Any] | None = None
    """The trainer state the session started from (its task parameters vs the suggestion's: what changed)."""

    @property
    def stage_changed(self) -> bool:
        return self.stage_before != self.stage_after

    @property
    def summary(self) -> str | None:
        """The curriculum's one-line explanation (contract documents only)."""
        decision = getattr(self.suggestion, "decision", None)
        return decision.summary if decision is not None else None


@dataclass
class Attempt:
    """What is known so far about one launch: enough to record it however it ends.

    ``started_at`` is also the launch's identity in its journal: a recovery finds the launch's row by it.
    """

    subject: str
    session_dir: Path
    dialect: str
    started_at: datetime = field(default_factory=now)
    t0: float = field(default_factory=time.perf_counter)
    curriculum_name: str | None = None
    provenance: Provenance | None = None
    input_state: dict[str, Any] | None = None
    session_time: datetime | None = None
    """When the session ran (``_session_order``): its place in the subject's history."""
    bootstrap_s: float | None = None
    run_s: float | None = None
    warnings: list[str] = field(default_factory=list)
    held_locks: list[int] = field(default_factory=list)
    """Descriptors of the locks this launch holds (the session's), which the run's supervisor holds too."""

    def record(self, status: str, **values: Any) -> SessionRecord:
        prov = self.provenance
        return SessionRecord(
            subject=self.subject,
            session=self.session_dir.name,
            session_path=str(self.session_dir),
            status=status,  # type: ignore[arg-type]
            started_at=self.started_at,
            finished_at=now(),
            curriculum_name=values.pop("curriculum_name", self.curriculum_name),
            curriculum_version=values.pop("curriculum_version", prov.version if prov else None),
            curriculum_commit=prov.commit if prov else None,
            provenance=prov.as_dict() if prov else None,
            dialect=self.dialect,
            stage_before=stage_name(self.input_state),
            input_trainer_state=self.input_state,
            warnings=tuple(self.warnings),
            duration_s=time.perf_counter() - self.t0,
            bootstrap_s=self.bootstrap_s,
            run_s=self.run_s,
            session_time=self.session_time,
            **values,
        )
