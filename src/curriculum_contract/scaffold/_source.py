"""Where the template comes from: the files shipped with the package, and the git cache ``update`` reaches.

copier's three-way ``update`` re-renders the *old* template version, so it needs a git repository with a tag
per version. An installed package holds only its own version's files, so ``new`` and ``update`` register them
in a local git repository, the template cache: one commit per template version, tagged ``v<package version>``
(``v<version>+1``, ``+2``... when a development checkout changed the template without a version bump).
A generated repository records the cache as its ``_src_path``, as ``~/...`` when it is under the home folder
so that one answers file works for every user of a lab.

The cache is ``$CURRICULUM_CONTRACT_TEMPLATE_CACHE``, else ``$XDG_CACHE_HOME/curriculum-contract/template``,
else ``~/.cache/curriculum-contract/template`` (``%LOCALAPPDATA%`` on Windows).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ._errors import CommandFailed, TemplateError
from ._process import git_executable, run

TEMPLATE_CACHE_ENV = "CURRICULUM_CONTRACT_TEMPLATE_CACHE"
#: What the cache's commits are made of, relative to the template root.
TEMPLATE_PATHS = ("copier.yml", "template")
_EXCLUDED = (":(exclude,glob)**/__pycache__/**", ":(exclude,glob)**/*.pyc")
_IDENTITY = {
    "GIT_AUTHOR_NAME": "curriculum-contract",
    "GIT_AUTHOR_EMAIL": "curriculum-contract@localhost",
    "GIT_COMMITTER_NAME": "curriculum-contract",
    "GIT_COMMITTER_EMAIL": "curriculum-contract@localhost",
}


@dataclass(frozen=True)
class TemplateSource:
    """A template copier can read: ``url`` (a local path, ``~/...``, or a git URL) at ``ref`` (a tag, or
    ``None`` for copier's own choice: the latest tag)."""

    url: str
    ref: str | None = None

    @property
    def path(self) -> Path:
        """``url`` as a local path (meaningful for local sources only)."""
        return Path(self.url).expanduser()


def template_root() -> Path:
    """The folder holding ``copier.yml`` and ``template/``: inside the installed wheel, or the checkout
    when the package is installed in editable mode."""
    here = Path(__file__).resolve()
    candidates = (here.parents[1] / "_template", here.parents[3])
    for root in candidates:
        if (root / "copier.yml").is_file() and (root / "template" / "_copier").is_dir():
            return root
    looked = ", ".join(str(c) for c in candidates)
    raise TemplateError(f"the curriculum template is not installed with curriculum-contract (looked in {looked})")


def template_cache_dir() -> Path:
    """The template cache's location (see the module docstring)."""
    configured = os.environ.get(TEMPLATE_CACHE_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    else:
        base = Path.home() / ".cache"
    return (base / "curriculum-contract" / "template").absolute()


def portable_url(path: Path) -> str:
    """``~/rest`` for a path under the home folder (the same for every user), else the absolute path."""
    path = path.absolute()
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return path.as_posix()


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """Exclusive lock across processes, so two ``new`` commands do not register at the same time."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as handle:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if os.name == "nt":
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                fcntl.flock(handle, fcntl.LOCK_UN)


class _CacheRepo:
    """The cache's git commands (``git --git-dir ... --work-tree ...``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git = git_executable()

    def __call__(self, *args: str, env: dict[str, str] | None = None, work_tree: Path | None = None) -> str:
        tree = work_tree or self.path
        argv = [self.git, "--git-dir", str(self.path / ".git"), "--work-tree", str(tree), *args]
        return run(argv, cwd=tree, env=env)

    def ensure(self) -> None:
        if (self.path / ".git").is_dir():
            return
        if self.path.exists() and any(self.path.iterdir()):
            raise TemplateError(f"template cache {self.path} exists but is not a git repository: remove it")
        self.path.mkdir(parents=True, exist_ok=True)
        run([self.git, "init", "-q", str(self.path)], cwd=self.path)
        self("symbolic-ref", "HEAD", "refs/heads/main")
        for key, value in (("core.autocrlf", "false"), ("commit.gpgsign", "false"), ("tag.gpgsign", "false")):
            self("config", key, value)

    def tree_of_files(self, root: Path) -> str:
        """The git tree of ``root``'s template files, written with a throw-away index."""
        with tempfile.TemporaryDirectory(prefix="curriculum-template-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch, "index"))}
            self("add", "-f", "--", *TEMPLATE_PATHS, *_EXCLUDED, env=env, work_tree=root)
            return self("write-tree", env=env, work_tree=root).strip()

    def tags(self, version: str) -> list[str]:
        separator = "." if "+" in version else "+"
        listed = self("tag", "--list", f"v{version}", f"v{version}{separator}*").split()
        return [tag for tag in listed if tag == f"v{version}" or tag[len(version) + 2 :].isdigit()]

    def has_ref(self, ref: str) -> bool:
        try:
            self("rev-parse", "-q", "--verify", f"refs/tags/{ref}^{{commit}}")
        except CommandFailed:
            return False
        return True

    def commit(self, tree: str, tag: str) -> None:
        args = ["commit-tree", tree, "-m", f"curriculum template {tag}"]
        try:
            parent = self("rev-parse", "-q", "--verify", "refs/heads/main").strip()
            args[2:2] = ["-p", parent]
        except CommandFailed:
            pass  # the first version: no parent
        commit = self(*args, env=_IDENTITY).strip()
        self("update-ref", "refs/heads/main", commit)
        self("tag", tag, commit)
        self("reset", "-q", "--hard", "refs/heads/main")  # a clean work tree: copier's HEAD reads stay exact


def next_tag(version: str, existing: list[str]) -> str:
    """``v<version>`` first, then ``v<version>+1``, ``+2``... (numeric local versions sort in order)."""
    if f"v{version}" not in existing:
        return f"v{version}"
    separator = "." if "+" in version else "+"
    numbers = [int(tag[len(version) + 2 :]) for tag in existing if tag != f"v{version}"]
    return f"v{version}{separator}{max(numbers, default=0) + 1}"


def register_template(
    root: Path | None = None, version: str | None = None, cache: Path | None = None
) -> TemplateSource:
    """Make the template at ``root`` (default: the installed one) available in the cache; return its tag there.

    Registering the same files again returns the existing tag; changed files of the same version get the next
    ``+N`` tag. The cache is locked while it changes.
    """
    from .. import __version__

    root = root or template_root()
    version = version or __version__
    cache = cache or template_cache_dir()
    with _locked(cache.with_name(cache.name + ".lock")):
        repo = _CacheRepo(cache)
        repo.ensure()
        tree = repo.tree_of_files(root)
        existing = repo.tags(version)
        for tag in existing:
            if repo("rev-parse", f"{tag}^{{tree}}").strip() == tree:
                return TemplateSource(portable_url(cache), tag)
        tag = next_tag(version, existing)
        repo.commit(tree, tag)
    return TemplateSource(portable_url(cache), tag)


def cached_versions(cache: Path | None = None) -> list[str]:
    """Tags in the template cache (empty when there is no cache yet)."""
    cache = cache or template_cache_dir()
    if not (cache / ".git").is_dir():
        return []
    return _CacheRepo(cache)("tag", "--list").split()


def cache_has(source: TemplateSource, ref: str) -> bool:
    """Whether the local git repository ``source`` holds tag ``ref``."""
    path = source.path
    return (path / ".git").is_dir() and _CacheRepo(path).has_ref(ref)
