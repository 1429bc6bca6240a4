"""Helpers of the launcher adapter's tests: sessions, fake and tiny curriculum projects (importable by
name, unlike conftest.py, whose module name several test folders share)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
PROJECTS = HERE / "projects"
REPO_ROOT = HERE.parents[1]

from fake_curriculum import write_program  # noqa: E402

from curriculum_contract.sdk.testing import fingerprint as tree_digest  # noqa: E402

#: How long a test waits for something that must happen (a pid file, a journal): a bound, not an expectation.
WITHIN_S = 60.0


def wait_until(predicate: Callable[[], object], within_s: float = WITHIN_S) -> bool:
    """Poll ``predicate`` until it holds or ``within_s`` passed (a loaded machine is slower, never different)."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def make_session(root: Path, name: str, n_trials: int = 10, *, session_json: dict | None = None) -> Path:
    """A finished session's data directory: a trials table (and an AIND-style session.json if given)."""
    import json

    session = root / name
    session.mkdir(parents=True)
    rows = "\n".join(f"{i},{i % 2}" for i in range(n_trials))
    (session / "trials.csv").write_text("trial,outcome\n" + rows + "\n", encoding="utf-8")
    if session_json is not None:
        (session / "session.json").write_text(json.dumps(session_json, indent=3), encoding="utf-8")
    return session


def assert_intact(session: Path, before: dict[str, str]) -> None:
    """Every file the session held is there, byte for byte; only the adapter's inputs were added."""
    from curriculum_contract.sdk import HISTORY_FILE, TRAINER_STATE_FILE

    after = tree_digest(session)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {TRAINER_STATE_FILE, HISTORY_FILE}
    hidden = [p.name for p in session.parent.iterdir() if p.name.startswith(".")]
    assert hidden == [], f"the preserved copies were left behind: {hidden}"


def fake_project(root: Path) -> Path:
    """A plain curriculum directory (not a git repo): what ``locate_curriculum`` accepts."""
    project = root / "fake-curriculum"
    project.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fake-curriculum"\nversion = "0.3.0"\n', encoding="utf-8"
    )
    (project / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    return project


def ready_project(root: Path, behaviour: str = "ok") -> Path:
    """A curriculum project whose environment is already bootstrapped with the fake program.

    The real bootstrap check runs against it and finds nothing to do: no uv needed.
    """
    import json

    from curriculum_contract.launcher_adapter._bootstrap import STAMP_FILE, environment_fingerprint
    from curriculum_contract.launcher_adapter._locate import locate_curriculum

    project = fake_project(root / behaviour)
    write_program(project / ".venv" / "bin", behaviour)
    (project / ".venv" / "bin" / "python").symlink_to(sys.executable)  # what a venv holds
    stamp = project / ".venv" / STAMP_FILE
    stamp.write_text(json.dumps(environment_fingerprint(locate_curriculum(project))), encoding="utf-8")
    return project


def tiny_curriculum_repo(root: Path) -> Path:
    """The tiny curriculum (``projects/tiny-curriculum``) as its own committed git repository, locked with uv."""
    import shutil
    import subprocess

    from gitrepos import git

    from curriculum_contract.launcher_adapter._bootstrap import find_uv

    repo = root / "tiny-curriculum"
    shutil.copytree(PROJECTS / "tiny-curriculum", repo)
    template = repo / "pyproject.toml.in"
    (repo / "pyproject.toml").write_text(
        template.read_text().replace("@CURRICULUM_CONTRACT@", REPO_ROOT.as_posix()), encoding="utf-8"
    )
    template.unlink()
    locked = subprocess.run([find_uv(), "lock", "--quiet"], cwd=repo, capture_output=True, text=True, check=False)
    assert locked.returncode == 0, locked.stderr
    (repo / ".gitignore").write_text(".venv/\n__pycache__/\n", encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "tiny curriculum 0.1.0")
    return repo


class FakeEnvironment:
    """Stands in for ``ensure_environment``: returns a fake program and counts calls."""

    def __init__(self, executable: Path) -> None:
        self.executable = executable
        self.calls = 0

    def __call__(self, location, *, offline=False, progress=None) -> Path:
        self.calls += 1
        if progress is not None:
            progress("fake bootstrap")
        return self.executable


def session_lock_free(session: Path) -> bool:
    """Whether the session's launch lock could be taken now (its holder, a supervisor included, is gone)."""
    import fcntl

    from curriculum_contract.launcher_adapter._lock import session_lock_path

    try:
        fd = os.open(session_lock_path(session), os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


#: Git without the machine's identity or protocol settings: tests make their own repositories and submodules.
GIT_IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "protocol.file.allow=always"]


def run_ok(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; a non-zero exit fails the test with its output."""
    completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"{argv}\n{completed.stdout}\n{completed.stderr}"
    return completed


def cli(*args: str, cwd: Path, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``curriculum-contract`` command, as a real process."""
    script = Path(sys.executable).parent / "curriculum-contract"
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout)


def task_repo_with(upstream: Path, root: Path, name: str) -> Path:
    """A task repository with ``upstream`` added as its submodule ``curricula/NAME``; returns the submodule."""
    task = root / "task-repo"
    task.mkdir()
    run_ok(["git", *GIT_IDENTITY, "init", "-q"], task)
    run_ok(["git", *GIT_IDENTITY, "submodule", "add", "-q", str(upstream), f"curricula/{name}"], task)
    run_ok(["git", *GIT_IDENTITY, "commit", "-q", "-m", "add the curriculum"], task)
    return task / "curricula" / name
