"""Recover a session after a launcher was killed outright: use the preserve folder it left behind.

A launch preserves the session in ``<parent>/.<session>.curriculum-preserve-XXXXXXXX/`` with its
snapshot (``_manifest``) and removes it after the run; only SIGKILL or a power loss leaves one.
``recover_session`` finds the leftovers of one session, and for each (newest first, so that the
oldest snapshot, the one taken before any of the crashed runs, has the last word):

- one a live launch holds (its ``flock``) is left alone and reported;
- one without a manifest was left before any run started: removed;
- otherwise the session is compared with the stored snapshot, every lost or changed entry is
  restored from the preserved copies (checked against the snapshot first), new files the crashed
  run wrote are reported and left, and the folder is removed — unless an entry could not be put
  back although a preserved version of it exists: then the folder stays, for an operator.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ._manifest import ManifestError
from ._preserve import Preserved
from ._workspace import PRESERVE_INFIX, remove_directory


@dataclass
class RecoveryReport:
    """What ``recover_session`` found and did; ``summary()`` says it in one line."""

    session_dir: Path
    found: list[Path] = field(default_factory=list)
    """The leftover preserve folders of the session."""
    violations: list[str] = field(default_factory=list)
    """How the session differed from the stored snapshot(s), one line each (new files included)."""
    restored: list[str] = field(default_factory=list)
    not_restored: list[str] = field(default_factory=list)
    """``"path: why"`` for each lost entry that could not be put back."""
    removed: list[Path] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """``"folder: why"`` for each folder left in place (in use, unreadable manifest, needed)."""

    @property
    def clean(self) -> bool:
        """Nothing was wrong: no leftover, or leftovers of runs that changed nothing."""
        return not (self.violations or self.not_restored or self.kept)

    def summary(self) -> str:
        if not self.found:
            return f"nothing to recover for {self.session_dir}"
        what = f"{len(self.found)} leftover preserve folder(s) of {self.session_dir}"
        parts = [f"{len(self.removed)} removed"]
        if self.violations:
            more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
            parts.append(f"{self.violations[0]}{more}")
        if self.restored:
            more = f" (and {len(self.restored) - 3} more)" if len(self.restored) > 3 else ""
            parts.append(f"restored {', '.join(self.restored[:3])}{more}")
        if self.not_restored:
            parts.append(f"NOT restored: {self.not_restored[0]}")
        if self.kept:
            parts.append(f"kept {self.kept[0]}")
        return f"{what}: {'; '.join(parts)}"


def leftover_folders(session_dir: str | os.PathLike[str]) -> list[Path]:
    """The preserve folders next to ``session_dir`` that belong to it (real directories only)."""
    session = Path(os.path.realpath(session_dir))
    prefix = f".{session.name}{PRESERVE_INFIX}"
    found = []
    try:
        with os.scandir(session.parent) as it:
            for entry in it:
                if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
                    found.append(Path(entry.path))
    except FileNotFoundError:
        return []
    return sorted(found)


def recover_session(session_dir: str | os.PathLike[str]) -> RecoveryReport:
    """Restore ``session_dir`` from the preserve folders a killed launcher left; see the module doc."""
    session = Path(os.path.realpath(session_dir))
    report = RecoveryReport(session)
    report.found = leftover_folders(session)
    loaded: list[tuple[str, Preserved]] = []
    for folder in report.found:
        try:
            preserved, meta = Preserved.load(folder)
        except BlockingIOError:
            report.kept.append(f"{folder}: in use by a running launch")
            continue
        except ManifestError as error:
            if error.missing:  # the launcher died before the run: the session was never exposed
                st = os.lstat(folder)
                remove_directory(folder, (st.st_dev, st.st_ino), str(session))
                report.removed.append(folder)
            else:
                report.kept.append(f"{folder}: {error}")
            continue
        if preserved.snapshot.root != session:
            report.kept.append(f"{folder}: its snapshot is of {preserved.snapshot.root}")
            preserved.release()
            continue
        loaded.append((str(meta.get("created_at") or ""), preserved))
    for _, preserved in sorted(loaded, key=lambda pair: pair[0], reverse=True):
        _recover_one(report, preserved)
    return report


def _recover_one(report: RecoveryReport, preserved: Preserved) -> None:
    snapshot = preserved.snapshot
    snapshot.parent_names = None  # the data root has moved on since the crash: not a trace of the run
    findings = snapshot.compare(preserved=preserved)
    report.violations += [line for line in findings.lines if line not in report.violations]
    restored, failed = preserved.restore(findings.lost) if findings.lost else ([], [])
    report.restored += [key for key in restored if key not in report.restored]
    report.not_restored += failed
    salvageable = [
        line
        for line in failed
        if (key := _key_of(line, findings.lost)) is not None and (key in preserved.packed or key in preserved.linked)
    ]
    folder = preserved.directory
    assert folder is not None
    if salvageable:
        report.kept.append(f"{folder}: holds a preserved version of {len(salvageable)} entry(ies) not restored")
        preserved.release()
        return
    preserved.remove()
    if not _exists(folder):
        report.removed.append(folder)
    else:
        report.kept.append(f"{folder}: could not be removed")


def _key_of(line: str, keys: list[str]) -> str | None:
    for key in keys:
        if line.startswith(f"{key}: ") or line.startswith(f"{key} (via "):
            return key
    return None


def _exists(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
