"""How a comparison names the checkout it runs as it is on disk (``simulate --compare``'s B, ``whatif``'s
candidate): a real git repository in a temporary directory."""

import re
import subprocess
from pathlib import Path

import pytest

from curriculum_contract.launcher_adapter._versions import working_tree_label

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]


def test_the_label_gives_the_commit_and_whether_tracked_files_are_edited(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert working_tree_label(plain) == f"{plain} (not in a git repository)"  # no commit to name

    repo = tmp_path / "repo"
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    (repo / "curriculum.py").write_text("THRESHOLD = 0.8\n", encoding="utf-8")
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "first"], check=True)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    clean = working_tree_label(repo)
    assert clean == f"{repo} (working tree at {head.stdout.strip()[:10]})"
    assert re.fullmatch(r".* \(working tree at [0-9a-f]{10}\)", clean)

    (repo / "sim").mkdir()  # a simulation's --out inside the checkout changes nothing that runs
    (repo / "sim" / "run.json").write_text("{}", encoding="utf-8")
    assert working_tree_label(repo) == clean
    (repo / "curriculum.py").write_text("THRESHOLD = 0.95\n", encoding="utf-8")
    assert working_tree_label(repo) == f"{repo} (working tree at {head.stdout.strip()[:10]}, edited)"

    copy = repo / "copy"  # a copy of the curriculum not committed: not "at" any commit
    copy.mkdir()
    (copy / "curriculum.py").write_text("THRESHOLD = 0.9\n", encoding="utf-8")
    assert working_tree_label(copy) == f"{copy} (untracked, in the working tree at {head.stdout.strip()[:10]})"


def test_a_revision_outside_a_repository_says_there_is_no_repository(tmp_path: Path) -> None:
    from curriculum_contract.launcher_adapter import InvalidArgument
    from curriculum_contract.launcher_adapter._versions import export_revision

    with pytest.raises(InvalidArgument) as raised:
        export_revision(tmp_path, "HEAD~1", tmp_path / "export")
    assert str(raised.value) == (
        f"--compare 'HEAD~1': not a directory, and no git revision either: {tmp_path} is not in a git repository"
    )
    assert "not a git repository" in raised.value.details  # git's own words
    assert not (tmp_path / "export").exists()


def test_a_revision_that_cannot_be_locked_is_named_in_the_failure(tmp_path: Path) -> None:
    """uv's reason names only the temporary export: the failure says which revision it was."""
    from curriculum_contract.launcher_adapter import BootstrapFailed
    from curriculum_contract.launcher_adapter._versions import export_revision

    repo = tmp_path / "repo"
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    (repo / "pyproject.toml").write_text("[project\nname = broken\n", encoding="utf-8")  # not TOML
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "broken"], check=True)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    with pytest.raises(BootstrapFailed) as raised:
        export_revision(repo, "HEAD", tmp_path / "export")
    assert str(raised.value).startswith(
        f"--compare 'HEAD' ({head.stdout.strip()[:10]}) has no uv.lock, and locking it failed: `uv lock"
    ), str(raised.value)
