"""Compare a session with its snapshot: every violation in one line, and what a restore must put back.

Split from ``_guard`` (which documents what is reported); the entries are looked at with ``lstat``
first, and only regular files whose type, size and mode allow it are read (hashed again).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ._batches import fingerprint_many
from ._fingerprint import PACKED, SPECIAL_KINDS, Entry, Pack, kind_of, mode_text, scan, untouched

if TYPE_CHECKING:
    from ._guard import SessionSnapshot

ROOT_KEY = "."
"""How ``Findings.lost`` (and a restore) names the session directory itself."""


@dataclass(frozen=True)
class Findings:
    """What ``SessionSnapshot.compare`` found: one line per violation, and the lost entries."""

    lines: list[str]
    lost: list[str]
    """Pre-existing entries deleted, modified, replaced or with another mode (sorted keys)."""
    unlisted: list[str] = field(default_factory=list)
    """Directories that could not be listed (their content was not compared)."""


def compare_snapshot(
    snap: SessionSnapshot,
    declared_assets: Iterable[str],
    allowed_new: Iterable[str],
    reference: Pack | None = None,
) -> Findings:
    """See ``SessionSnapshot.compare``; ``reference``: the packed copy of files, to compare bytes with."""
    found: list[tuple[str, str]] = []  # (key, line), sorted by key below
    lost: set[str] = set()
    top = snap.path_of(ROOT_KEY)
    try:
        root_st = os.lstat(top)
        root_there = stat.S_ISDIR(root_st.st_mode)
    except OSError:
        root_there = False
    current: dict[str, os.stat_result] = {}
    unlisted: dict[str, str] = {}
    if root_there:
        if stat.S_IMODE(root_st.st_mode) != stat.S_IMODE(snap.root_mode):
            change = f"mode {mode_text(snap.root_mode)} -> {mode_text(root_st.st_mode)}"
            found.append(("", f"the session directory: {change}"))
            lost.add(ROOT_KEY)
        current, unlisted = scan(top)
    outside, missed = snap.external.scan()
    current.update(outside)
    unlisted.update(missed)
    for key, why in sorted(unlisted.items()):
        if key not in snap.unlisted:
            name = snap.name_of(key) or "the session directory"
            found.append((key, f"{name}: cannot be listed after the run ({why})"))
    hidden = list(unlisted)

    to_hash: list[tuple[str, str, os.stat_result]] = []
    settled = snap.settled_before_ns
    for key, before in snap.entries.items():
        st = current.get(key)
        if st is None:
            if not (hidden and _under_any(key, hidden)):
                found.append((key, f"{snap.name_of(key)}: deleted"))
                lost.add(key)
            continue
        if st.st_mode == before.mode and st.st_size == before.size and before.kind == "file":
            if untouched(before, st, settled):
                continue  # not written since the snapshot: the kernel's change time says so
            to_hash.append((key, key if key.startswith("/") else f"{top}/{key}", st))  # the common case, fast
            continue
        problems = _metadata_problems(snap, key, before, st)
        if problems:
            found += [(key, f"{snap.name_of(key)}: {problem}") for problem in problems]
            lost.add(key)
        if before.kind == "file" and st.st_size == before.size and stat.S_ISREG(st.st_mode):
            to_hash.append((key, snap.path_of(key), st))
    after = fingerprint_many(to_hash, snap.limits, snap.threads, pack=reference, known=snap.entries)
    for key, _, st in to_hash:
        before, now = snap.entries[key], after[key][0]
        compared = reference is not None and key in reference.slots
        if problem := _content_problem(before, now, st, mode_changed=key in lost, compared=compared):
            found.append((key, f"{snap.name_of(key)}: {problem}"))
            lost.add(key)
    for key, mode in snap.directories.items():
        st = current.get(key)
        if st is not None and stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) != stat.S_IMODE(mode):
            found.append((key, f"{snap.name_of(key)}: mode {mode_text(mode)} -> {mode_text(st.st_mode)}"))
            lost.add(key)
    found.sort(key=lambda pair: pair[0])
    lines = [line for _, line in found]
    if not root_there:
        lines.insert(0, "the session directory itself was deleted or replaced")

    declared, asset_problems = _declared(snap.root, declared_assets)
    lines += asset_problems
    lines += _new_entries(snap, current, declared, allowed_new)
    for path, via in sorted(snap.external.absent.items()):
        if os.path.lexists(path):
            lines.append(f"{path} (via {via}): new file outside the session, written through the link")
    if snap.parent_names is not None:
        for name in sorted(parent_names(top) - snap.parent_names):
            lines.append(f"../{name}: new entry next to the session directory (written outside it?)")
    return Findings(lines, sorted(lost), sorted(key for key in unlisted if key not in snap.unlisted))


def _metadata_problems(snap: SessionSnapshot, key: str, before: Entry, st: os.stat_result) -> list[str]:
    """What changed that ``lstat`` (and ``readlink``) show: type, mode, link target, size, inode."""
    kind = kind_of(st.st_mode)
    if kind != before.kind:
        return [f"replaced: was a {before.kind}, now a {kind}"]
    problems = []
    if kind != "symlink" and stat.S_IMODE(st.st_mode) != stat.S_IMODE(before.mode):
        problems.append(f"mode {mode_text(before.mode)} -> {mode_text(st.st_mode)}")
    if kind == "symlink":
        try:
            target = os.readlink(snap.path_of(key))
        except OSError as exc:
            target = f"<unreadable: {exc.strerror}>"
        if target != before.digest:
            problems.append(f"symlink retargeted to {target}")
    elif kind == "file" and st.st_size != before.size:
        problems.append(f"modified: size {before.size} -> {st.st_size} bytes")
    elif kind in SPECIAL_KINDS:
        if st.st_ino != before.inode:
            problems.append(f"replaced: another {kind} (inode {before.inode} -> {st.st_ino})")
        elif kind.endswith("device") and f"rdev={st.st_rdev}" != before.digest:
            problems.append("replaced: another device number")
    return problems


def _content_problem(
    before: Entry, now: Entry, st: os.stat_result, *, mode_changed: bool, compared: bool
) -> str | None:
    """What changed in a file's content; ``compared``: its bytes were compared with its sealed packed copy."""
    if now.digest != before.digest:
        if not now.readable:
            # made unreadable (its mode line says how): the restore checks the content once the mode is back
            return None if mode_changed else f"unreadable after the run ({now.unreadable_reason})"
        if before.digest.startswith(PACKED) and not compared:  # its only reference, the pack, changed since sealed
            return "changed since the snapshot, and its preserved copy too: cannot tell whether its content did"
        return "modified: content changed"
    if before.sampled and (st.st_mtime_ns != before.mtime_ns or st.st_ino != before.inode):
        # Not every byte of a large file is compared: a new mtime or inode means it was rewritten.
        return "modified: rewritten (mtime or inode changed)"
    return None


