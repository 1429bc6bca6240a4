"""End to end, as a new user: ``new``, then in the repository ``uv sync``, ``uv run pytest``, ``curriculum run``.

One generated and synced repository is shared by the tests of this module (building its environment is the
slow part). Real processes throughout: the template command, uv, the generated repo's own pytest and
``curriculum`` program, and the AIND launcher's curriculum app.
"""

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from template_helpers import ROOT, git, run_checked

from curriculum_contract.scaffold._process import uv_executable
from curriculum_contract.sdk import LegacySuggestion, Suggestion

pytestmark = pytest.mark.e2e



def advancing_sample(project: Path) -> str:
    """The sample session after which the subject advances to all_contrasts (``tests/data/replay.json``)."""
    sessions = json.loads((project / "tests" / "data" / "replay.json").read_text(encoding="utf-8"))["sessions"]
    return next(f"tests/data/{s['session']}" for s in sessions if s["stage_after"] == "all_contrasts")


def scaffold(command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``curriculum-contract new|update ...`` as a process (the command objects the top-level CLI registers)."""
    code = (
        "import sys; from curriculum_contract import _scaffold_cli as c; "
        f"c.{command}.main(sys.argv[1:], prog_name='curriculum-contract {command}')"
    )
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, check=False)


def uv(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_checked([uv_executable(), *args], cwd=project, env=env)


def uv_run(project: Path, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """``uv run --frozen`` of the generated repository (no re-lock: the lock was made by ``uv sync``)."""
    return subprocess.run(
        [uv_executable(), "run", "--frozen", "-q", *argv], cwd=project, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``new --defaults`` with this checkout as the SDK, then ``uv sync`` (rebuilding this checkout's SDK)."""
    destination = tmp_path_factory.mktemp("e2e") / "my-curriculum"
    started = time.perf_counter()
    completed = scaffold("new", str(destination), "--defaults", "--sdk-requirement", str(ROOT), cwd=destination.parent)
    elapsed = time.perf_counter() - started
    assert completed.returncode == 0, completed.stderr
    print(f"new took {elapsed:.2f} s")
    uv(destination, "sync", "--quiet", "--reinstall-package", "curriculum-contract")
    return destination


def test_the_generated_test_suite_passes(project: Path) -> None:
    completed = uv_run(project, ["pytest", "-q", "-p", "no:cacheprovider"])
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert " passed" in completed.stdout and "failed" not in completed.stdout


def test_curriculum_run_prints_one_contract_document(project: Path) -> None:
    completed = uv_run(project, ["curriculum", "run", "--path", advancing_sample(project)])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.endswith("\n") and completed.stdout.count("\n") == 1
    suggestion = Suggestion.model_validate_json(completed.stdout)
    LegacySuggestion.model_validate_json(completed.stdout)
    assert suggestion.curriculum_name == "my-2afc-curriculum"
    assert suggestion.decision.stage_changed and suggestion.trainer_state.stage.name == "all_contrasts"
    validated = subprocess.run(
        [str(Path(sys.executable).with_name("curriculum-contract")), "validate", "-"],
        input=completed.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert validated.returncode == 0, validated.stderr


def test_curriculum_describe_lists_the_stages(project: Path) -> None:
    completed = uv_run(project, ["curriculum", "describe"])
    assert completed.returncode == 0, completed.stderr
    for stage in ("easy_contrasts", "all_contrasts", "trained"):
        assert stage in completed.stdout


def test_the_aind_launcher_runs_it_with_its_defaults(project: Path) -> None:
    from clabe.apps import CurriculumApp, CurriculumSettings

    session = project / advancing_sample(project)
    settings = CurriculumSettings(
        project_directory=project,
        data_directory=session,
        input_trainer_state=session / "curriculum" / "trainer_state.json",
        curriculum="my-2afc-curriculum",
    )
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(uv_executable()).parent), path])  # the launcher calls `uv`
    try:
        app = CurriculumApp(settings)
        app.run()
    finally:
        os.environ["PATH"] = path
    suggestion = app.process_suggestion()
    assert suggestion.trainer_state.stage.name == "all_contrasts"


def test_the_environment_stays_lean(project: Path) -> None:
    modules = ("copier", "sqlalchemy", "uv", "matplotlib")
    code = f"import importlib.util as u; print([m for m in {modules!r} if u.find_spec(m)])"
    completed = uv_run(project, ["python", "-c", code])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_the_generated_repository_is_lint_clean(project: Path) -> None:
    for argv in (["ruff", "check", "--no-cache", "."], ["ruff", "format", "--no-cache", "--check", "."]):
        completed = uv_run(project, argv)
        assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_samples_refresh_without_changes(project: Path) -> None:
    completed = uv_run(project, ["python", "tests/sample_sessions.py"])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "nothing to rewrite", completed.stdout
    assert git(project, "status", "--porcelain", "--", "tests") == ""


def test_new_with_lock_commits_the_lock_file(tmp_path: Path) -> None:
    destination = tmp_path / "locked"
    completed = scaffold("new", str(destination), "--defaults", "--lock", "--sdk-requirement", str(ROOT), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "uv.lock" in git(destination, "ls-files").split()
    lock = (destination / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "curriculum-contract"' in lock and 'name = "aind-behavior-curriculum"' in lock


def test_the_wheel_ships_the_template_and_new_works_from_it(tmp_path: Path) -> None:
    """Installed from a wheel (not this checkout), `new` finds the template inside the package, offline."""
    run_checked([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)], cwd=tmp_path)
    wheel = next(tmp_path.glob("curriculum_contract-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "curriculum_contract/_template/copier.yml" in names
    assert "curriculum_contract/_template/template/_copier/validate.jinja" in names
    venv = tmp_path / "venv"
    uv(tmp_path, "venv", "--quiet", str(venv))
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    uv(tmp_path, "pip", "install", "--quiet", "--python", str(python), f"{wheel}[author]")
    env = {**os.environ, "UV_OFFLINE": "1", "CURRICULUM_CONTRACT_TEMPLATE_CACHE": str(tmp_path / "cache")}
    code = "import sys; from curriculum_contract._scaffold_cli import new; new.main(sys.argv[1:])"
    completed = subprocess.run(
        [str(python), "-c", code, str(tmp_path / "repo"), "--defaults", "--sdk-requirement", str(wheel)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    pyproject = (tmp_path / "repo" / "pyproject.toml").read_text(encoding="utf-8")
    assert f'path = "{wheel.as_posix()}"' in pyproject
    answers = (tmp_path / "repo" / ".copier-answers.yml").read_text(encoding="utf-8")
    assert f"_src_path: {(tmp_path / 'cache').as_posix()}" in answers


def test_the_top_level_cli_registers_the_template_commands() -> None:
    script = Path(sys.executable).with_name("curriculum-contract")
    completed = run_checked([str(script), "--help"], cwd=ROOT)
    for command in ("new", "update", "template-cache"):
        assert f"  {command} " in completed.stdout, f"`curriculum-contract {command}` is not registered"


def test_the_sample_histories_are_valid_contract_inputs(project: Path) -> None:
    """The sample histories a launcher would place validate against the contract's input schema."""
    script = Path(sys.executable).with_name("curriculum-contract")
    for history in sorted((project / "tests" / "data").glob("*/curriculum/history.json")):
        run_checked([str(script), "validate", "--history", str(history)], cwd=project)


def test_no_staging_directory_is_left(project: Path) -> None:
    assert [p.name for p in project.parent.iterdir()] == [project.name]
