"""The template's what-if CI job: its workflow is valid YAML that runs ``whatif`` against the pull request's base,
and the sample history it records from the sample sessions is a real store that ``whatif`` reads: one subject,
every sample session replayable from recorded metrics, starting from the rendered curriculum's enrollment."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from template_helpers import RUFF, render

from curriculum_contract.launcher_adapter._store import HistoryStore
from curriculum_contract.launcher_adapter._whatif import _chains


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("whatif") / "mouse-2afc", {"curriculum_name": "mouse-2afc"})


def test_the_workflow_runs_whatif_against_the_base_on_pull_requests(project: Path) -> None:
    workflow = yaml.safe_load((project / ".github" / "workflows" / "whatif.yml").read_text(encoding="utf-8"))
    assert list(workflow[True]) == ["pull_request"], "YAML's `on:` key parses as True"
    steps = workflow["jobs"]["whatif"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0, "the base revision must be fetched for --against"
    commands = "\n".join(s.get("run", "") for s in steps)
    assert "python tests/sample_history.py" in commands and 'git archive "$BASE" tests/data' in commands
    assert "curriculum-contract whatif --curriculum ." in commands and '--against "$BASE"' in commands
    assert all(s.get("shell") == "bash" for s in steps if "run" in s), "pipefail: a failed whatif fails the job"


def test_the_sample_history_is_a_store_whatif_reads(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "history.sqlite"
    done = subprocess.run([sys.executable, "tests/sample_history.py", "--out", str(out)], cwd=project,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    store = HistoryStore(out)
    [chain] = _chains(store, [], None)
    assert chain.subject == "sim-001" and chain.skipped == 0
    assert chain.start["curriculum"]["name"] == "mouse-2afc" and chain.start["stage"]["name"] == "easy_contrasts"
    assert [row["stage_after"] for row in chain.rows][-1] == "trained"
    assert all(row["metrics"]["n_trials"] > 0 for row in chain.rows)
    times = [row["session_time"] for row in chain.rows]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert chain.rows[0]["input_trainer_state"] == chain.start, "the first session starts from the enrollment"
    store.close()
    lint = subprocess.run([str(RUFF), "check", "tests/sample_history.py"], cwd=project, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert lint.returncode == 0, lint.stdout
