"""The issue's judged scenario, as real processes: a curriculum generated from the template, launched from a task
repo (as a submodule) over its sample sessions for two subjects, which records the history; then a stricter
threshold committed in the curriculum's own repository and ``curriculum-contract whatif --against HEAD~1``: both
versions replay the recorded metrics through their own ``curriculum replay`` in their own uv environments."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from launcher_support import GIT_IDENTITY, run_ok, task_repo_with
from launcher_support import cli as support_cli

from curriculum_contract.scaffold import new_curriculum

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STRICTER = ('(metric("fraction_correct_easy") >= 0.8).in_each_of_last(2),\n    name="to_all_contrasts"',
            '(metric("fraction_correct_easy") >= 0.9).in_each_of_last(2),\n    name="to_all_contrasts"')  # fmt: skip


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return support_cli(*args, cwd=cwd, timeout=1500)


def test_whatif_of_a_stricter_threshold_shows_who_would_graduate_later(tmp_path: Path) -> None:
    upstream = new_curriculum(tmp_path / "upstream" / "mouse-2afc", {"curriculum_name": "mouse-2afc"},
                              defaults=True, sdk_requirement=str(ROOT), lock=True)  # fmt: skip
    submodule = task_repo_with(upstream, tmp_path, "mouse-2afc")
    task = submodule.parents[1]
    curriculum, store = submodule, tmp_path / "history.sqlite"
    samples = sorted(p for p in (upstream / "tests" / "data").iterdir() if p.is_dir())
    recorded = json.loads((upstream / "tests" / "data" / "replay.json").read_text())["sessions"]
    assert recorded[6]["stage_after"] == "all_contrasts" and recorded[5]["stage_after"] == "easy_contrasts"
    for subject, sessions in (("M1", samples), ("M2", samples[:8])):  # M2 stops before it would be trained
        enrolled = cli("enroll", "--curriculum", str(curriculum), "--subject", subject, "--store", str(store), cwd=task)
        assert enrolled.returncode == 0, enrolled.stderr
        for index, sample in enumerate(sessions):
            session = tmp_path / "sessions" / subject / f"behavior_{subject}_2026-11-{index + 10}_09-00-00"
            session.mkdir(parents=True)
            shutil.copy(sample / "trials.csv", session / "trials.csv")
            launched = cli("launch", "--curriculum", str(curriculum), "--session", str(session), "--subject", subject,
                           "--store", str(store), cwd=task)  # fmt: skip
            assert launched.returncode == 0, launched.stderr

    module = next((upstream / "src").glob("*/curriculum.py"))
    text = module.read_text(encoding="utf-8")
    assert STRICTER[0] in text
    module.write_text(text.replace(*STRICTER), encoding="utf-8")
    run_ok(["git", *GIT_IDENTITY, "commit", "-q", "-am", "stricter easy-contrast criterion"], upstream)

    args = ["whatif", "--curriculum", str(upstream), "--against", "HEAD~1", "--store", str(store)]
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "reference: HEAD~1 (" in out and f"candidate: {upstream.resolve()} (working tree at " in out
    block = out.split("\nM1: ")[1].split("\n\n")[0]
    [all_contrasts] = [line for line in block.splitlines() if line.strip().startswith("all_contrasts")] or [out]
    assert "#7 behavior_M1_2026-11-16_09-00-00" in all_contrasts and "#9 behavior_M1_2026-11-18" in all_contrasts
    assert "reference -> all_contrasts: advance easy_contrasts -> all_contrasts: to_all_contrasts held" in block
    assert "candidate -> easy_contrasts: stay in easy_contrasts: to_all_contrasts:" in block
    assert "the reference replay matches the store's recorded decisions" in block
    assert out.split("\nM2: ")[1].startswith("would never graduate"), out

    document = json.loads(cli(*args, "--json", cwd=tmp_path).stdout)
    m1 = next(s for s in document["subjects"] if s["subject"] == "M1")
    assert m1["verdict"] in ("later", "never") and m1["replayed"] == 9 and m1["recorded_mismatches"] == 0
    reached = {r["stage"]: (r["reference"], r["candidate"]) for r in m1["reached"]}
    assert reached["easy_contrasts"] == (0, 0) and reached["all_contrasts"] == (7, 9)
    first = m1["differing"][0]
    assert first["index"] == 7 and first["reference"]["stage_after"] == "all_contrasts"
    assert first["candidate"]["stage_after"] == "easy_contrasts" and "0.9" in first["candidate"]["summary"]
    assert document["summary"]["never"] + document["summary"]["later"] == 2
