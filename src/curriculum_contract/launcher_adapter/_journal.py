"""The launch journal: what a launch was doing, written next to the session so a killed one can be undone.

``<parent>/.<session>.curriculum-launch/`` (a directory: the guard never reports directories next to
the session) holds ``journal.json``, rewritten atomically at each step, and ``before/``, the bytes of
the session files the adapter is about to replace (``acquisition.json``, ``session.json``,
``curriculum/suggestion.json``)::

    {"journal_version": 1, "step": "running" | "committing" | "committed" | "finished",
     "session": "/data/M1/s1", "subject": "M1", "store": "sqlite:///...", "started_at": "...",
     "pid": 4242, "preserve_dir": "/data/M1/.s1.curriculum-preserve-ab12cd34" | null,
     "outputs": {"session.json": {"existed": true, "backup": "session.json", "mode": 420, "mtime_ns": ...}},
     "previous_suggestions": ["suggestion.previous-....json"]}

A launch that ends (however: ok, typed error, exception) removes it; only a launcher killed outright
leaves one, and the next launch of the session (or ``curriculum-contract recover``) reads it first
(``_unfinished``). ``rollback`` puts the replaced files back byte for byte (mode and mtime too) and
removes the outputs the launch created, so that the session and the store agree: both or neither.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_bytes_atomic

JOURNAL_VERSION = 1
JOURNAL_SUFFIX = ".curriculum-launch"
JOURNAL_FILE = "journal.json"
BEFORE_DIR = "before"
#: Pattern of the earlier suggestions ``write_suggestion`` keeps (in ``curriculum/``).
PREVIOUS_SUGGESTION_PREFIX = "suggestion.previous-"


def journal_dir(session_dir: Path) -> Path:
    return session_dir.parent / f".{session_dir.name}{JOURNAL_SUFFIX}"


def _previous_suggestions(session_dir: Path) -> list[str]:
    folder = session_dir / "curriculum"
    try:
        return sorted(n for n in os.listdir(folder) if n.startswith(PREVIOUS_SUGGESTION_PREFIX))
    except OSError:
        return []


@dataclass
class Journal:
    """One launch's journal (see the module doc); every change is written to disk before it returns."""

    directory: Path | None
    """None: a journal in memory only (the data root is not writable): it rolls back, it cannot be recovered."""
    data: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, bytes] = field(default_factory=dict)

    @property
    def session_dir(self) -> Path:
        return Path(self.data["session"])

    @property
    def step(self) -> str:
        return str(self.data.get("step") or "running")

    @classmethod
    def start(cls, session_dir: Path, *, subject: str, store: str, started_at: str) -> Journal:
        """A new journal at step ``running``; raises ``OSError`` when the data root is not writable."""
        directory = journal_dir(session_dir)
        directory.mkdir()
        journal = cls(directory)
        journal.data = {
            "journal_version": JOURNAL_VERSION,
            "step": "running",
            "session": str(session_dir),
            "subject": subject,
            "store": store,
            "started_at": started_at,
            "pid": os.getpid(),
            "preserve_dir": None,
            "outputs": {},
            "previous_suggestions": [],
        }
        try:
            journal._write()
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return journal

    @classmethod
    def in_memory(cls, session_dir: Path, *, subject: str) -> Journal:
        return cls(None, {"step": "running", "session": str(session_dir), "subject": subject, "outputs": {}})

    @classmethod
    def load(cls, session_dir: Path) -> Journal | None:
        """The journal a killed launch left (its data ``{}`` when unreadable), or None."""
        directory = journal_dir(session_dir)
        if not directory.is_dir() or directory.is_symlink():
            return None
        try:
            data = json.loads((directory / JOURNAL_FILE).read_bytes())
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data.setdefault("session", str(session_dir))
        return cls(directory, data)

    def _write(self) -> None:
        if self.directory is None:
            return
        write_bytes_atomic(self.directory / JOURNAL_FILE, (json.dumps(self.data, indent=2) + "\n").encode())

    def update(self, **values: Any) -> None:
        self.data.update(values)
        self._write()

    def begin_commit(self, outputs: list[str]) -> None:
        """Keep the bytes of the ``outputs`` (session-relative) that exist, then mark the step ``committing``."""
        recorded: dict[str, Any] = {}
        for rel in outputs:
            path = self.session_dir / rel
            if path.is_file() and not path.is_symlink():
                st = path.stat()
                backup = rel.replace("/", "__")
                self._keep(backup, path.read_bytes())
                mode, mtime_ns = st.st_mode & 0o7777, st.st_mtime_ns
                recorded[rel] = {"existed": True, "backup": backup, "mode": mode, "mtime_ns": mtime_ns}
            else:
                recorded[rel] = {"existed": os.path.lexists(path), "backup": None}
        self.update(step="committing", outputs=recorded, previous_suggestions=_previous_suggestions(self.session_dir))

    def _keep(self, name: str, data: bytes) -> None:
        if self.directory is None:
            self.memory[name] = data
            return
        (self.directory / BEFORE_DIR).mkdir(exist_ok=True)
        write_bytes_atomic(self.directory / BEFORE_DIR / name, data)

    def _kept(self, name: str) -> bytes:
        if self.directory is None:
            return self.memory[name]
        return (self.directory / BEFORE_DIR / name).read_bytes()

    def rollback(self) -> list[str]:
        """Undo the outputs of a commit that did not finish; return one line per file put back or removed."""
        done: list[str] = []
        session = self.session_dir
        for rel, info in (self.data.get("outputs") or {}).items():
            path = session / rel
            if info.get("backup"):
                data = self._kept(info["backup"])
                if not path.is_file() or path.read_bytes() != data:
                    write_bytes_atomic(path, data)
                    os.chmod(path, int(info.get("mode") or 0o644))
                    done.append(f"{rel}: put back")
                with contextlib.suppress(OSError, KeyError, TypeError):
                    os.utime(path, ns=(int(info["mtime_ns"]), int(info["mtime_ns"])))
            elif not info.get("existed") and os.path.lexists(path):
                os.unlink(path)
                done.append(f"{rel}: removed")
        if self.step in ("committing", "committed"):
            known = set(self.data.get("previous_suggestions") or [])
            for name in _previous_suggestions(session):
                if name not in known:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(session / "curriculum" / name)
                        done.append(f"curriculum/{name}: removed")
        return done

    def remove(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
