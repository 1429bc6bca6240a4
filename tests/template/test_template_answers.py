"""Bad input to ``new``: a clear one-line error, a non-zero exit, and nothing left behind."""

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from template_helpers import ROOT, git, render

from curriculum_contract._scaffold_cli import new
from curriculum_contract.scaffold import DestinationError, InvalidAnswer, default_sdk_requirement, new_curriculum

INVALID = [
    ("curriculum_name", "My Curriculum", "must be lowercase letters and digits"),
    ("curriculum_name", "mouse--2afc", "must be lowercase letters and digits"),
    ("curriculum_name", "a" * 41, "longer than 40 characters"),
    ("curriculum_name", "curriculum-contract", "is reserved"),
    ("curriculum_name", "curriculum", "gives a reserved package name"),
    ("curriculum_name", "json", "would shadow the Python standard library"),
    ("curriculum_name", "class", "is a Python keyword"),
    ("package_name", "os", "would shadow the Python standard library"),
    ("package_name", "aind_behavior_curriculum", "is reserved"),
    ("package_name", "sample_sessions", "is reserved"),
    ("package_name", "tests", "is reserved"),
    ("package_name", "Mouse", "not a lowercase Python identifier"),
    ("package_name", "2afc", "not a lowercase Python identifier"),
    ("task_name", "two_afc", "must be PascalCase"),
    ("task_name", "ABC", "must be PascalCase"),
    ("author_email", "not-an-address", "is not an e-mail address"),
    ("author_name", 'The "Lab"', "without backslashes or double quotes"),
    ("description", "two\nlines", "must be one line"),
    ("license", "GPL-3.0", "GPL-3.0"),
    ("min_python", "3.9", "3.9"),
]


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


@pytest.mark.parametrize(("question", "value", "reason"), INVALID, ids=[f"{q}={v[:12]!r}" for q, v, _ in INVALID])
def test_an_invalid_answer_is_refused_and_nothing_is_created(
    tmp_path: Path, question: str, value: str, reason: str
) -> None:
    with pytest.raises(InvalidAnswer) as raised:
        render(tmp_path / "repo", {question: value})
    message = str(raised.value)
    assert "\n" not in message
    assert question in message and reason in message, message
    assert leftovers(tmp_path) == []


def test_the_reserved_names_cover_this_pythons_standard_library() -> None:
    text = (ROOT / "template" / "_copier" / "validate.jinja").read_text(encoding="utf-8")
    block = re.search(r"set stdlib_names = \[(.*?)\]", text, re.DOTALL)[1]
    listed = set(block.replace('"', "").replace(",", " ").split())
    public = {name.lower() for name in sys.stdlib_module_names if not name.startswith("_")}
    assert public <= listed, f"add to template/_copier/validate.jinja: {sorted(public - listed)}"


def test_plain_copier_refuses_a_reserved_name_too(tmp_path: Path) -> None:
    """copier.yml validates by itself, so `copier copy` without our CLI is as strict."""
    import copier

    plain = tmp_path / "template-copy"
    plain.mkdir()
    shutil.copy2(ROOT / "copier.yml", plain)
    shutil.copytree(ROOT / "template", plain / "template")
    with pytest.raises(ValueError, match="would shadow the Python standard library"):
        copier.run_copy(str(plain), tmp_path / "out", data={"package_name": "json"}, defaults=True, quiet=True)
    with pytest.raises(ValueError, match="gives a reserved package name"):
        copier.run_copy(str(plain), tmp_path / "out", data={"curriculum_name": "tests"}, defaults=True, quiet=True)


@pytest.mark.e2e
def test_plain_copier_copy_of_this_repository_works(tmp_path: Path) -> None:
    """copier.yml at the repository root with `_subdirectory: template`: `copier copy <this repo> DEST`."""
    import copier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # copier warns that a checkout with uncommitted changes is "dirty"
        copier.run_copy(str(ROOT), tmp_path / "out", data={"sdk_requirement": str(ROOT)}, defaults=True, quiet=True)
    assert (tmp_path / "out" / "src" / "my_2afc_curriculum" / "curriculum.py").is_file()
    assert (tmp_path / "out" / "tests" / "data" / "replay.json").is_file()


def test_an_unknown_data_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidAnswer, match=r"unknown template question\(s\) curiculum_name \(questions: curric"):
        render(tmp_path / "repo", {"curiculum_name": "mouse-2afc"})
    with pytest.raises(InvalidAnswer, match="unknown template question"):
        render(tmp_path / "repo", {"sdk_path": "/somewhere"})  # computed, not a question
    assert leftovers(tmp_path) == []


