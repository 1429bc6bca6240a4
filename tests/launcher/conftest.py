"""Fixtures for the launcher adapter's tests: a fake curriculum program, sessions, a store file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fake_curriculum import enrollment, write_program
from launcher_support import FakeEnvironment, fake_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return fake_project(tmp_path)


@pytest.fixture
def program_for(tmp_path: Path) -> Callable[[str], FakeEnvironment]:
    """``program_for("hang")``: a fake environment whose program behaves that way."""

    def make(behaviour: str = "ok") -> FakeEnvironment:
        return FakeEnvironment(write_program(tmp_path / f"bin-{behaviour}", behaviour))

    return make


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite"


@pytest.fixture
def enrolled(store_path: Path) -> Callable[..., dict]:
    """Enroll a subject directly in the store (no program run)."""
    from curriculum_contract.launcher_adapter._store import HistoryStore

    def enroll(subject: str, stage: str | None = None) -> dict:
        state = enrollment(stage)
        HistoryStore(store_path).record_enrollment(
            subject, state, curriculum_name=state["curriculum"]["name"], stage=state["stage"]["name"]
        )
        return state

    return enroll
