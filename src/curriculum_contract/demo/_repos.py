"""The demo's repositories: an example curriculum as its own git repo, and a task repo that carries it
as a real git submodule, exactly as a lab would set them up."""

import re
import shutil
from pathlib import Path

from ..scaffold._process import git_executable, run, uv_executable
from ..scaffold._requirement import normalize_sdk_requirement
from ._errors import DemoError

#: Commits made by the demo name it, so they are never mistaken for a person's.
_IDENTITY = ("-c", "user.name=curriculum-contract demo", "-c", "user.email=demo@curriculum-contract.invalid")
_SOURCES = re.compile(r"^curriculum-contract\s*=\s*\{[^}]*\}\s*$", re.MULTILINE)


class ExamplesMissing(DemoError, FileNotFoundError):
    """The example curricula are not installed: neither a checkout's ``examples/`` nor the wheel's copy is there."""


def examples_root() -> Path:
    """The example curricula: beside the sources in a checkout (an editable install), else the copy the wheel
    ships inside the package (``pyproject.toml``: ``force-include`` of ``examples/<name>`` as ``_examples``)."""
    package = Path(__file__).resolve().parents[1]
    candidates = (package.parents[1] / "examples", package / "_examples")
    for candidate in candidates:
        if (candidate / "ibl_2afc" / "pyproject.toml").is_file():
            return candidate
    looked = " or ".join(str(candidate) for candidate in candidates)
    raise ExamplesMissing(f"the example curricula are not installed with curriculum-contract (looked in {looked})")


def git(*args: str, cwd: Path) -> str:
    return run([git_executable(), *_IDENTITY, *args], cwd)


def point_at_sdk(pyproject: Path, requirement: str) -> None:
    """Make the curriculum depend on ``requirement``: a path source (a checkout or wheel) or a released spec."""
    text = pyproject.read_text(encoding="utf-8")
    if requirement.startswith("curriculum-contract") or requirement.startswith("curriculum_contract"):
        text = _SOURCES.sub("", text).replace('"curriculum-contract",', f'"{requirement}",', 1)
    else:
        text = _SOURCES.sub(f'curriculum-contract = {{ path = "{requirement}", editable = false }}', text)
    pyproject.write_text(text, encoding="utf-8")


def make_curriculum_repo(example: str, destination: Path, sdk_requirement: str) -> Path:
    """Copy an example curriculum into its own locked, committed git repository."""
    source = examples_root() / example
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".venv", "__pycache__", "uv.lock"))
    point_at_sdk(destination / "pyproject.toml", normalize_sdk_requirement(sdk_requirement, Path.cwd()))
    run([uv_executable(), "lock", "--quiet"], destination)
    git("init", "--quiet", "--initial-branch=main", cwd=destination)
    git("add", "--all", cwd=destination)
    git("commit", "--quiet", "-m", f"{example}: curriculum repository", cwd=destination)
    return destination


def make_task_repo(destination: Path, curriculum_repo: Path, name: str) -> Path:
    """A task repository holding the curriculum as a submodule at ``curricula/<name>``; returns its path."""
    destination.mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=destination)
    (destination / "README.md").write_text("# A behavior task\n\nCurricula live in `curricula/` as submodules.\n")
    git("add", "README.md", cwd=destination)
    git("commit", "--quiet", "-m", "task repository", cwd=destination)
    git("-c", "protocol.file.allow=always", "submodule", "add", "--quiet", str(curriculum_repo),
        f"curricula/{name}", cwd=destination)  # fmt: skip
    git("commit", "--quiet", "-m", f"add curriculum {name} as a submodule", cwd=destination)
    return destination / "curricula" / name
