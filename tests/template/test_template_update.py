"""Template versions: the cache ``update`` reaches, and updates that keep the author's edits."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from template_helpers import ROOT, commit_as_tester, git, render, run_checked, tagged_template_repo, template_copy

from curriculum_contract import CommandExit
from curriculum_contract._scaffold_cli import template_cache, update
from curriculum_contract.scaffold import (
    DestinationError,
    TemplateError,
    TemplateSource,
    cached_versions,
    register_template,
    update_curriculum,
)
from curriculum_contract.scaffold._source import portable_url, template_root
from curriculum_contract.sdk.testing import assert_one_document

CHANGELOG_NOTE = "- A line the template's next version adds."
GITIGNORE_NOTE = "# added by the next template version"


def next_version(template: Path) -> Path:
    """Change a template copy as a new template version would: a changed file and a line appended to another."""
    changelog = template / "template" / "CHANGELOG.md.jinja"
    changelog.write_text(changelog.read_text(encoding="utf-8") + CHANGELOG_NOTE + "\n", encoding="utf-8")
    gitignore = template / "template" / ".gitignore"
    gitignore.write_text(gitignore.read_text(encoding="utf-8") + f"\n{GITIGNORE_NOTE}\n*.log\n", encoding="utf-8")
    return template


def edit_threshold(project: Path, package: str = "my_2afc_curriculum") -> Path:
    """The author's own edit: a transition's threshold, committed."""
    curriculum = project / "src" / package / "curriculum.py"
    text = curriculum.read_text(encoding="utf-8")
    assert 'metric("psychometric_threshold") < 19' in text
    curriculum.write_text(text.replace('("psychometric_threshold") < 19', '("psychometric_threshold") < 22'))
    commit_as_tester(project, "Relax the threshold")
    return curriculum


def answers(project: Path) -> dict[str, str]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def test_registering_is_idempotent_and_versions_changes(private_cache: Path, tmp_path: Path) -> None:
    first = register_template(template_root(), "0.1.0")
    assert first == register_template(template_root(), "0.1.0")
    assert first.ref == "v0.1.0" and first.path == private_cache
    changed = next_version(template_copy(tmp_path / "changed"))
    assert register_template(changed, "0.1.0").ref == "v0.1.0+1"  # a dev checkout changed without a version bump
    assert register_template(changed, "0.1.0").ref == "v0.1.0+1"
    assert register_template(changed, "0.2.0").ref == "v0.2.0"
    assert cached_versions() == ["v0.1.0", "v0.1.0+1", "v0.2.0"]
    assert git(private_cache, "status", "--porcelain") == ""  # a clean work tree at the newest version
    assert CHANGELOG_NOTE in (private_cache / "template" / "CHANGELOG.md.jinja").read_text(encoding="utf-8")


def test_the_cache_is_recorded_portably_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = tmp_path / ".cache" / "curriculum-contract" / "template"
    assert portable_url(cache) == "~/.cache/curriculum-contract/template"
    assert portable_url(Path("/opt/cache")) == "/opt/cache"


@pytest.mark.e2e
def test_update_from_a_tagged_template_repository_keeps_the_edit(tmp_path: Path) -> None:
    """Template version N as a tagged git copy; generate; edit; version N+1; update; both are there."""
    template = tagged_template_repo(tmp_path / "template", "v1.0.0")
    project = render(tmp_path / "repo", template=TemplateSource(str(template)))
    assert answers(project)["_commit"] == "v1.0.0"
    curriculum = edit_threshold(project)
    next_version(template)
    commit_as_tester(template, "template v1.1.0")
    git(template, "tag", "v1.1.0")

    result = update_curriculum(project)

    assert (result.from_version, result.to_version) == ("v1.0.0", "v1.1.0")
    assert result.conflicts == []
    assert 'metric("psychometric_threshold") < 22' in curriculum.read_text(encoding="utf-8")
    assert CHANGELOG_NOTE in (project / "CHANGELOG.md").read_text(encoding="utf-8")
    assert GITIGNORE_NOTE in (project / ".gitignore").read_text(encoding="utf-8")
    assert answers(project)["_commit"] == "v1.1.0"
    assert set(result.changed) == {".copier-answers.yml", ".gitignore", "CHANGELOG.md"}


@pytest.mark.e2e
def test_update_through_the_cache_to_the_next_package_version(private_cache: Path, tmp_path: Path) -> None:
    """What `new` then `update` do after upgrading curriculum-contract: both versions live in the cache."""
    project = render(tmp_path / "repo")  # the installed template, registered in the cache
    generated_from = answers(project)["_commit"]
    assert Path(answers(project)["_src_path"]).expanduser() == private_cache
    curriculum = edit_threshold(project)
    upgraded = register_template(next_version(template_copy(tmp_path / "next")), "99.0.0")

    result = update_curriculum(project, template=upgraded)

    assert (result.from_version, result.to_version) == (generated_from, "v99.0.0")
    assert 'metric("psychometric_threshold") < 22' in curriculum.read_text(encoding="utf-8")
    assert CHANGELOG_NOTE in (project / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.mark.e2e
def test_plain_copier_update_keeps_the_edit(private_cache: Path, tmp_path: Path) -> None:
    """`copier update` run by hand in a repository made by `new` reaches the cache and merges."""
    project = render(tmp_path / "repo")
    curriculum = edit_threshold(project)
    register_template(next_version(template_copy(tmp_path / "next")), "99.0.0")
    copier = Path(sys.executable).with_name("copier")
    completed = subprocess.run(
        [str(copier), "update", "--defaults", "--quiet"], cwd=project, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert answers(project)["_commit"] == "v99.0.0"
    assert 'metric("psychometric_threshold") < 22' in curriculum.read_text(encoding="utf-8")
    assert CHANGELOG_NOTE in (project / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.mark.e2e
def test_the_update_command_reports_the_versions_and_files(tmp_path: Path) -> None:
    template = tagged_template_repo(tmp_path / "template", "v1.0.0")
    project = render(tmp_path / "repo", template=TemplateSource(str(template)))
    next_version(template)
    commit_as_tester(template, "template v1.1.0")
    git(template, "tag", "v1.1.0")
    result = CliRunner().invoke(update, [str(project)])
    assert result.exit_code == 0, result.stderr
    assert f"Updated {project} from template v1.0.0 to v1.1.0" in result.stdout
    assert "  CHANGELOG.md" in result.stdout
    result = CliRunner().invoke(update, [str(project)])
    assert result.exit_code == 2 and "uncommitted changes" in result.stderr  # the update is left for review


def test_the_template_cache_command_registers_this_version(private_cache: Path) -> None:
    result = CliRunner().invoke(template_cache, [])
    assert result.exit_code == 0, result.stderr
    assert str(private_cache) in result.stdout
    assert cached_versions() and all(f"  {tag}" in result.stdout for tag in cached_versions())


@pytest.mark.e2e
def test_a_conflicting_edit_is_reported(tmp_path: Path) -> None:
    template = tagged_template_repo(tmp_path / "template", "v1.0.0")
    project = render(tmp_path / "repo", template=TemplateSource(str(template)))
    edit_threshold(project)
    template_curriculum = template / "template" / "src" / "{{package_name}}" / "curriculum.py.jinja"
    text = template_curriculum.read_text(encoding="utf-8")
    template_curriculum.write_text(text.replace('("psychometric_threshold") < 19', '("psychometric_threshold") < 17'))
    commit_as_tester(template, "template v1.1.0")
    git(template, "tag", "v1.1.0")

    result = CliRunner().invoke(update, [str(project)])

    assert result.exit_code == CommandExit.CONFLICTS
    assert "CONFLICT src/my_2afc_curriculum/curriculum.py" in result.stdout
    assert result.stderr.startswith("curriculum-contract: error: 1 file(s) have conflicts to resolve")


@pytest.mark.e2e
def test_update_refuses_uncommitted_changes(tmp_path: Path) -> None:
    project = render(tmp_path / "repo")
    (project / "README.md").write_text("changed", encoding="utf-8")
    with pytest.raises(DestinationError, match=r"has uncommitted changes \(README.md\)"):
        update_curriculum(project)


def test_update_refuses_a_directory_that_was_not_generated(tmp_path: Path) -> None:
    result = CliRunner().invoke(update, [str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path} was not generated from the template" in result.stderr.splitlines()[0]


@pytest.mark.e2e
def test_update_says_how_to_get_a_version_missing_from_the_cache(private_cache: Path, tmp_path: Path) -> None:
    older = register_template(template_copy(tmp_path / "older"), "0.0.9")
    project = render(tmp_path / "repo", template=older)
    git(private_cache, "tag", "-d", "v0.0.9")  # as on a machine where that version was never installed
    with pytest.raises(TemplateError, match=r"v0.0.9 .* not in the template cache .*==0\.0\.9"):
        update_curriculum(project)


def test_the_installed_template_is_found() -> None:
    root = template_root()
    assert root in (ROOT, Path(__import__("curriculum_contract").__file__).parent / "_template")
    assert (root / "copier.yml").is_file()


OLD_SCRIPTS = """[project.scripts]
# The program a launcher runs: `curriculum run --path <session data directory>`.
curriculum = "{{ package_name }}.curriculum:main"
"""
OLD_MAIN = """main = build_cli(SPEC)

