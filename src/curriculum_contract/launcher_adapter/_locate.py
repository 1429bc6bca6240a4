"""Find a curriculum project, check it is the code the task repo pins, and say where its lockfile is.

A curriculum is normally a git submodule of the task repo: it must be initialised, checked out at
the commit the task repo records (the gitlink) and clean, or the session would be evaluated by code
nobody can name afterwards. A plain directory and a member of the task repo's own uv workspace
(sharing the workspace's ``uv.lock`` and ``.venv``) work too; their provenance says which it is.
Dirtiness is enforced only for submodules: a plain directory or workspace member is the lab's own
tree, so its dirty flag is recorded, not refused.

All git calls go through a :class:`GitRunner` (default :func:`run_git`: argument lists, the caller's git,
never a shell); ``git=`` takes another, e.g. a test's fake.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ._errors import CurriculumNotFound, SubmoduleNotReady
from ._git import GitRunner, run_git
from ._messages import curriculum_not_found, curriculum_unusable

ProvenanceKind = Literal["submodule", "directory", "workspace_member"]

# Untracked paths that running a curriculum creates by itself; they do not make its checkout dirty.
_RUNTIME_DEBRIS = ("__pycache__", ".venv", ".pytest_cache", ".ruff_cache")


@dataclass(frozen=True)
class Provenance:
    """Where the curriculum code came from, as recorded with every run."""

    kind: ProvenanceKind
    path: str
    remote_url: str | None
    commit: str | None
    dirty: bool
    dirty_allowed: bool
    version: str | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


@dataclass(frozen=True)
class CurriculumLocation:
    """A located curriculum: its project, the environment root holding lockfile and ``.venv``."""

    project_dir: Path
    env_root: Path
    lock_file: Path
    provenance: Provenance
    package_name: str | None = None

    @property
    def is_workspace_member(self) -> bool:
        """Whether the environment is the uv workspace's, shared with other members."""
        return self.env_root != self.project_dir


def locate_curriculum(path: str | Path, *, allow_dirty: bool = False, git: GitRunner = run_git) -> CurriculumLocation:
    """Locate and pin the curriculum at ``path``; raise a typed error if it is not ready to run.

    ``git`` answers the questions asked of git (default: the git on PATH).
    """
    project = Path(path).expanduser()
    project = Path(os.path.abspath(project))
    if not project.exists():
        raise CurriculumNotFound(curriculum_not_found(project))
    if not project.is_dir():
        raise CurriculumNotFound(curriculum_unusable(project, "it is not a directory"))
    project = project.resolve()

    facts = _GitFacts.collect(project, git)
    if facts.submodule_of is not None:
        _check_submodule(project, facts, allow_dirty)

    pyproject_file = project / "pyproject.toml"
    if not pyproject_file.is_file():
        raise CurriculumNotFound(curriculum_unusable(project, "it has no pyproject.toml"))
    pyproject = _read_toml(pyproject_file, project)
    project_table = pyproject.get("project", {})
    name = project_table.get("name")
    version = project_table.get("version")

    workspace_root = _workspace_root_for(project)
    if workspace_root is not None:
        env_root = workspace_root
        lock_file = workspace_root / "uv.lock"
        if not lock_file.is_file():
            raise CurriculumNotFound(
                curriculum_unusable(
                    project,
                    f"its uv workspace {workspace_root} has no uv.lock: "
                    f"run `uv lock` in {workspace_root} and commit it",
                )
            )
    else:
        env_root = project
        lock_file = project / "uv.lock"
        if not lock_file.is_file():
            raise CurriculumNotFound(
                curriculum_unusable(project, f"it has no uv.lock: run `uv lock` in {project} and commit it")
            )

    if facts.submodule_of is not None:
        kind: ProvenanceKind = "submodule"
    elif workspace_root is not None:
        kind = "workspace_member"
    else:
        kind = "directory"
    provenance = Provenance(
        kind=kind,
        path=str(project),
        remote_url=facts.remote_url,
        commit=facts.commit,
        dirty=facts.dirty,
        dirty_allowed=allow_dirty,
        version=version if isinstance(version, str) else None,
    )
    return CurriculumLocation(
        project_dir=project,
        env_root=env_root,
        lock_file=lock_file,
        provenance=provenance,
        package_name=name if isinstance(name, str) else None,
    )


def _check_submodule(project: Path, facts: _GitFacts, allow_dirty: bool) -> None:
    super_dir, rel = facts.submodule_of  # type: ignore[misc]
    if facts.status_prefix == "-" or facts.commit is None:
        raise SubmoduleNotReady(
            f"curriculum submodule {rel} of {super_dir} is not initialised: "
            f"run `git submodule update --init {rel}` in {super_dir}"
        )
    if facts.status_prefix == "U":
        raise SubmoduleNotReady(f"curriculum submodule {rel} of {super_dir} has merge conflicts")
    if facts.recorded_commit is not None and facts.commit != facts.recorded_commit:
        raise SubmoduleNotReady(
            f"curriculum submodule {rel} is checked out at {facts.commit[:12]} but {super_dir} records "
            f"{facts.recorded_commit[:12]}: run `git submodule update {rel}` (or commit the new pin)"
        )
    if facts.dirty and not allow_dirty:
        first = facts.dirty_paths[0] if facts.dirty_paths else ""
        raise SubmoduleNotReady(
            f"curriculum submodule {rel} has uncommitted changes ({first}"
            f"{f' and {len(facts.dirty_paths) - 1} more' if len(facts.dirty_paths) > 1 else ''}): "
            "commit or discard them, or allow a dirty curriculum explicitly"
        )


