"""locate_curriculum against real git repositories and submodules made in a temp dir.

The last tests give it a fake git (``git=``) for what a real repository cannot easily be made to say:
a conflicted pin, an unreadable status, a repository git refuses, no git at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runner import FakeGit
from gitrepos import git, make_curriculum_repo, make_task_repo, write_project

from curriculum_contract.launcher_adapter._errors import CurriculumNotFound, SubmoduleNotReady
from curriculum_contract.launcher_adapter._git import GitResult
from curriculum_contract.launcher_adapter._locate import locate_curriculum


@pytest.fixture
def task_with_submodule(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(upstream curriculum repo, task repo, the submodule's directory inside it)."""
    upstream = make_curriculum_repo(tmp_path / "upstream")
    task = make_task_repo(tmp_path, upstream)
    return upstream, task, task / "curricula" / "demo"


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "curricula" / "nope"
    with pytest.raises(CurriculumNotFound, match=f"curriculum directory {missing} not found: does not exist") as caught:
        locate_curriculum(missing)
    assert isinstance(caught.value, FileNotFoundError)


def test_directory_without_pyproject(tmp_path: Path) -> None:
    with pytest.raises(CurriculumNotFound, match=rf"curriculum directory {tmp_path} cannot be used: .*pyproject\.toml"):
        locate_curriculum(tmp_path)


def test_missing_lockfile_says_to_run_uv_lock(tmp_path: Path) -> None:
    project = write_project(tmp_path / "c", lock=False)
    reason = rf"{project} cannot be used: it has no uv\.lock: run `uv lock` in {project}"
    with pytest.raises(CurriculumNotFound, match=reason):
        locate_curriculum(project)


def test_clean_initialised_submodule_is_pinned(task_with_submodule: tuple[Path, Path, Path]) -> None:
    upstream, task, sub = task_with_submodule
    location = locate_curriculum(sub)
    recorded = git(task, "ls-files", "-s", "curricula/demo").split()[1]
    p = location.provenance
    assert p.kind == "submodule"
    assert p.commit == recorded == git(upstream, "rev-parse", "HEAD")
    assert p.remote_url == str(upstream)
    assert (p.dirty, p.dirty_allowed) == (False, False)
    assert p.version == "0.2.0"
    assert p.path == str(sub.resolve())
    assert location.project_dir == location.env_root == sub.resolve()
    assert location.lock_file == sub.resolve() / "uv.lock"
    assert location.package_name == "demo-curriculum"
    assert p.as_dict()["kind"] == "submodule"


def test_runtime_debris_does_not_make_a_submodule_dirty(task_with_submodule: tuple[Path, Path, Path]) -> None:
    _, _, sub = task_with_submodule
    cache = sub / "src" / "demo_curriculum" / "__pycache__"
    cache.mkdir()
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    assert locate_curriculum(sub).provenance.dirty is False


def test_uninitialised_submodule(tmp_path: Path, task_with_submodule: tuple[Path, Path, Path]) -> None:
    _, task, _ = task_with_submodule
    clone = tmp_path / "rig-checkout"
    git(tmp_path, "clone", "-q", str(task), str(clone))  # no --recurse-submodules: an empty directory
    with pytest.raises(SubmoduleNotReady, match=r"not initialised: run `git submodule update --init curricula/demo`"):
        locate_curriculum(clone / "curricula" / "demo")


def test_dirty_submodule_is_refused_unless_allowed(task_with_submodule: tuple[Path, Path, Path]) -> None:
    _, _, sub = task_with_submodule
    (sub / "src" / "demo_curriculum" / "__init__.py").write_text("def main():\n    print('edited')\n")
    with pytest.raises(SubmoduleNotReady, match=r"uncommitted changes \(src/demo_curriculum/__init__.py\)"):
        locate_curriculum(sub)
    p = locate_curriculum(sub, allow_dirty=True).provenance
    assert (p.kind, p.dirty, p.dirty_allowed) == ("submodule", True, True)


def test_untracked_source_file_makes_a_submodule_dirty(task_with_submodule: tuple[Path, Path, Path]) -> None:
    _, _, sub = task_with_submodule
    (sub / "src" / "demo_curriculum" / "extra_rules.py").write_text("X = 1\n")
    with pytest.raises(SubmoduleNotReady, match=r"extra_rules\.py"):
        locate_curriculum(sub)