def _new_entries(
    snap: SessionSnapshot, current: dict[str, os.stat_result], declared: set[str], allowed_new: Iterable[str]
) -> list[str]:
    allowed = {_normalise(a) for a in allowed_new}
    allowed.discard(None)
    found: list[tuple[str, str]] = []
    for key, st in current.items():
        if key in snap.entries or key in snap.directories:
            continue
        kind = kind_of(st.st_mode)
        if key.startswith("/"):  # below a guarded link target: nothing may appear there
            if kind != "directory":
                found.append((key, f"{snap.name_of(key)}: new {kind} outside the session"))
        elif kind in SPECIAL_KINDS:
            found.append((key, f"{key}: new {kind} (a special file) in the session"))
        elif kind == "symlink" and not _resolves_inside(Path(snap.path_of(key)), snap.root):
            found.append((key, f"{key}: new symlink to {os.readlink(snap.path_of(key))}, outside the session"))
        elif kind == "directory" or key in allowed or _covered(key, declared):
            continue  # a new directory is judged by the files it holds
        else:
            found.append((key, f"{key}: new file that is not a declared asset"))
    return [line for _, line in sorted(found)]


def _under_any(key: str, directories: list[str]) -> bool:
    for directory in directories:
        if directory == "":
            if not key.startswith("/"):
                return True
        elif key.startswith(directory + "/"):
            return True
    return False


def _declared(root: Path, assets: Iterable[str]) -> tuple[set[str], list[str]]:
    declared: set[str] = set()
    problems: list[str] = []
    for asset in assets:
        rel = _normalise(asset)
        if rel is None:
            problems.append(f"{asset}: declared asset outside the session directory")
            continue
        path = root / rel
        if not os.path.lexists(path):
            problems.append(f"{rel}: declared asset does not exist")
            continue
        if not _resolves_inside(path, root):
            problems.append(f"{rel}: declared asset resolves outside the session directory")
            continue
        if not (path.is_file() or path.is_dir()):
            problems.append(f"{rel}: declared asset is not a regular file")
            continue
        declared.add(rel)
    return declared, problems


def _normalise(asset: str) -> str | None:
    """A declared path as the walk names it, or None when it points outside the directory."""
    path = PurePosixPath(str(asset).replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts == (".",):
        return None
    return path.as_posix()


def _covered(rel: str, declared: set[str]) -> bool:
    """Whether a new file is a declared asset or lies inside a declared asset directory."""
    if rel in declared:
        return True
    parts = rel.split("/")
    return any("/".join(parts[:i]) in declared for i in range(1, len(parts)))


def _resolves_inside(path: Path, root: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return resolved == root or root in resolved.parents


def parent_names(top: str) -> frozenset[str]:
    """Names of the non-directory entries next to the session: a sibling session is not a trace."""
    parent = os.path.dirname(top)
    if parent == top:
        return frozenset()
    try:
        with os.scandir(parent) as it:
            return frozenset(e.name for e in it if not e.is_dir(follow_symlinks=False))
    except OSError:
        return frozenset()
