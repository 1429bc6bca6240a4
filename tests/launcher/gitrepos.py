"""Real git repositories for the locate tests: a curriculum repo and a task repo pinning it as a submodule.

Identity and protocol settings go on each command line (``-c``), so the tests run on a machine with
no git configuration at all.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

_CONFIG = (
    "-c", "user.name=Curriculum Tests", "-c", "user.email=tests@example.invalid",
    "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", "-c", "commit.gpgsign=false",
)  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; return stdout; fail the test with git's stderr if it fails."""
    done = subprocess.run(["git", *_CONFIG, "-C", str(cwd), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {done.stderr}")
    return done.stdout.strip()


def write_project(directory: Path, name: str = "demo-curriculum", version: str = "0.2.0", lock: bool = True) -> Path:
    """A curriculum project's files: pyproject (with a ``curriculum`` script), a package, a lockfile."""
    directory.mkdir(parents=True, exist_ok=True)
    package = name.replace("-", "_")
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{version}"\nrequires-python = ">=3.11"\n'
        f'[project.scripts]\ncurriculum = "{package}:main"\n',
        encoding="utf-8",
    )
    (directory / "src" / package).mkdir(parents=True, exist_ok=True)
    (directory / "src" / package / "__init__.py").write_text("def main():\n    print('ran')\n", encoding="utf-8")
    if lock:
        (directory / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    return directory


def make_curriculum_repo(root: Path, name: str = "demo-curriculum") -> Path:
    """A committed curriculum repository (the upstream a task repo's submodule points to)."""
    repo = write_project(root / name, name)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "curriculum v0.2.0")
    return repo


def make_task_repo(root: Path, upstream: Path, sub_path: str = "curricula/demo") -> Path:
    """A task repo with ``upstream`` added as a submodule at ``sub_path``, committed."""
    task = root / "task-repo"
    task.mkdir()
    git(task, "init", "-q")
    (task / "README.md").write_text("task\n", encoding="utf-8")
    git(task, "add", "README.md")
    git(task, "commit", "-q", "-m", "task")
    git(task, "submodule", "add", "-q", str(upstream), sub_path)
    git(task, "commit", "-q", "-m", "pin the curriculum")
    return task
