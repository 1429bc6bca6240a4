"""The published AIND curricula package, unchanged, through the AIND dialect (end to end).

A uv project made here depends on ``aind-behavior-vr-foraging-curricula``; the adapter bootstraps it
with ``uv sync --frozen`` and runs its ``curriculum`` program as an AIND launcher would
(``run --data-directory --input-trainer-state --curriculum depletion``). The sessions are synthetic
but in the package's own data layout (see ``vr_foraging_session``), so its real metrics code runs and
its trainer really evaluates: the first session is too short to advance, the second advances.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from vr_foraging_session import make_vr_foraging_session

from curriculum_contract.launcher_adapter._bootstrap import find_uv
from curriculum_contract.launcher_adapter._launch import enroll, launch
from curriculum_contract.launcher_adapter._store import HistoryStore
from curriculum_contract.sdk import SUGGESTION_FILE, LegacySuggestion

pytestmark = pytest.mark.e2e
PACKAGE = "aind-behavior-vr-foraging-curricula==1.3.2"
FIRST, SECOND = "one_odor_no_depletion", "one_odor_w_depletion_day_0"


@pytest.fixture(scope="module")
def aind_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rig-side uv project whose environment provides the package's ``curriculum`` program."""
    project = tmp_path_factory.mktemp("aind") / "vr-foraging-curricula"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[project]\n"
        'name = "vr-foraging-curricula-rig"\n'
        'version = "0.1.0"\n'
        'requires-python = ">=3.11"\n'
        f'dependencies = ["{PACKAGE}"]\n'
        "[tool.uv]\n"
        "package = false\n",
        encoding="utf-8",
    )
    locked = subprocess.run([find_uv(), "lock", "--quiet"], cwd=project, capture_output=True, text=True, check=False)
    assert locked.returncode == 0, locked.stderr
    return project


def test_the_published_aind_package_runs_unchanged_and_is_accepted_as_legacy(
    aind_project: Path, tmp_path: Path
) -> None:
    store = tmp_path / "history.sqlite"
    progress: list[str] = []
    state = enroll(aind_project, "VR1", store=store, dialect="aind", name="depletion", progress=progress.append)
    assert state["curriculum"]["name"] == "Depletion" and state["stage"]["name"] == FIRST
    assert progress, "the first bootstrap reports progress"

    short = make_vr_foraging_session(tmp_path / "sessions", "VR1_s1", reward_sites=40, choices=30)
    first = launch(aind_project, short, "VR1", store=store, dialect="aind", name="depletion", timeout_s=300)
    assert first.legacy and isinstance(first.suggestion, LegacySuggestion)
    assert (first.stage_before, first.stage_after) == (FIRST, FIRST)
    assert first.metrics["n_reward_sites_traveled"] == 40 and first.metrics["n_choices"] == 30

    long = make_vr_foraging_session(tmp_path / "sessions", "VR1_s2", reward_sites=210, choices=160)
    second = launch(aind_project, long, "VR1", store=store, dialect="aind", name="depletion", timeout_s=300)
    assert (second.stage_before, second.stage_after) == (FIRST, SECOND)
    assert second.document["version"] and second.document["dsl_version"]

    # The outputs landed in the session, the AIND session.json kept its keys, the store has both sessions.
    assert json.loads((long / SUGGESTION_FILE).read_text())["trainer_state"]["stage"]["name"] == SECOND
    metadata = json.loads((long / "session.json").read_text())
    assert metadata["rig_id"] == "rig-7" and metadata["curriculum"]["stage_after"] == SECOND
    assert metadata["curriculum"]["legacy_output"] is True
    frame = HistoryStore(store).history("VR1")
    assert list(frame["stage_after"]) == [FIRST, SECOND] and list(frame["legacy"]) == [True, True]
    assert list(frame["dialect"]) == ["aind", "aind"]
    assert HistoryStore(store).latest_trainer_state("VR1")["stage"]["name"] == SECOND
