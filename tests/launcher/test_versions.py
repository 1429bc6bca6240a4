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
    with pytest.MonkeyPatch.context() as patch:  # ``--curriculum .``: a label that means something elsewhere
        patch.chdir(repo)
        assert working_tree_label(Path(".")) == clean

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


def test_a_revision_of_a_curriculum_in_a_subdirectory_keeps_its_sources_inside_the_repository(tmp_path: Path) -> None:
    """A curriculum in a subdirectory whose relative ``[tool.uv.sources]`` path names another directory of the
    repository (an SDK next to it) is exported in its place, with that directory at the same revision: it
    locks, and the other version's SDK is the revision's, not the working tree's."""
    from curriculum_contract.launcher_adapter._versions import export_revision

    repo = tmp_path / "repo"
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    sdk, curriculum, unrelated = repo / "sdk", repo / "curricula" / "one", repo / "data"
    for directory in (sdk, curriculum, unrelated):
        directory.mkdir(parents=True)
    (sdk / "pyproject.toml").write_text('[project]\nname = "tiny-sdk"\nversion = "1.0"\n', encoding="utf-8")
    (curriculum / "pyproject.toml").write_text(
        '[project]\nname = "one"\nversion = "0.1"\nrequires-python = ">=3.11"\ndependencies = ["tiny-sdk"]\n\n'
        '[tool.uv]\npackage = false\n\n[tool.uv.sources]\ntiny-sdk = { path = "../../sdk" }\n',
        encoding="utf-8",
    )
    (unrelated / "big.bin").write_bytes(b"\0" * 1024)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "first"], check=True)
    (sdk / "pyproject.toml").write_text('[project]\nname = "tiny-sdk"\nversion = "2.0"\n', encoding="utf-8")
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qam", "sdk 2.0"], check=True)

    exported, commit = export_revision(curriculum, "HEAD~1", tmp_path / "export")
    assert exported == tmp_path / "export" / "curricula" / "one"
    assert (tmp_path / "export" / "sdk" / "pyproject.toml").read_text(encoding="utf-8").endswith('"1.0"\n')
    assert not (tmp_path / "export" / "data").exists()  # only what the curriculum names
    lock = (exported / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "tiny-sdk"\nversion = "1.0"\nsource = { directory = "../../sdk" }' in lock
    assert len(commit) == 40


def test_a_revision_of_a_curriculum_at_the_top_of_its_repository_is_its_whole_tree(tmp_path: Path) -> None:
    from curriculum_contract.launcher_adapter._versions import export_revision

    repo = tmp_path / "repo"
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    (repo / "src").mkdir()
    (repo / "src" / "stages.py").write_text("THRESHOLD = 0.8\n", encoding="utf-8")
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "first"], check=True)
    (repo / "src" / "stages.py").write_text("THRESHOLD = 0.9\n", encoding="utf-8")  # edited, not committed

    exported, _ = export_revision(repo, "HEAD", tmp_path / "export")
    assert exported == tmp_path / "export"
    assert (exported / "src" / "stages.py").read_text(encoding="utf-8") == "THRESHOLD = 0.8\n"


def test_a_directory_of_simulation_results_is_refused_with_where_it_belongs(tmp_path: Path) -> None:
    from curriculum_contract.launcher_adapter import InvalidArgument
    from curriculum_contract.launcher_adapter._versions import other_version

    results = tmp_path / "sim"
    results.mkdir()
    (results / "run.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InvalidArgument) as raised:
        other_version(tmp_path, str(results), tmp_path / "scratch", option="--compare")
    assert str(raised.value) == (
        f"--compare {results}: a directory of simulation results (run.json), not a curriculum: here --compare "
        "takes another checkout or a git revision; the curriculum's own `curriculum simulate --compare DIR` "
        "compares with earlier results"
    )
    checkout = tmp_path / "checkout"  # a curriculum that keeps a run.json of its own is a checkout still
    checkout.mkdir()
    (checkout / "run.json").write_text("{}", encoding="utf-8")
    (checkout / "pyproject.toml").write_text("", encoding="utf-8")
    assert other_version(tmp_path, str(checkout), tmp_path / "scratch", option="--compare")[0] == checkout
