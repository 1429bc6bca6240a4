"""Finish what a killed launch left: read its journal, keep or roll back its outputs, recover the session.

Run first by every launch of a session (under the session's lock, so the journal's launch is dead)
and by ``curriculum-contract recover``. The journal's step decides:

- ``committed``, or ``committing`` with the launch's ``ok`` row in the store (found by its
  ``started_at``): the commit point was passed, outputs and record agree; the run had passed the guard,
  so its preserve folder is removed as it is (restoring from it would undo the outputs);
- anything else (``running``, a commit the store never recorded, no readable journal): the outputs
  are rolled back from the journal's copies, then ``recover_session`` (``_recover``) restores what
  the curriculum changed from the preserve folder and removes it, and the attempt is recorded as a
  skip saying so (when a store is at hand).

A preserve folder without a journal (a launcher older than the journal) goes to ``recover_session`` too.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ._journal import Journal
from ._manifest import ManifestError
from ._preserve import Preserved, remove_directory
from ._recover import RecoveryReport, leftover_folders, recover_session
from ._store import HistoryStore, SessionRecord, now

logger = logging.getLogger(__name__)


@dataclass
class Unfinished:
    """What finishing one session's interrupted launch did; ``summary()`` says it in one line."""

    session_dir: Path
    step: str | None = None
    committed: bool = False
    rolled_back: list[str] = field(default_factory=list)
    report: RecoveryReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.report is None or self.report.clean

    def summary(self) -> str:
        if self.committed:
            what = f"interrupted launch had committed (step {self.step}): outputs and record kept"
        else:
            what = f"interrupted launch rolled back (step {self.step or 'unknown'})"
            if self.rolled_back:
                what += f": {'; '.join(self.rolled_back)}"
        if self.report is not None and self.report.found:
            what += f"; {self.report.summary()}"
        if self.notes:
            what += f"; {'; '.join(self.notes)}"
        return what


def finish_unfinished(session_dir: Path, store: HistoryStore | None) -> Unfinished | None:
    """Finish the interrupted launch of ``session_dir`` (see the module doc); None when there was none.

    The caller holds the session's lock. Raises ``StoreError`` when the store cannot say whether the
    launch committed (nothing is changed then).
    """
    journal = Journal.load(session_dir)
    if journal is None and not leftover_folders(session_dir):
        return None
    done = Unfinished(session_dir, step=journal.step if journal is not None else None)
    if journal is not None and journal.step in ("committing", "committed"):
        done.committed = journal.step == "committed" or _recorded(store, journal)
        if store is None and journal.step == "committing":
            done.notes.append("no store to ask whether the commit finished: rolled back")
    if done.committed:
        assert journal is not None
        _discard(journal, done)
    else:
        if journal is not None:
            done.rolled_back = journal.rollback()
        done.report = recover_session(session_dir)
        if journal is not None and journal.data.get("subject"):
            _record_skip(store, journal, done)
    if journal is not None and (done.report is None or not done.report.kept):
        journal.remove()
    logger.warning("session %s: %s", session_dir, done.summary())
    return done


def _recorded(store: HistoryStore | None, journal: Journal) -> bool:
    """Whether the store holds the journal's launch as ``ok`` (found by its ``started_at``)."""
    if store is None:
        return False
    started = journal.data.get("started_at")
    for row in store.session_rows(str(journal.data.get("subject"))):
        same = row["session"] == journal.session_dir.name and row["status"] == "ok"
        if same and row["started_at"] is not None and row["started_at"].isoformat() == started:
            return True
    return False


def _discard(journal: Journal, done: Unfinished) -> None:
    """Remove the committed launch's preserve folder without restoring from it."""
    folder = journal.data.get("preserve_dir")
    if not folder:
        return
    path = Path(folder)
    if path.parent != journal.session_dir.parent or not path.name.startswith(f".{journal.session_dir.name}."):
        done.notes.append(f"the journal names a preserve folder {path} that is not the session's: left")
        return
    try:
        preserved, _ = Preserved.load(path)
    except FileNotFoundError:
        return
    except BlockingIOError:
        done.notes.append(f"{path} is in use by a running launch: left")
        return
    except ManifestError:
        st = os.lstat(path)
        remove_directory(path, (st.st_dev, st.st_ino), str(journal.session_dir))
        return
    preserved.remove()


def _record_skip(store: HistoryStore | None, journal: Journal, done: Unfinished) -> None:
    if store is None:
        done.notes.append("not recorded (no store)")
        return
    try:
        started = datetime.fromisoformat(str(journal.data.get("started_at")))
    except ValueError:
        started = now()
    pid = journal.data.get("pid")
    reason = f"launch interrupted (launcher pid {pid} died at step {done.step}); recovered: {done.summary()}"
    store.record_session(
        SessionRecord(
            subject=str(journal.data["subject"]),
            session=journal.session_dir.name,
            session_path=str(journal.session_dir),
            status="skipped",
            started_at=started,
            finished_at=now(),
            reason=reason,
        )
    )
    subject, session = str(journal.data["subject"]), journal.session_dir.name
    store.record_event(subject, "recovered-launch", session=session, reason=reason)


def sessions_with_leftovers(root: Path, *, depth: int = 3) -> list[Path]:
    """The sessions under ``root`` (``depth`` levels down at most) with a journal or a preserve folder beside them."""
    from ._journal import JOURNAL_SUFFIX
    from ._preserve import PRESERVE_INFIX

    found: set[Path] = set()
    level = [Path(os.path.realpath(root))]
    for _ in range(depth):
        below: list[Path] = []
        for folder in level:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                name = entry.name
                if name.startswith("."):
                    for marker in (JOURNAL_SUFFIX, PRESERVE_INFIX):
                        if marker in name:
                            found.add(folder / name[1 : name.index(marker)])
                else:
                    below.append(Path(entry.path))
        level = below
    return sorted(path for path in found if path.name)


def data_roots(store: HistoryStore) -> list[Path]:
    """The folders holding the sessions the store has recorded: where its unfinished launches would be."""
    return sorted({Path(row["session_path"]).parent for row in store.session_rows()})


def recover(session_dir: Path, store: HistoryStore | None) -> str:
    """Finish one session's interrupted launch under its lock; one line saying what happened."""
    from ._errors import SessionBusy
    from ._lock import session_lock

    session = Path(os.path.realpath(session_dir))
    try:
        with session_lock(session):
            done = finish_unfinished(session, store)
    except SessionBusy:
        return f"{session}: being launched right now: left alone"
    return f"{session}: {done.summary() if done is not None else 'nothing to recover'}"
