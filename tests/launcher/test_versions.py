"""How a comparison names the checkout it runs as it is on disk (``simulate --compare``'s B, ``whatif``'s
candidate): a real git repository in a temporary directory."""

import re
import subprocess
from pathlib import Path

from curriculum_contract.launcher_adapter._versions import working_tree_label

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]


def test_the_label_gives_the_commit_and_whether_tracked_files_are_edited(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert working_tree_label(plain) == f"{plain} (working tree)"  # not a repository: no commit to name

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