if __name__ == "__main__":
    main()
"""


def as_template_0_1_0(template: Path) -> Path:
    """The template as curriculum-contract 0.1.0 shipped it: the console script was the package's own
    ``main = build_cli(SPEC)`` (imported before any stdout guard), with no spec entry point."""
    pyproject = template / "template" / "pyproject.toml.jinja"
    text = pyproject.read_text(encoding="utf-8")
    start, end = text.index("[project.scripts]"), text.index("[dependency-groups]")
    assert '"curriculum_contract.specs"' in text[start:end]  # the current template declares the entry point
    pyproject.write_text(text[:start] + OLD_SCRIPTS + "\n" + text[end:], encoding="utf-8")
    module = template / "template" / "src" / "{{package_name}}" / "curriculum.py.jinja"
    text = module.read_text(encoding="utf-8")
    first_paragraph_end = text.index("\n\n") + 2
    text = (
        '"""The curriculum: the stages joined by transitions, its trainer, and the ``curriculum`` command.\n\n'
        + (text[text.index("\n\n", first_paragraph_end) + 2 :])
    )
    text = text.replace(
        "import Criteria, CurriculumSpec, metric\n", "import Criteria, CurriculumSpec, build_cli, metric\n"
    )
    module.write_text(text + OLD_MAIN, encoding="utf-8")
    changelog = template / "template" / "CHANGELOG.md.jinja"
    text = changelog.read_text(encoding="utf-8")
    changelog.write_text(text[: text.index("## Unreleased")] + text[text.index("## 0.1.0") :], encoding="utf-8")
    return template


