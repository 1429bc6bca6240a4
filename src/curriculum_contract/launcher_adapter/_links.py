"""Symlinks a session already holds that lead outside it: found, refused, or their targets guarded.

A write through such a link (``open(link, "w")``, a walk that follows a linked directory and
empties it) changes a file outside the session, which the session's own fingerprints never see.
``external_links`` finds them: every link below the session whose chain of targets leaves the
session at any hop. ``ExternalTargets.discover`` turns them into guarded roots: each final target
(a file, or a directory walked in full), each intermediate link outside the session, and, found
while walking a linked directory, the targets of the links it holds (transitively). A target that
contains the session (a link to ``..`` or ``/``) is refused even then: guarding it would mean
guarding the whole data root. Guarded entries are named by their absolute real path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._errors import ExternalLinkRefused
from ._fingerprint import scan

_MAX_HOPS = 40


def inside(path: str, root: str) -> bool:
    """Whether the absolute normalised ``path`` is ``root`` or below it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def link_chain(path: str) -> tuple[list[str], str]:
    """The symlinks a path's resolution passes through after ``path`` itself, and where it ends."""
    hops: list[str] = []
    current = path
    for _ in range(_MAX_HOPS):
        try:
            target = os.readlink(current)
        except OSError:
            break
        joined = os.path.join(os.path.dirname(current), target)
        name = os.path.basename(joined)
        if name in ("", ".", ".."):
            return hops, os.path.realpath(joined)
        nxt = os.path.join(os.path.realpath(os.path.dirname(joined)), name)
        if not os.path.islink(nxt):
            return hops, nxt
        hops.append(nxt)
        current = nxt
    return hops, os.path.realpath(path)


def external_links(root: str, entries: Mapping[str, os.stat_result]) -> list[tuple[str, str]]:
    """``(link, target)`` for each symlink under ``root`` whose resolution leaves ``root``."""
    found: list[tuple[str, str]] = []
    for rel, st in sorted(entries.items()):
        if stat.S_ISLNK(st.st_mode):
            hops, end = link_chain(f"{root}/{rel}")
            if not inside(end, root) or any(not inside(hop, root) for hop in hops):
                found.append((rel, end))
    return found


def refuse_external_links(session_dir: str | os.PathLike[str]) -> None:
    """Raise ``ExternalLinkRefused`` when a symlink in the session leads outside it.

    For a launcher to call before it writes anything into the session: ``SessionSnapshot.take``
    refuses too, but after the inputs were fed.
    """
    top = os.path.realpath(session_dir)
    links = external_links(top, scan(top)[0])
    if links:
        raise ExternalLinkRefused(top, links)


@dataclass
class ExternalTargets:
    """The guarded targets of a session's external links (see the module doc)."""

    roots: dict[str, str] = field(default_factory=dict)
    """Absolute real path of each guarded root -> the session link (path through it) leading there."""
    absent: dict[str, str] = field(default_factory=dict)
    """Targets that did not exist (dangling links) -> the link: a file appearing there is a write."""

    @classmethod
    def discover(
        cls, session_root: str, links: list[tuple[str, str]]
    ) -> tuple[ExternalTargets, dict[str, os.stat_result], dict[str, str]]:
        """The targets of ``links`` and, transitively, of the links inside them; with their scan."""
        targets = cls()
        pending: list[tuple[str, str]] = []
        for rel, _ in links:
            hops, end = link_chain(f"{session_root}/{rel}")
            pending += [(hop, rel) for hop in hops if not inside(hop, session_root)]
            pending.append((end, rel))
        found: dict[str, os.stat_result] = {}
        unlisted: dict[str, str] = {}
        refused: list[tuple[str, str]] = []
        while pending:
            path, via = pending.pop(0)
            if inside(path, session_root) or targets.covering(path) is not None or path in targets.absent:
                continue
            if inside(session_root, path):
                refused.append((via, path))
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                targets.absent[path] = via
                continue
            targets.roots[path] = via
            found[path] = st
            if stat.S_ISDIR(st.st_mode):
                below, missed = scan(path, prefix=f"{path}/")
                found.update(below)
                unlisted.update({f"{path}/{rel}".rstrip("/"): why for rel, why in missed.items()})
                for key, sub in below.items():
                    if stat.S_ISLNK(sub.st_mode):
                        hops, end = link_chain(key)
                        through = via + key[len(path) :]
                        pending += [(hop, through) for hop in [*hops, end]]
        if refused:
            raise ExternalLinkRefused(
                session_root, refused, "refused even when guarding: its target contains the session directory"
            )
        for root in list(targets.roots):  # a root inside another is covered by that one's walk
            if targets.covering(root, excluding=root) is not None:
                del targets.roots[root]
        return targets, found, unlisted

    def covering(self, path: str, *, excluding: str | None = None) -> str | None:
        """The guarded root ``path`` lies in (the deepest), if any."""
        best = None
        for root in self.roots:
            if root != excluding and inside(path, root) and (best is None or len(root) > len(best)):
                best = root
        return best

    def via(self, key: str) -> str:
        """How the session reaches an external key: ``calib/v3.json`` for ``/rig/calib/v3.json``."""
        root = self.covering(key)
        if root is None:
            return self.absent.get(key, "?")
        return self.roots[root] + key[len(root) :]

    def scan(self) -> tuple[dict[str, os.stat_result], dict[str, str]]:
        """Every guarded entry as it is now (lstat), keyed by absolute path; unlisted directories."""
        found: dict[str, os.stat_result] = {}
        unlisted: dict[str, str] = {}
        for root in self.roots:
            try:
                st = os.lstat(root)
            except FileNotFoundError:
                continue
            found[root] = st
            if stat.S_ISDIR(st.st_mode):
                below, missed = scan(root, prefix=f"{root}/")
                found.update(below)
                unlisted.update({f"{root}/{rel}".rstrip("/"): why for rel, why in missed.items()})
        return found, unlisted

    def base_of(self, key: str) -> tuple[str, str]:
        """The directory a restore may recreate directories below, and ``key`` relative to it."""
        root = self.covering(key)
        if root is None or key == root:
            return os.path.dirname(key), os.path.basename(key)
        return root, key[len(root) + 1 :]

    def as_json(self) -> dict[str, dict[str, str]]:
        return {"roots": dict(self.roots), "absent": dict(self.absent)}

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, str]]) -> ExternalTargets:
        return cls(dict(data.get("roots", {})), dict(data.get("absent", {})))
