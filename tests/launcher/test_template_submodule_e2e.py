"""Issue 4 as a new user tries it: a curriculum repo generated from the template, added as a submodule of a
fresh task repo, then `curriculum-contract enroll` once and `launch` once per session, as real processes."""

import json
import shutil
from pathlib import Path

import pytest
from launcher_support import cli, task_repo_with

from curriculum_contract.scaffold import new_curriculum
from curriculum_contract.sdk._contract import CONTRACT_VERSION

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_launch_a_generated_curriculum_from_a_submodule(tmp_path: Path) -> None:
    upstream = new_curriculum(tmp_path / "upstream" / "mouse-2afc", {"curriculum_name": "mouse-2afc"},
                              defaults=True, sdk_requirement=str(ROOT), lock=True)  # fmt: skip
    submodule = task_repo_with(upstream, tmp_path, "mouse-2afc")
    task = submodule.parents[1]
    curriculum = submodule
    store = tmp_path / "history.sqlite"

    enrolled = cli("enroll", "--curriculum", str(curriculum), "--subject", "M7", "--store", str(store), cwd=task)
    assert enrolled.returncode == 0, enrolled.stderr
    samples = sorted(p for p in (upstream / "tests" / "data").iterdir() if p.is_dir())
    stages = []
    for index, sample in enumerate(samples):
        session = tmp_path / "sessions" / "M7" / f"2026-11-{index + 10}_001"
        session.mkdir(parents=True)
        shutil.copy(sample / "trials.csv", session / "trials.csv")  # the rig's data only: the adapter feeds the rest
        before = (session / "trials.csv").read_bytes()
        launched = cli("launch", "--curriculum", str(curriculum), "--session", str(session), "--subject", "M7",
                       "--store", str(store), cwd=task)  # fmt: skip
        assert launched.returncode == 0, launched.stderr
        assert (session / "trials.csv").read_bytes() == before
        document = json.loads((session / "curriculum" / "suggestion.json").read_text())
        assert document["contract_version"] == CONTRACT_VERSION
        stages.append(document["trainer_state"]["stage"]["name"])
    recorded = json.loads((upstream / "tests" / "data" / "replay.json").read_text())
    assert stages == [entry["stage_after"] for entry in recorded["sessions"]], "launches differ from the replay"
    history = cli("history", "--store", str(store), "--subject", "M7", "--json", cwd=task)
    rows = json.loads(history.stdout)
    assert [row["status"] for row in rows] == ["ok"] * len(samples)
    assert rows[0]["provenance"]["kind"] == "submodule"