def test_a_non_empty_destination_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    destination = tmp_path / "repo"
    destination.mkdir()
    (destination / "notes.txt").write_text("mine")
    with pytest.raises(DestinationError, match="is not empty"):
        render(destination)
    assert leftovers(destination) == ["notes.txt"] and leftovers(tmp_path) == ["repo"]


def test_a_file_as_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").write_text("a file")
    with pytest.raises(DestinationError, match="is a file"):
        render(tmp_path / "repo")


@pytest.mark.e2e
def test_an_empty_destination_is_used(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    project = render(tmp_path / "repo")
    assert (project / ".copier-answers.yml").is_file() and leftovers(tmp_path) == ["repo"]


@pytest.mark.e2e
def test_missing_parents_are_created_and_removed_again_on_failure(tmp_path: Path) -> None:
    with pytest.raises(InvalidAnswer):
        render(tmp_path / "a" / "b" / "repo", {"package_name": "json"})
    assert leftovers(tmp_path) == []
    project = render(tmp_path / "a" / "b" / "repo")
    assert project.is_dir()


def test_an_empty_destination_stays_after_a_failure(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    with pytest.raises(InvalidAnswer):
        render(tmp_path / "repo", {"task_name": "lower"})
    assert leftovers(tmp_path) == ["repo"] and leftovers(tmp_path / "repo") == []


def test_a_missing_sdk_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidAnswer, match="no checkout or wheel at"):
        render(tmp_path / "repo", sdk_requirement=str(tmp_path / "nowhere"))
    with pytest.raises(InvalidAnswer, match="neither a curriculum-contract requirement nor a path"):
        render(tmp_path / "repo", sdk_requirement="numpy>=1")
    with pytest.raises(InvalidAnswer, match="neither a curriculum-contract requirement nor a path"):
        new_curriculum(tmp_path / "repo", {"sdk_requirement": "numpy>=1"}, defaults=True)
    assert leftovers(tmp_path) == []


@pytest.mark.e2e
def test_a_relative_sdk_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT.parent)
    project = render(tmp_path / "repo", sdk_requirement=f"./{ROOT.name}")
    assert f'path = "{ROOT.as_posix()}"' in (project / "pyproject.toml").read_text(encoding="utf-8")


def test_the_default_sdk_requirement_follows_this_editable_install() -> None:
    """This checkout is installed in editable mode, so a generated repo depends on it, not on a release."""
    assert Path(default_sdk_requirement()) == ROOT


def test_the_cli_reports_one_line_and_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(new, [str(tmp_path / "repo"), "--defaults", "-d", "package_name=json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("curriculum-contract: error: invalid answer to package_name:"), result.stderr
    assert leftovers(tmp_path) == []
    result = CliRunner().invoke(new, [str(tmp_path / "repo"), "--defaults", "-d", "no-equals-sign"])
    assert result.exit_code == 2 and "must look like KEY=VALUE" in result.stderr


@pytest.mark.e2e
def test_the_cli_creates_a_repository(tmp_path: Path) -> None:
    argv = [str(tmp_path / "repo"), "--defaults", "-d", "curriculum_name=mouse-2afc", "--sdk-requirement", str(ROOT)]
    result = CliRunner().invoke(new, argv)
    assert result.exit_code == 0, result.stderr
    assert "curriculum mouse-2afc, package mouse_2afc" in result.stdout
    assert (tmp_path / "repo" / "src" / "mouse_2afc" / "curriculum.py").is_file()
    mask = os.umask(0o022)
    os.umask(mask)
    # built in a hidden directory and renamed: as readable as a directory made in place (the lab, the launcher)
    assert oct((tmp_path / "repo").stat().st_mode & 0o777) == oct(0o777 & ~mask)
    # without --lock there is no uv.lock yet: the next step says a launch and simulate need one committed
    assert not (tmp_path / "repo" / "uv.lock").exists()
    assert result.stdout.splitlines()[-1].endswith("then commit uv.lock (launch and simulate need it)")


@pytest.mark.e2e
def test_without_a_git_identity_the_author_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for variable in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(variable, raising=False)
    check = subprocess.run(["git", "config", "--get", "user.name"], cwd=tmp_path, capture_output=True, check=False)
    assert check.returncode == 1, "the test environment still has a git identity"
    project = render(tmp_path / "repo", {"author_name": "Ada Trainer", "author_email": "ada@lab.example.org"})
    assert git(project, "log", "--format=%an <%ae>").strip() == "Ada Trainer <ada@lab.example.org>"