def test_submodule_at_another_commit_names_both(task_with_submodule: tuple[Path, Path, Path]) -> None:
    _, task, sub = task_with_submodule
    recorded = git(task, "ls-files", "-s", "curricula/demo").split()[1]
    (sub / "CHANGELOG.md").write_text("next\n")
    git(sub, "add", "CHANGELOG.md")
    git(sub, "commit", "-q", "-m", "unpinned work")
    head = git(sub, "rev-parse", "HEAD")
    with pytest.raises(SubmoduleNotReady, match=rf"checked out at {head[:12]} but .* records {recorded[:12]}"):
        locate_curriculum(sub)


def test_plain_directory_outside_git(tmp_path: Path) -> None:
    project = write_project(tmp_path / "lab-curriculum")
    p = locate_curriculum(project).provenance
    assert (p.kind, p.commit, p.remote_url, p.dirty) == ("directory", None, None, False)
    assert p.version == "0.2.0"


def test_directory_tracked_by_the_task_repo(tmp_path: Path) -> None:
    task = tmp_path / "task"
    project = write_project(task / "curricula" / "inline")
    git(task, "init", "-q")
    git(task, "add", ".")
    git(task, "commit", "-q", "-m", "inline curriculum")
    git(task, "remote", "add", "origin", "https://example.invalid/lab/task.git")
    p = locate_curriculum(project).provenance
    assert p.kind == "directory"
    assert p.commit == git(task, "rev-parse", "HEAD")
    assert p.remote_url == "https://example.invalid/lab/task.git"
    assert p.dirty is False
    (task / "README.md").write_text("a change elsewhere in the task repo\n")
    assert locate_curriculum(project).provenance.dirty is False  # only the curriculum's own files count
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + "\n")
    p = locate_curriculum(project).provenance  # recorded, not refused: it is the lab's own tree
    assert (p.dirty, p.dirty_allowed) == (True, False)


def test_standalone_clone_is_a_directory_with_its_commit(tmp_path: Path) -> None:
    upstream = make_curriculum_repo(tmp_path)
    p = locate_curriculum(upstream).provenance
    assert p.kind == "directory"
    assert p.commit == git(upstream, "rev-parse", "HEAD")


