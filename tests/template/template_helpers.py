"""Helpers of the template tests: rendering through the public API, git, template copies, checked commands."""

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from curriculum_contract.scaffold import new_curriculum

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


def render(destination: Path, data: Mapping[str, str] | None = None, **options: object) -> Path:
    """``new_curriculum`` with ``--defaults`` and this checkout as the SDK."""
    options.setdefault("sdk_requirement", str(ROOT))
    return new_curriculum(destination, dict(data or {}), defaults=True, **options)  # type: ignore[arg-type]


def git(project: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"git {' '.join(args)} failed in {project}:\n{completed.stderr}"
    return completed.stdout


def template_copy(destination: Path) -> Path:
    """A plain copy of this checkout's template (copier.yml + template/), to change and register."""
    destination.mkdir(parents=True)
    shutil.copy2(ROOT / "copier.yml", destination / "copier.yml")
    shutil.copytree(ROOT / "template", destination / "template", ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def tagged_template_repo(destination: Path, tag: str) -> Path:
    """A git repository holding a copy of the template, its one commit tagged ``tag`` (version N)."""
    template_copy(destination)
    git(destination, "init", "-q")
    git(destination, "add", "-A")
    commit_as_tester(destination, f"template {tag}")
    git(destination, "tag", tag)
    return destination


def commit_as_tester(project: Path, message: str) -> None:
    git(project, "-c", "user.name=Tester", "-c", "user.email=tester@example.org", "commit", "-q", "-am", message)


def run_checked(argv: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    assert completed.returncode == 0, f"{argv} exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    return completed