@pytest.mark.e2e
def test_update_moves_a_0_1_0_repository_to_the_sdk_program(private_cache: Path, tmp_path: Path) -> None:
    """Generated by template 0.1.0, edited, updated to the installed template: the console script is the SDK's,
    the spec is an entry point, the edit stays, and the repository's own suite passes in its own environment."""
    from curriculum_contract.scaffold._process import uv_executable

    old = register_template(as_template_0_1_0(template_copy(tmp_path / "old")), "0.1.0")
    project = render(tmp_path / "repo", template=old)
    curriculum = project / "src" / "my_2afc_curriculum" / "curriculum.py"
    before = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert before["scripts"] == {"curriculum": "my_2afc_curriculum.curriculum:main"}
    assert "entry-points" not in before and "main = build_cli(SPEC)" in curriculum.read_text(encoding="utf-8")
    text = curriculum.read_text(encoding="utf-8")
    curriculum.write_text(text.replace("\nto_all_contrasts = ", "\n# Lab note: reviewed.\nto_all_contrasts = "))
    commit_as_tester(project, "A note of the lab's")

    result = update_curriculum(project)  # to the installed template: the next tag of this version in the cache

    assert (result.from_version, result.to_version) == ("v0.1.0", register_template().ref)
    assert result.conflicts == []
    after = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert after["scripts"] == {"curriculum": "curriculum_contract.sdk:main"}
    assert after["entry-points"] == {
        "curriculum_contract.specs": {"my-2afc-curriculum": "my_2afc_curriculum.curriculum:SPEC"}
    }
    module = curriculum.read_text(encoding="utf-8")
    assert "# Lab note: reviewed." in module and "build_cli" not in module and "\nmain" not in module
    assert "`curriculum_contract.sdk:main`" in (project / "CHANGELOG.md").read_text(encoding="utf-8")

    uv = uv_executable()
    run_checked([uv, "sync", "--quiet", "--reinstall-package", "curriculum-contract"], cwd=project)
    suite = subprocess.run(
        [uv, "run", "--frozen", "-q", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout
    session = "tests/data/behavior_sim-001_2024-01-08_09-00-00"
    completed = subprocess.run(
        [uv, "run", "--frozen", "-q", "curriculum", "run", "--path", session],
        cwd=project, capture_output=True, check=False,
    )  # fmt: skip
    assert assert_one_document(completed).curriculum_name == "my-2afc-curriculum"