@dataclass
class _GitFacts:
    """What git says about a curriculum directory: its repo, its pin, its state."""

    commit: str | None = None
    remote_url: str | None = None
    dirty: bool = False
    dirty_paths: tuple[str, ...] = ()
    submodule_of: tuple[Path, str] | None = None  # (superproject, path of the submodule inside it)
    recorded_commit: str | None = None
    status_prefix: str | None = None

    @classmethod
    def collect(cls, project: Path, git: GitRunner) -> _GitFacts:
        facts = cls()
        run = _Git(git)
        try:
            top_lines = run.lines(project, "rev-parse", "--show-toplevel", "--show-superproject-working-tree")
        except FileNotFoundError:  # no git installed
            if _inside_git_checkout(project):
                raise SubmoduleNotReady(f"git is not installed (on PATH): needed to check {project}") from None
            return facts
        if top_lines is None:
            if _inside_git_checkout(project):
                raise SubmoduleNotReady(f"git cannot read the repository holding {project}: {run.last_error}")
            return facts  # not inside a git work tree: a plain directory
        repo = Path(top_lines[0]).resolve()
        superproject = Path(top_lines[1]).resolve() if len(top_lines) > 1 else None

        if project != repo:
            rel = project.relative_to(repo).as_posix()
            recorded = _gitlink_commit(run, repo, rel)
            if recorded is not None and recorded != "conflict":
                # A gitlink whose directory has no repository of its own: an uninitialised submodule.
                facts.submodule_of = (repo, rel)
                facts.recorded_commit = recorded
                facts.status_prefix = "-"
                return facts
        else:
            rel = "."
        facts.commit = run.first(repo, "rev-parse", "--verify", "-q", "HEAD")
        facts.remote_url = run.first(repo, "config", "--get", "remote.origin.url")
        if superproject is not None:
            # The curriculum's repository is an initialised submodule: check the superproject's pin.
            rel_in_super = repo.relative_to(superproject).as_posix()
            facts.submodule_of = (superproject, rel_in_super)
            recorded = _gitlink_commit(run, superproject, rel_in_super)
            # What `git submodule status` would print, without its 30 ms shell wrapper (git 2.39).
            facts.status_prefix = "U" if recorded == "conflict" else " " if recorded == facts.commit else "+"
            facts.recorded_commit = None if recorded == "conflict" else recorded
            facts.dirty_paths = _dirty_paths(run, repo, None)
        else:
            facts.dirty_paths = _dirty_paths(run, repo, rel)
        facts.dirty = bool(facts.dirty_paths)
        return facts


class _Git:
    """The locate step's questions to a :class:`GitRunner`; remembers the last failure's stderr."""

    def __init__(self, runner: GitRunner) -> None:
        self.runner = runner
        self.last_error = ""

    def lines(self, cwd: Path, *args: str) -> list[str] | None:
        """stdout lines of ``git -C cwd args``, or None when git fails."""
        done = self.runner(args, cwd=cwd)
        if done.exit_code != 0:
            self.last_error = " ".join(done.stderr.split())[:300]
            return None
        return [line for line in done.stdout.splitlines() if line]

    def first(self, cwd: Path, *args: str) -> str | None:
        out = self.lines(cwd, *args)
        return out[0].strip() if out else None


def _gitlink_commit(run: _Git, repo: Path, rel: str) -> str | None:
    """The commit the repo's index records for a gitlink at ``rel`` (mode 160000), else None.

    A conflicted gitlink (entries at merge stages 1-3) is reported as ``"conflict"``.
    """
    recorded = None
    for line in run.lines(repo, "ls-files", "-s", "--", rel) or []:
        meta, _, entry_path = line.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[0] == "160000" and entry_path == rel:
            if parts[2] != "0":
                return "conflict"
            recorded = parts[1]
    return recorded


def _dirty_paths(run: _Git, repo: Path, rel: str | None) -> tuple[str, ...]:
    """Changed and untracked paths (ignoring bytecode and tool caches), limited to ``rel`` if given."""
    args = ["status", "--porcelain", "--untracked-files=all"]
    if rel not in (None, "."):
        args += ["--", rel]
    out = run.lines(repo, *args)
    if out is None:
        return ("(git status failed)",)
    paths = []
    for line in out:
        code, path = line[:2], line[3:]
        if code == "??" and (path.endswith(".pyc") or any(p in _RUNTIME_DEBRIS for p in path.split("/"))):
            continue
        paths.append(path)
    return tuple(paths)


def _inside_git_checkout(path: Path) -> bool:
    return any((p / ".git").exists() for p in (path, *path.parents))


def _read_toml(path: Path, project: Path) -> dict[str, Any]:
    """``path`` (the pyproject.toml of curriculum ``project`` or of a folder holding it) as a table."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CurriculumNotFound(curriculum_unusable(project, f"cannot read {path}: {exc}")) from None


def _workspace_root_for(project: Path) -> Path | None:
    """The uv workspace root whose ``members`` (minus ``exclude``) include ``project``, as uv decides.

    uv stops at the first ancestor that declares ``[tool.uv.workspace]``; a project outside its
    members is a standalone project with its own lockfile.
    """
    for ancestor in project.parents:
        candidate = ancestor / "pyproject.toml"
        if not candidate.is_file():
            continue
        workspace = _read_toml(candidate, project).get("tool", {}).get("uv", {}).get("workspace")
        if workspace is None:
            continue
        members = _expand(ancestor, workspace.get("members", []))
        excluded = _expand(ancestor, workspace.get("exclude", []))
        return ancestor if project in members and project not in excluded else None
    return None


def _expand(root: Path, patterns: list[str]) -> set[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        found.update(p.resolve() for p in root.glob(pattern) if p.is_dir())
    return found
