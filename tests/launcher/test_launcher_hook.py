"""The example launcher hook (examples/launcher_hook): a session runs, the curriculum step follows."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from launcher_support import ready_project

from curriculum_contract.launcher_adapter._launch import enroll
from curriculum_contract.launcher_adapter._store import HistoryStore

EXAMPLE = Path(__file__).parents[2] / "examples" / "launcher_hook" / "rig_launcher.py"


@pytest.fixture(scope="module")
def rig_launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rig_launcher", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parameters(tmp_path: Path, curriculum: Path, **extra: object) -> Path:
    params = {"subject_id": "sim-001", "rig_id": "rig-7", "output_directory": "data",
              "curriculum_directory": str(curriculum), "n_trials": 50, "seed": 3, **extra}  # fmt: skip
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps(params), encoding="utf-8")
    return path


def test_a_session_then_its_suggestion(rig_launcher: ModuleType, tmp_path: Path, capsys) -> None:
    project = ready_project(tmp_path)
    enroll(project, "sim-001", store=tmp_path / "curriculum-history.sqlite")
    assert rig_launcher.main([str(_parameters(tmp_path, project))]) == 0
    [session] = (tmp_path / "data").iterdir()
    assert capsys.readouterr().out == f"session {session}: next stage stage_b\n"
    assert len((session / "trials.csv").read_text().splitlines()) == 51
    [epoch] = json.loads((session / "session.json").read_text())["stimulus_epochs"]
    assert epoch["output_parameters"]["curriculum"]["stage_after"] == "stage_b"
    metadata = json.loads((session / "launcher_metadata.json").read_text())
    assert metadata["curriculum"]["status"] == "ok" and metadata["parameters"]["rig_id"] == "rig-7"
    assert (session / "curriculum" / "suggestion.json").is_file()


def test_a_broken_curriculum_is_skipped_and_the_session_kept(rig_launcher: ModuleType, tmp_path: Path) -> None:
    enroll(ready_project(tmp_path), "sim-001", store=tmp_path / "curriculum-history.sqlite")
    assert rig_launcher.main([str(_parameters(tmp_path, ready_project(tmp_path, "fail")))]) == 0
    [session] = (tmp_path / "data").iterdir()
    metadata = json.loads((session / "launcher_metadata.json").read_text())
    assert metadata["curriculum"]["status"] == "skipped"
    assert "exited with code 4" in metadata["curriculum"]["reason"]
    assert (session / "trials.csv").is_file() and "curriculum" not in json.loads((session / "session.json").read_text())
    assert HistoryStore(tmp_path / "curriculum-history.sqlite").session_rows()[0]["status"] == "skipped"
