"""What a launch or an enrollment runs other programs with, and the small helpers both share."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ._git import GitRunner
from ._locate import CurriculumLocation
from ._process import Runner
from ._store import HistoryStore

#: Default time a curriculum may run before its process group is killed.
DEFAULT_TIMEOUT_S = 120.0
#: Default time a launch waits for another launch of the same subject to finish (then ``SubjectBusy``).
DEFAULT_LOCK_WAIT_S = 900.0


class Environment(Protocol):
    """What makes a curriculum's environment ready and returns its ``curriculum`` executable."""

    def __call__(
        self, location: CurriculumLocation, *, offline: bool = ..., progress: Callable[[str], None] | None = ...
    ) -> Path: ...


@dataclass(frozen=True)
class Tools:
    """What a launch or an enrollment runs other programs with (tests inject fakes)."""

    environment: Environment
    runner: Runner
    git: GitRunner


def curriculum_of(state: Mapping[str, Any] | None) -> str | None:
    """The curriculum name a trainer state (JSON) names."""
    curriculum = (state or {}).get("curriculum")
    return curriculum.get("name") if isinstance(curriculum, Mapping) else None


def open_store(store: HistoryStore | str | os.PathLike[str]) -> HistoryStore:
    return store if isinstance(store, HistoryStore) else HistoryStore(store)