def _workspace(root: Path, members: str, exclude: str = "[]", lock: bool = True) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "task"\nversion = "1.0.0"\n[tool.uv.workspace]\nmembers = {members}\nexclude = {exclude}\n',
        encoding="utf-8",
    )
    if lock:
        (root / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    return root


def test_uv_workspace_member_shares_the_root_lock(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "task", '["curricula/*"]')
    member = write_project(root / "curricula" / "foraging", "foraging-curriculum", "1.4.0", lock=False)
    location = locate_curriculum(member)
    assert location.provenance.kind == "workspace_member"
    assert location.project_dir == member.resolve()
    assert location.env_root == root.resolve()
    assert location.lock_file == root.resolve() / "uv.lock"
    assert location.package_name == "foraging-curriculum"
    assert location.provenance.version == "1.4.0"
    assert location.is_workspace_member


def test_workspace_without_lock_says_where_to_lock(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "task", '["curricula/*"]', lock=False)
    member = write_project(root / "curricula" / "foraging", lock=False)
    with pytest.raises(CurriculumNotFound, match=rf"run `uv lock` in {root.resolve()}"):
        locate_curriculum(member)


def test_excluded_project_is_standalone(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "task", '["curricula/*"]', exclude='["curricula/legacy"]')
    legacy = write_project(root / "curricula" / "legacy")
    location = locate_curriculum(legacy)
    assert location.provenance.kind == "directory"
    assert location.env_root == legacy.resolve()
    assert not location.is_workspace_member


def test_submodule_that_is_a_workspace_member_is_still_pinned(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream" / "demo-curriculum"
    write_project(upstream, lock=False)
    git(upstream, "init", "-q")
    git(upstream, "add", ".")
    git(upstream, "commit", "-q", "-m", "member curriculum")
    task = make_task_repo(tmp_path, upstream)
    (task / "pyproject.toml").write_text(
        '[project]\nname = "task"\nversion = "1.0.0"\n[tool.uv.workspace]\nmembers = ["curricula/*"]\n'
    )
    (task / "uv.lock").write_text("version = 1\n")
    sub = task / "curricula" / "demo"
    location = locate_curriculum(sub)
    assert location.provenance.kind == "submodule"
    assert location.env_root == task.resolve()
    (sub / "pyproject.toml").write_text((sub / "pyproject.toml").read_text() + "\n")
    with pytest.raises(SubmoduleNotReady, match="uncommitted changes"):
        locate_curriculum(sub)


# -- a fake git -------------------------------------------------------------------------------------------------

HEAD = "1" * 40
PINNED = "2" * 40


def submodule_answers(task: Path, sub: Path, *, pin: str, status: str | GitResult = "") -> dict:
    """What git says about ``sub``, an initialised submodule of ``task`` checked out at HEAD."""
    return {
        ("rev-parse", "--show-toplevel", "--show-superproject-working-tree"): f"{sub}\n{task}\n",
        ("rev-parse", "--verify", "-q", "HEAD"): f"{HEAD}\n",
        ("ls-files", "-s", "--", "curricula/demo"): pin,
        ("status", "--porcelain", "--untracked-files=all"): status,
    }


@pytest.fixture
def fake_checkout(tmp_path: Path) -> tuple[Path, Path]:
    """(task repo, curriculum project inside it): files only; what git says comes from a FakeGit."""
    task = tmp_path / "task"
    (task / ".git").mkdir(parents=True)
    return task.resolve(), write_project(task / "curricula" / "demo").resolve()


def test_a_fake_git_pins_a_clean_submodule(fake_checkout: tuple[Path, Path]) -> None:
    task, sub = fake_checkout
    fake = FakeGit(submodule_answers(task, sub, pin=f"160000 {HEAD} 0\tcurricula/demo\n"))
    p = locate_curriculum(sub, git=fake).provenance
    assert (p.kind, p.commit, p.remote_url, p.dirty) == ("submodule", HEAD, None, False)
    assert {cwd for _, cwd in fake.calls} == {sub, task}


def test_a_conflicted_pin_is_refused(fake_checkout: tuple[Path, Path]) -> None:
    task, sub = fake_checkout
    pin = "".join(f"160000 {c * 40} {stage}\tcurricula/demo\n" for c, stage in (("a", 1), ("b", 2), ("c", 3)))
    with pytest.raises(SubmoduleNotReady, match=rf"curriculum submodule curricula/demo of {task} has merge conflicts"):
        locate_curriculum(sub, git=FakeGit(submodule_answers(task, sub, pin=pin)))


def test_a_pin_to_another_commit_is_refused(fake_checkout: tuple[Path, Path]) -> None:
    task, sub = fake_checkout
    fake = FakeGit(submodule_answers(task, sub, pin=f"160000 {PINNED} 0\tcurricula/demo\n"))
    with pytest.raises(SubmoduleNotReady, match=f"checked out at {HEAD[:12]} but {task} records {PINNED[:12]}"):
        locate_curriculum(sub, git=fake)


def test_a_status_git_cannot_give_counts_as_dirty(fake_checkout: tuple[Path, Path]) -> None:
    task, sub = fake_checkout
    status = GitResult(("status",), 128, "", "fatal: index file corrupt\n")
    fake = FakeGit(submodule_answers(task, sub, pin=f"160000 {HEAD} 0\tcurricula/demo\n", status=status))
    with pytest.raises(SubmoduleNotReady, match=r"uncommitted changes \(\(git status failed\)\)"):
        locate_curriculum(sub, git=fake)
    assert locate_curriculum(sub, allow_dirty=True, git=fake).provenance.dirty


def test_a_repository_git_refuses_to_read_is_named_with_git_s_reason(fake_checkout: tuple[Path, Path]) -> None:
    _, sub = fake_checkout
    refusal = GitResult((), 128, "", "fatal: detected dubious ownership in repository at '/x'\n")
    fake = FakeGit({("rev-parse", "--show-toplevel", "--show-superproject-working-tree"): refusal})
    with pytest.raises(
        SubmoduleNotReady, match=f"git cannot read the repository holding {sub}: fatal: detected dubious"
    ):
        locate_curriculum(sub, git=fake)


def test_without_git_a_checkout_is_refused_and_a_plain_directory_is_not(
    tmp_path: Path, fake_checkout: tuple[Path, Path]
) -> None:
    _, sub = fake_checkout
    with pytest.raises(SubmoduleNotReady, match=rf"git is not installed \(on PATH\): needed to check {sub}"):
        locate_curriculum(sub, git=FakeGit(installed=False))
    plain = write_project(tmp_path / "lab-curriculum")
    p = locate_curriculum(plain, git=FakeGit(installed=False)).provenance
    assert (p.kind, p.commit, p.dirty) == ("directory", None, False)
