"""The template's sample sessions come from the simulator, through the one command a generated repository documents.

``uv run python tests/sample_sessions.py`` in a generated repository regenerates ``tests/data`` (trials, inputs,
``replay.json``); ``make_template_samples.py`` copies what it writes back into the template. Here: the committed
samples are exactly that output ("nothing to rewrite"), they show what an author needs to see, and after a
criterion is made stricter the command rewrites them and the repository's own tests pass again.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from template_helpers import ROOT, git, render, run_checked

from curriculum_contract.scaffold._process import uv_executable

DATA = ROOT / "template" / "tests" / "data"
COMMAND = ["tests/sample_sessions.py"]
STRICTER = ('metric("psychometric_threshold") < 19', 'metric("psychometric_threshold") < 15')


def sample_command(project: Path) -> subprocess.CompletedProcess[str]:
    """The generated repository's sample command, in this environment (the SDK of this checkout)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project / "tests")])}
    return subprocess.run([sys.executable, *COMMAND], cwd=project, env=env, capture_output=True, text=True, check=False)


def test_the_committed_samples_show_a_first_session_progress_a_failed_criterion_and_each_stage_change() -> None:
    manifest = json.loads((DATA / "replay.json").read_text(encoding="utf-8"))
    sessions = manifest["sessions"]
    assert manifest["simulated"]["learner"] == "two_afc" and manifest["simulated"]["subject"] == "sim-001"
    assert "uv run python tests/sample_sessions.py" in manifest["description"]
    changes = [(s["stage"], s["stage_after"]) for s in sessions if s["stage"] != s["stage_after"]]
    assert changes == [("easy_contrasts", "all_contrasts"), ("all_contrasts", "trained")]
    assert sessions[0]["stage"] == "easy_contrasts" and sessions[-1]["stage_after"] == "trained"
    first = json.loads((DATA / sessions[0]["session"] / "curriculum" / "history.json.jinja").read_text())
    assert first["first_session"] is True and first["sessions"] == []
    easy = [s["metrics"]["fraction_correct_easy"] for s in sessions if s["stage"] == "easy_contrasts"]
    assert easy[0] < 0.8 <= easy[-1], f"no progress on easy trials: {easy}"
    stays = [s for s in sessions if s["stage"] == s["stage_after"] == "all_contrasts"]
    assert stays, "no session shows to_trained failing"
    (to_trained,) = stays[0]["decision"]["rules"]
    assert to_trained["rule"] == "to_trained" and not to_trained["fired"] and False in to_trained["conditions"]
    assert {p.name for p in DATA.iterdir()} == {"replay.json", *(s["session"] for s in sessions)}


@pytest.mark.e2e
@pytest.mark.parametrize(
    "answers", [{}, {"curriculum_name": "rat-2afc", "package_name": "rat_training", "task_name": "RatChoice"}]
)
def test_the_committed_samples_are_what_the_command_writes(tmp_path: Path, answers: dict[str, str]) -> None:
    """Rendered with other names too: the templated inputs must name each repository's package, task, curriculum."""
    project = render(tmp_path / "repo", answers)
    completed = sample_command(project)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "nothing to rewrite", completed.stdout
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.e2e
def test_a_stricter_criterion_regenerates_the_samples_and_the_tests_pass(tmp_path: Path) -> None:
    """As an author: make a threshold stricter, see the golden replay fail, run the one command, tests pass."""
    project = render(tmp_path / "repo")
    uv = uv_executable()
    run_checked([uv, "sync", "--quiet", "--reinstall-package", "curriculum-contract"], cwd=project)
    curriculum = project / "src" / "my_2afc_curriculum" / "curriculum.py"
    code = curriculum.read_text(encoding="utf-8")
    assert code.count(STRICTER[0]) == 1
    curriculum.write_text(code.replace(*STRICTER), encoding="utf-8")

    def uv_run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [uv, "run", "--frozen", "-q", *argv], cwd=project, capture_output=True, text=True, check=False
        )

    failing = uv_run("pytest", "-q", "-p", "no:cacheprovider", "tests/test_replay.py")
    assert failing.returncode == 1, failing.stdout[-3000:]
    assert "progress changed" in failing.stdout and "`uv run python tests/sample_sessions.py`" in failing.stdout

    before = json.loads((project / "tests" / "data" / "replay.json").read_text(encoding="utf-8"))["sessions"]
    regenerated = uv_run("python", *COMMAND)
    assert regenerated.returncode == 0, regenerated.stdout + regenerated.stderr
    assert "wrote replay.json" in regenerated.stdout
    assert re.search(
        r"decisions changed from the previous replay.json:\n  \S+: all_contrasts -> all_contrasts", regenerated.stdout
    )
    after = json.loads((project / "tests" / "data" / "replay.json").read_text(encoding="utf-8"))["sessions"]
    assert len(after) > len(before) and after[-1]["stage_after"] == "trained"
    status = git(project, "status", "--porcelain", "--", "tests")
    assert " M tests/data/replay.json" in status.splitlines() and "?? tests/data/" in status, status

    passing = uv_run("pytest", "-q", "-p", "no:cacheprovider")
    assert passing.returncode == 0, passing.stdout[-4000:] + passing.stderr[-2000:]
    assert uv_run("python", *COMMAND).stdout.splitlines()[-1] == "nothing to rewrite"
