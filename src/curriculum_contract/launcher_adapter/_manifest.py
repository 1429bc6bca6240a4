"""The preserve directory describes itself: ``snapshot.json``, what a recovery needs after a crash.

Written once, atomically (a temporary name, then ``os.replace``), after the copies and links are
made and before the directory is sealed and the curriculum starts; so a directory without one was
left by a launcher killed before any run, and one with it holds a complete snapshot. Version 1::

    {"format": "curriculum-contract preserve", "version": 1, "session": "/data/m1/s1",
     "created_at": "...", "pid": 123, "host": "rig-3",
     "limits": {"full_hash_limit": ..., "sample_blocks": ..., "block_size": ...},
     "root_mode": 16877, "parent_names": [...] | null, "unlisted": [...], "warnings": [...],
     "directories": {"behavior": 16877, ...},
     "entries": {"trials.csv": [kind, size, mtime_ns, inode, mode, digest, sampled, ctime_ns], ...},
     "settled_before_ns": 1764000000000000000,
     "external": {"roots": {"/rig/calib": "calib"}, "absent": {}},
     "packed": {"trials.csv": [offset, size]}, "linked": {"video.avi": "linked/video.avi"},
     "unpreserved": {"x.bin": "hard link failed: ..."}}
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._fingerprint import Entry, Limits
from ._links import ExternalTargets
from ._workspace import MANIFEST_NAME

if TYPE_CHECKING:
    from ._guard import SessionSnapshot
    from ._preserve import Preserved

FORMAT = "curriculum-contract preserve"
VERSION = 1


class ManifestError(ValueError):
    """A preserve directory's ``snapshot.json`` is missing, unreadable or of another format."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Manifest:
    """What a preserve folder's ``snapshot.json`` holds."""

    snapshot: SessionSnapshot
    packed: dict[str, tuple[int, int]]
    linked: dict[str, Path]
    unpreserved: dict[str, str]
    meta: dict[str, Any]
    """created_at, pid, host."""


def write_manifest(preserved: Preserved) -> None:
    """Write ``snapshot.json`` into the (not yet sealed) preserve folder, atomically."""
    snap = preserved.snapshot
    assert preserved.workspace is not None and preserved.directory is not None
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "session": str(snap.root),
        "created_at": datetime.now(UTC).isoformat(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "limits": {
            "full_hash_limit": snap.limits.full_hash_limit,
            "sample_blocks": snap.limits.sample_blocks,
            "block_size": snap.limits.block_size,
        },
        "root_mode": snap.root_mode,
        "parent_names": sorted(snap.parent_names) if snap.parent_names is not None else None,
        "unlisted": sorted(snap.unlisted),
        "warnings": preserved.warnings,
        "directories": snap.directories,
        "entries": {
            key: [e.kind, e.size, e.mtime_ns, e.inode, e.mode, e.digest, e.sampled, e.ctime_ns]
            for key, e in snap.entries.items()
        },
        "settled_before_ns": snap.settled_before_ns,
        "external": snap.external.as_json(),
        "packed": preserved.packed,
        "linked": {key: path.relative_to(preserved.directory).as_posix() for key, path in preserved.linked.items()},
        "unpreserved": preserved.unpreserved,
    }
    final = preserved.workspace.manifest
    temporary = final.with_name(f".{final.name}.tmp")
    temporary.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")  # dumps: the C encoder
    os.replace(temporary, final)


def read_manifest(directory: Path) -> Manifest:
    """What the preserve folder ``directory`` describes; ``ManifestError`` (``missing``: there is none)."""
    from ._guard import SessionSnapshot

    path = directory / MANIFEST_NAME
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing (the launcher stopped before the run started)", missing=True) from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: unreadable: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ManifestError(f"{path}: not a version {VERSION} {FORMAT} manifest")
    try:
        parents = document["parent_names"]
        snapshot = SessionSnapshot(
            Path(document["session"]),
            {key: Entry(*fields[:6], bool(fields[6]), *fields[7:8]) for key, fields in document["entries"].items()},
            {key: int(mode) for key, mode in document["directories"].items()},
            frozenset(parents) if parents is not None else None,
            limits=Limits(**document["limits"]),
            root_mode=int(document["root_mode"]),
            external=ExternalTargets.from_json(document["external"]),
            warnings=document["warnings"],
            unlisted=document["unlisted"],
            settled_before_ns=int(document.get("settled_before_ns", 0)),
        )
        return Manifest(
            snapshot,
            {key: (int(o), int(s)) for key, (o, s) in document["packed"].items()},
            {key: directory / rel for key, rel in document["linked"].items()},
            dict(document["unpreserved"]),
            {key: document.get(key) for key in ("created_at", "pid", "host")},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{path}: malformed: {exc!r}") from None
