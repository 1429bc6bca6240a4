"""Another version of a curriculum, for the commands that compare two (``simulate --compare``, ``whatif``).

A directory is another checkout; anything else is a git revision of the curriculum's repository, exported
with ``git archive`` into a directory of the caller's (locked with ``uv lock`` if the revision has no
``uv.lock``), so it gets an environment of its own and the working tree is never touched.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from .._errors import ContractError
from .._tools import find_git
from ._bootstrap import _run_uv, find_uv
from ._errors import InvalidArgument, tail_text
from ._git import run_git


def export_revision(checkout: Path, revision: str, destination: Path, *, option: str = "--compare") -> str:
    """Write the tree of ``checkout`` at git ``revision`` into ``destination``; returns the full commit id.

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
    prefix = run_git(["rev-parse", "--show-prefix"], cwd=checkout).stdout.strip()
    top = run_git(["rev-parse", "--show-toplevel"], cwd=checkout).stdout.strip()
    archive = subprocess.run(
        [find_git(InvalidArgument), "-C", top, "archive", "--format=tar", f"{commit}:{prefix}" if prefix else commit],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise InvalidArgument(
            f"{option} {revision!r}: git archive of {commit} failed (exit {archive.returncode})",
            tail_text(archive.stderr),
        )
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    if not (destination / "uv.lock").is_file() and (destination / "pyproject.toml").is_file():
        try:
            _run_uv([find_uv(), "lock", "--color", "never"], destination, offline=False, progress=None, timeout_s=None)
        except ContractError as error:  # uv's own reason names only the temporary directory
            error.prefixed(f"{option} {revision!r} ({commit[:10]}) has no uv.lock, and locking it failed: ")
            raise
    return commit


def other_version(checkout: Path, rev_or_dir: str, scratch: Path, *, option: str) -> tuple[Path, str]:
    """The other version's checkout (a directory as is, a revision exported under ``scratch``) and its label."""
    other = Path(rev_or_dir)
    if other.is_dir():
        return other, working_tree_label(other)
    destination = scratch / "checkout"
    commit = export_revision(checkout, rev_or_dir, destination, option=option)
    return destination, f"{rev_or_dir} ({commit[:10]})"


def working_tree_label(checkout: Path) -> str:
    """The checkout as it is on disk, as a comparison labels it: its path, the commit it is at and whether it
    has uncommitted changes (edits are part of what runs), e.g. ``DIR (working tree at 0123abcd45, edited)``;
    ``untracked`` when none of its files is committed, ``not in a git repository`` without one."""
    head = run_git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=checkout)
    if head.exit_code != 0:
        inside = run_git(["rev-parse", "--is-inside-work-tree"], cwd=checkout).exit_code == 0
        return f"{checkout} ({'in a repository with no commit' if inside else 'not in a git repository'})"
    commit = head.stdout.strip()[:10]
    if not run_git(["ls-files", "--", "."], cwd=checkout).stdout.strip():
        return f"{checkout} (untracked, in the working tree at {commit})"  # nothing of it is in that commit
    edited = run_git(["status", "--porcelain", "--untracked-files=no", "--", "."], cwd=checkout).stdout.strip()
    return f"{checkout} (working tree at {commit}{', edited' if edited else ''})"
