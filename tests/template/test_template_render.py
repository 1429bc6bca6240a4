"""Rendering the template with several answer sets: the files, the configuration, lint, and the sample sessions."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from template_helpers import ROOT, RUFF, git, render

from curriculum_contract.scaffold import release_range

#: Answer sets, each rendering a differently shaped repository.
ANSWER_SETS = {
    "defaults": {},
    "long-names": {
        "curriculum_name": "a" * 20 + "-" + "b" * 19,
        "task_name": "T" + "x" * 39,
        "description": 'Trains "reversal" learning',
        "license": "Proprietary",
        "min_python": "3.13",
    },
    "explicit": {
        "curriculum_name": "rat-2afc",
        "package_name": "rat_training",
        "task_name": "RatChoice",
        "author_name": "Lab of Rats",
        "author_email": "rats@lab.example.org",
        "license": "BSD-3-Clause",
        "copyright_year": "2019-2025",
        "min_python": "3.12",
        "sdk_requirement": "curriculum-contract>=0.1,<0.2",
    },
}
#: What only authoring or launching needs: never a curriculum's dependency.
NOT_IN_A_CURRICULUM = ("copier", "uv", "sqlalchemy", "matplotlib", "aind-clabe")


Rendered = tuple[Path, dict[str, str]]
_RENDERED: dict[str, Rendered] = {}


def _render_set(name: str, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Each answer set is rendered once per test session."""
    if name not in _RENDERED:
        answers = ANSWER_SETS[name]
        options = {"sdk_requirement": answers["sdk_requirement"]} if "sdk_requirement" in answers else {}
        data = {key: value for key, value in answers.items() if key != "sdk_requirement"}
        project = render(tmp_path_factory.mktemp(name) / "repo", data, **options)
        _RENDERED[name] = project, yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return _RENDERED[name]


@pytest.fixture(params=list(ANSWER_SETS))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return _render_set(request.param, tmp_path_factory)


@pytest.fixture(params=["long-names", "explicit"])
def rendered_custom(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The answer sets that differ from the defaults (the e2e test runs the defaults in the repo's own env)."""
    return _render_set(request.param, tmp_path_factory)


@pytest.mark.e2e
def test_the_repository_has_every_file_and_no_template_leftovers(rendered: Rendered) -> None:
    project, answers = rendered
    package = answers["package_name"]
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    expected = {
        ".copier-answers.yml",
        ".github/workflows/ci.yml",
        ".gitignore",
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        f"src/{package}/__init__.py",
        f"src/{package}/metrics.py",
        f"src/{package}/stages.py",
        f"src/{package}/curriculum.py",
        "tests/test_contract.py",
        "tests/test_transitions.py",
        "tests/test_replay.py",
        "tests/test_migrations.py",
        "migrations.toml",
        "tests/sample_sessions.py",
        "tests/data/replay.json",
    }
    assert expected <= files, f"missing: {sorted(expected - files)}"
    assert ("LICENSE" in files) == (answers["license"] != "Proprietary")
    assert not [f for f in files if f.endswith(".jinja") or "_copier" in f or f.endswith(".keep")]
    sessions = [entry["session"] for entry in json.loads((project / "tests/data/replay.json").read_text())["sessions"]]
    for session in sessions:
        for name in ("trials.csv", "curriculum/trainer_state.json", "curriculum/history.json"):
            assert f"tests/data/{session}/{name}" in files


@pytest.mark.e2e
def test_pyproject_declares_the_curriculum(rendered: Rendered) -> None:
    project, answers = rendered
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    meta = pyproject["project"]
    assert meta["name"] == answers["curriculum_name"]
    assert meta["description"] == answers["description"]
    assert meta["requires-python"] == f">={answers['min_python']}"
    assert meta["scripts"] == {"curriculum": "curriculum_contract.sdk:main"}
    spec = f"{answers['package_name']}.curriculum:SPEC"
    assert meta["entry-points"] == {"curriculum_contract.specs": {answers["curriculum_name"]: spec}}
    names = [dependency.split("@")[0].split(">")[0].split("<")[0].strip() for dependency in meta["dependencies"]]
    assert names == ["curriculum-contract", "aind-behavior-curriculum", "pandas"]
    assert not [d for d in meta["dependencies"] if d.startswith(NOT_IN_A_CURRICULUM)]
    ini = pyproject["tool"]["pytest"]["ini_options"]
    assert ini["curriculum_spec"] == f"{answers['package_name']}.curriculum:SPEC"
    assert ini["curriculum_sessions"] == "tests/data"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + answers["min_python"].replace(".", "")


@pytest.mark.e2e
def test_the_sdk_comes_from_the_answer(rendered: Rendered) -> None:
    project, answers = rendered
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    sources = pyproject.get("tool", {}).get("uv", {}).get("sources", {})
    if answers["sdk_requirement"].startswith("curriculum-contract"):
        assert answers["sdk_requirement"] in pyproject["project"]["dependencies"]
        assert sources == {}
    else:
        assert answers["sdk_requirement"] == ROOT.as_posix()
        assert sources == {"curriculum-contract": {"path": ROOT.as_posix(), "editable": False}}


@pytest.mark.e2e
def test_the_repository_is_committed_and_records_its_template(rendered: Rendered) -> None:
    project, answers = rendered
    assert git(project, "status", "--porcelain") == ""
    assert len(git(project, "log", "--format=%H").split()) == 1
    assert answers["_commit"].startswith("v")
    assert Path(answers["_src_path"]).expanduser().joinpath(".git").is_dir()
    tags = git(Path(answers["_src_path"]).expanduser(), "tag", "--list").split()
    assert answers["_commit"] in tags


@pytest.mark.e2e
def test_generated_python_passes_its_own_ruff_configuration(rendered: Rendered) -> None:
    project, _answers = rendered
    for argv in ([str(RUFF), "check", "--no-cache", "."], [str(RUFF), "format", "--no-cache", "--check", "."]):
        completed = subprocess.run(argv, cwd=project, capture_output=True, text=True, check=False)
        assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.e2e
def test_the_generated_tests_pass_against_this_sdk(rendered_custom: Rendered) -> None:
    """The golden replay and the per-transition tests, in this environment: the sample trainer states (templated
    JSON) must name each answer set's package, task and curriculum."""
    project, _answers = rendered_custom
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_replay.py"]
    completed = subprocess.run(
        [*argv, "tests/test_transitions.py"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert re.search(r"\b10 passed", completed.stdout), completed.stdout


def test_the_release_range_follows_semantic_versioning() -> None:
    assert release_range("0.1.0") == "curriculum-contract>=0.1,<0.2"
    assert release_range("0.12.3.dev1") == "curriculum-contract>=0.12,<0.13"
    assert release_range("1.4.2") == "curriculum-contract>=1.4,<2"
