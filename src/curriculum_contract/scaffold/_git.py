"""The generated repository's git: the first commit, and what an update changed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._errors import CommandFailed
from ._process import git_executable, run

#: Lines copier's inline conflicts start with (git's own markers).
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")


def configured(key: str, cwd: Path) -> str | None:
    """A git configuration value as seen from ``cwd``, or ``None`` when unset."""
    try:
        value = run([git_executable(), "config", "--get", key], cwd=cwd).strip()
    except CommandFailed:
        return None
    return value or None


def first_commit(project: Path, answers: Mapping[str, Any], message: str) -> None:
    """``git init`` and commit everything; the author's answers are the identity when git has none."""
    git = git_executable()
    run([git, "-c", "init.defaultBranch=main", "init", "-q"], cwd=project)
    run([git, "add", "-A"], cwd=project)
    identity = []
    if configured("user.name", project) is None:
        identity += ["-c", f"user.name={answers.get('author_name') or 'Curriculum Author'}"]
    if configured("user.email", project) is None:
        fallback = f"{answers.get('package_name', 'curriculum')}@localhost"
        identity += ["-c", f"user.email={answers.get('author_email') or fallback}"]
    run([git, *identity, "commit", "-q", "-m", message], cwd=project)


def is_repository_root(project: Path) -> bool:
    try:
        top = run([git_executable(), "rev-parse", "--show-toplevel"], cwd=project).strip()
    except CommandFailed:
        return False
    return Path(top).resolve() == project.resolve()


def changed_files(project: Path) -> list[str]:
    """Paths with uncommitted changes (modified, added, deleted or untracked), relative to ``project``."""
    output = run([git_executable(), "status", "--porcelain", "--untracked-files=all", "-z"], cwd=project)
    entries = [entry for entry in output.split("\0") if entry]
    paths, skip = [], False
    for entry in entries:
        if skip:  # the source path of a rename
            skip = False
            continue
        status, path = entry[:2], entry[3:]
        skip = "R" in status or "C" in status
        paths.append(path)
    return sorted(paths)


def has_conflict_markers(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return any(line.startswith(CONFLICT_MARKERS) for line in handle)
    except (IsADirectoryError, FileNotFoundError):
        return False
