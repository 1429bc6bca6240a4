"""The ``--out`` directory of a simulation: checked before anything runs, and left holding this run only.

A run may write into a new directory (created only when the results are written), an empty one, or one that
holds the results of an earlier run: its ``run.json`` (or A/ and B/ with theirs) and only the names below,
hidden files aside. Anything else is refused up front (exit 2) and never touched. After the run
has written its results, the result files of the earlier run that this one did not write are removed, so
the directory never mixes two runs: a table, a plot or a comparison from before. The kept sessions
(``--keep-sessions``) are written into a hidden directory first and replace ``sessions/`` only when the run
succeeded; an earlier ``sessions/`` is removed only when that run's ``run.json`` lists it as its own. The two
runs of a comparison and its files are made in a hidden directory too and replace A/, B/ and the earlier
comparison only when all succeeded. A
run that fails leaves no directory it created.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .._files import missing_directories, staging_directory
from ._output import COMPARISON_FILES, PLOT_FILE, RUN_FILE, TABLES
from ._signals import interrupts_ignored

SESSIONS_DIRECTORY = "sessions"
#: Where ``curriculum-contract simulate --compare`` keeps the runs of the two versions.
VERSION_DIRECTORIES = ("A", "B")
RESULT_FILES = frozenset(
    {RUN_FILE, PLOT_FILE, *COMPARISON_FILES, *(f"{table}.{kind}" for table in TABLES for kind in ("csv", "parquet"))}
)
_VERSION_NAMES = RESULT_FILES | {SESSIONS_DIRECTORY}
_RESULT_NAMES = _VERSION_NAMES | set(VERSION_DIRECTORIES)


@dataclass(frozen=True)
class OutputDirectory:
    """A checked ``--out`` directory and the names its earlier run's ``run.json`` lists as its own."""

    path: Path
    claimed: frozenset[str]

    @classmethod
    def prepare(cls, path: Path, error: Callable[[str], Exception], *, keep_sessions: bool = False) -> OutputDirectory:
        """Check that ``path`` can hold this run's results (it is created when they are written, so a run that
        fails leaves no new directory); ``error(reason)`` raised when it cannot."""
        if not path.exists():
            _check_creatable(path, error)
            return cls(path, frozenset())
        names = _listing(path, error)
        foreign = sorted(name for name in names if name not in _RESULT_NAMES)
        for version in (name for name in VERSION_DIRECTORIES if name in names):  # A/ and B/ hold one run each
            inside = _listing(path / version, error)
            foreign += sorted(f"{version}/{name}" for name in inside if name not in _VERSION_NAMES)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise error(f"--out {path}: holds files a simulation does not write ({shown}): choose a new or empty one")
        if names and not any((path / name / RUN_FILE).is_file() for name in ("", *VERSION_DIRECTORIES)):
            raise error(
                f"--out {path}: holds {', '.join(sorted(names))} but no {RUN_FILE} of a simulation's results: "
                "choose a new or empty one"
            )
        directory = cls(path, _claimed(path))
        if keep_sessions and (path / SESSIONS_DIRECTORY).exists() and SESSIONS_DIRECTORY not in directory.claimed:
            raise error(
                f"--out {path}: its {SESSIONS_DIRECTORY}/ is not listed by a {RUN_FILE} of a simulation: "
                "move it away or choose another --out"
            )
        return directory

    @contextmanager
    def keeping_sessions(self) -> Iterator[Path]:
        """A new hidden directory for the sessions; it becomes ``sessions/`` when the block succeeds."""
        with self._staging(SESSIONS_DIRECTORY) as staging:
            yield staging
            self._remove_claimed(SESSIONS_DIRECTORY)
            staging.rename(self.path / SESSIONS_DIRECTORY)

    @contextmanager
    def staging_versions(self) -> Iterator[Path]:
        """A new hidden directory for a comparison: its two runs (``A``, ``B``) and its files. When the block
        succeeds they replace A/, B/ and the earlier comparison's files (a few renames)."""
        with self._staging("compare") as staging:
            yield staging
            self.remove_versions()
            for name in sorted(os.listdir(staging)):
                os.replace(staging / name, self.path / name)

    @contextmanager
    def _staging(self, label: str) -> Iterator[Path]:
        """A hidden directory in ``path`` (made, with its parents, if missing), removed after the block; on a
        failure so is any directory made for it."""
        made = missing_directories(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        staging = staging_directory(self.path, f".{label}-")
        succeeded = False
        try:
            yield staging
            succeeded = True
        finally:
            with interrupts_ignored():  # a second Ctrl-C must not leave half of it
                shutil.rmtree(staging, ignore_errors=True)
                for directory in [] if succeeded else made:  # deepest first; one holding something else stays
                    with contextlib.suppress(OSError):
                        directory.rmdir()

    def remove_stale(self, written: Iterable[Path | str]) -> None:
        """Remove the result files (and claimed sessions, and a comparison's A/ and B/) the earlier run left and
        this one did not write."""
        kept = {Path(name).name for name in written}
        for name in sorted(RESULT_FILES - kept):
            (self.path / name).unlink(missing_ok=True)
        if SESSIONS_DIRECTORY not in kept:
            self._remove_claimed(SESSIONS_DIRECTORY)
        if not kept & set(VERSION_DIRECTORIES):
            self.remove_versions()

    def remove_versions(self) -> None:
        """Remove the A/ and B/ of an earlier comparison (what else is in them is left, with them)."""
        for name in VERSION_DIRECTORIES:
            version = self.path / name
            if (version / RUN_FILE).is_file():
                OutputDirectory(version, _claimed(version)).remove_stale(())
                with contextlib.suppress(OSError):  # not empty: what else is in it is not ours
                    version.rmdir()

    def _remove_claimed(self, name: str) -> None:
        if name in self.claimed:
            shutil.rmtree(self.path / name, ignore_errors=True)


def _listing(path: Path, error: Callable[[str], Exception]) -> list[str]:
    """The names in directory ``path``, hidden ones aside."""
    if not path.is_dir():
        raise error(f"--out {path}: exists and is not a directory")
    try:
        return [name for name in os.listdir(path) if not name.startswith(".")]
    except OSError as problem:
        raise error(f"--out {path}: cannot be listed: {problem.strerror or problem}") from None


def _claimed(path: Path) -> frozenset[str]:
    """The names ``path/run.json`` lists as its run's files (none when it is missing or unreadable)."""
    try:
        files = json.loads((path / RUN_FILE).read_text(encoding="utf-8")).get("files", [])
        return frozenset(name for name in files if isinstance(name, str))
    except (OSError, ValueError, AttributeError):
        return frozenset()


def _check_creatable(path: Path, error: Callable[[str], Exception]) -> None:
    """The nearest existing ancestor of ``path`` must be a directory this process may write in."""
    ancestor = next(parent for parent in path.absolute().parents if parent.exists())
    if not ancestor.is_dir():
        raise error(f"--out {path}: cannot be created: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise error(f"--out {path}: cannot be created: {ancestor} is not writable")
    try:  # permissions are not the whole story (a read-only mount, /proc): make a directory there, and remove it
        os.rmdir(tempfile.mkdtemp(prefix=".curriculum-out-check-", dir=ancestor))
    except OSError as problem:
        raise error(f"--out {path}: cannot be created in {ancestor}: {problem.strerror or problem}") from None
