"""Another version of a curriculum, for the commands that compare two (``simulate --compare``, ``whatif``).

A directory is another checkout; anything else is a git revision of the curriculum's repository, exported
with ``git archive`` into a directory of the caller's (locked with ``uv lock`` if the revision has no
``uv.lock``), so it gets an environment of its own and the working tree is never touched. A curriculum in a
subdirectory of its repository keeps its place there, with the directories its relative ``[tool.uv.sources]``
paths name inside the repository (e.g. an SDK next to it), at the same revision: its sources and its
``uv.lock`` resolve as they do in the working tree.
"""

from __future__ import annotations

import io
import posixpath
import subprocess
import tarfile
import tomllib
from pathlib import Path
from typing import Any

from .._errors import ContractError
from .._tools import find_git
from ._bootstrap import _run_uv, find_uv
from ._errors import InvalidArgument, tail_text
from ._git import run_git


def export_revision(checkout: Path, revision: str, destination: Path, *, option: str = "--compare") -> tuple[Path, str]:
    """Write the tree of ``checkout`` at git ``revision`` under ``destination``: the exported checkout (at its
    place in the repository's tree) and the full commit id.

    ``option`` names the command-line option the revision came from, in the error messages.
    """
    inside = run_git(["rev-parse", "--is-inside-work-tree"], cwd=checkout)
    if inside.exit_code != 0:
        raise InvalidArgument(
            f"{option} {revision!r}: not a directory, and no git revision either: {checkout} is not in a git "
            "repository",
            inside.stderr.strip(),
        )
    found = run_git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=checkout)
    if found.exit_code != 0:
        raise InvalidArgument(
            f"{option} {revision!r}: neither a directory nor a git revision of {checkout} "
            f"(git rev-parse exited {found.exit_code})"
        )
    commit = found.stdout.strip()
    prefix = run_git(["rev-parse", "--show-prefix"], cwd=checkout).stdout.strip().rstrip("/")
    top = run_git(["rev-parse", "--show-toplevel"], cwd=checkout).stdout.strip()
    exported = destination / prefix if prefix else destination
    destination.mkdir(parents=True, exist_ok=True)
    _extract(top, commit, [prefix] if prefix else [], destination, revision, option)
    if prefix:
        beside = sorted({path for path in _source_paths(exported, prefix) if not _within(path, prefix)})
        if beside:
            _extract(top, commit, [] if "" in beside else beside, destination, revision, option)
    if not (exported / "uv.lock").is_file() and (exported / "pyproject.toml").is_file():
        try:
            _run_uv([find_uv(), "lock", "--color", "never"], exported, offline=False, progress=None, timeout_s=None)
        except ContractError as error:  # uv's own reason names only the temporary directory
            error.prefixed(f"{option} {revision!r} ({commit[:10]}) has no uv.lock, and locking it failed: ")
            raise
    return exported, commit


def _extract(top: str, commit: str, paths: list[str], destination: Path, revision: str, option: str) -> None:
    """``git archive`` of ``paths`` (all of the tree when empty) at ``commit``, unpacked into ``destination``."""
    archive = subprocess.run(
        [find_git(InvalidArgument), "--literal-pathspecs", "-C", top, "archive", "--format=tar", commit, "--", *paths],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise InvalidArgument(
            f"{option} {revision!r}: git archive of {commit} failed (exit {archive.returncode})",
            tail_text(archive.stderr),
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")


def _source_paths(exported: Path, prefix: str) -> list[str]:
    """The repository paths (``""``: its top) of the relative ``path`` sources in the exported
    ``pyproject.toml`` that stay inside the repository; an unreadable file has none (uv will say why)."""
    try:
        sources = tomllib.loads((exported / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["uv"]["sources"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return []
    paths = []
    for source in sources.values() if isinstance(sources, dict) else []:
        for entry in source if isinstance(source, list) else [source]:
            path: Any = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(path, str) and not posixpath.isabs(path):
                joined = posixpath.normpath(posixpath.join(prefix, path))
                if joined != ".." and not joined.startswith("../"):
                    paths.append("" if joined == "." else joined)
    return paths


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def other_version(checkout: Path, rev_or_dir: str, scratch: Path, *, option: str) -> tuple[Path, str]:
    """The other version's checkout (a directory as is, a revision exported under ``scratch``) and its label."""
    other = Path(rev_or_dir)
    if other.is_dir():
        if (other / "run.json").is_file() and not (other / "pyproject.toml").exists():  # simulate's --out
            raise InvalidArgument(
                f"{option} {rev_or_dir}: a directory of simulation results (run.json), not a curriculum: here "
                f"{option} takes another checkout or a git revision; the curriculum's own `curriculum simulate "
                "--compare DIR` compares with earlier results"
            )
        return other, working_tree_label(other)
    exported, commit = export_revision(checkout, rev_or_dir, scratch / "checkout", option=option)
    return exported, f"{rev_or_dir} ({commit[:10]})"


def working_tree_label(checkout: Path) -> str:
    """The checkout as it is on disk, as a comparison labels it: its path, the commit it is at and whether it
    has uncommitted changes (edits are part of what runs), e.g. ``DIR (working tree at 0123abcd45, edited)``;
    ``untracked`` when none of its files is committed, ``not in a git repository`` without one. The path is
    absolute: ``.`` would mean nothing on a plot shown elsewhere."""
    shown = checkout.absolute()
    head = run_git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=checkout)
    if head.exit_code != 0:
        inside = run_git(["rev-parse", "--is-inside-work-tree"], cwd=checkout).exit_code == 0
        return f"{shown} ({'in a repository with no commit' if inside else 'not in a git repository'})"
    commit = head.stdout.strip()[:10]
    if not run_git(["ls-files", "--", "."], cwd=checkout).stdout.strip():
        return f"{shown} (untracked, in the working tree at {commit})"  # nothing of it is in that commit
    edited = run_git(["status", "--porcelain", "--untracked-files=no", "--", "."], cwd=checkout).stdout.strip()
    return f"{shown} (working tree at {commit}{', edited' if edited else ''})"
