"""Feed a session directory before the run and write the adapter's outputs into it after.

Before the run the subject's trainer state and history go to the contract's places
(``curriculum/trainer_state.json``, ``curriculum/history.json``) as **new** files. A file the session
already holds is never overwritten: an identical trainer state is used as is; a different one stays
untouched, the store's state is written outside the session and passed with
``--input-trainer-state``, and a warning says so.

After the run the validated suggestion goes to ``curriculum/suggestion.json`` and the session's
metadata is annotated (``_metadata``): AIND v2 ``acquisition.json`` and v1 ``session.json`` in the
fields their schema has for it, a plain lab ``session.json`` (no ``schema_version``) with a top-level
``"curriculum"`` entry; every other key is kept as it was. Each write goes to a temporary file in
the same folder, is read back, then moved into place with ``os.replace``, so a crash never leaves half a file.

These files are only ever opened as regular files: ``check_session_files`` (before anything is
written) and every read (``read_regular``: ``O_NOFOLLOW | O_NONBLOCK``, then ``fstat``) refuse a FIFO,
socket, device, symlink or directory at their place with ``SessionFileRefused``, since opening a FIFO
blocks forever.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._files import write_bytes_atomic as write_atomic
from ._errors import SessionFileRefused, SessionWriteFailed

# The contract's documented places (``sdk._layout``), repeated here so that feeding a session does not
# import the SDK (pydantic, the DSL) before the curriculum starts; a test pins them to the SDK's.
TRAINER_STATE_FILE = "curriculum/trainer_state.json"
HISTORY_FILE = "curriculum/history.json"
SUGGESTION_FILE = "curriculum/suggestion.json"

#: The session's own metadata file (AIND v1 ``session.json``, or a plain lab file), annotated when present.
SESSION_METADATA_FILE = "session.json"
#: AIND v2's metadata of a session (``Acquisition``), annotated when present.
ACQUISITION_METADATA_FILE = "acquisition.json"
#: The metadata files the adapter annotates, in the order it reports them.
METADATA_FILES = (ACQUISITION_METADATA_FILE, SESSION_METADATA_FILE)
#: The key the adapter adds to a plain ``session.json`` (and, for AIND files, to an epoch's output parameters).
SESSION_METADATA_KEY = "curriculum"
#: Marks the adapter's entry as its own, so a later attempt may replace it.
METADATA_SOURCE = "curriculum-contract"
#: The session's files the adapter reads or writes: regular files or absent, nothing else.
SESSION_FILES = (TRAINER_STATE_FILE, HISTORY_FILE, SUGGESTION_FILE, *METADATA_FILES)

_KINDS = (
    (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory"),
    (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
)  # fmt: skip
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "special file")


def is_regular(path: Path) -> bool:
    """Whether ``path`` is a regular file (False when absent); raise ``SessionFileRefused`` for anything else.

    Only ``lstat``-ed: never opened, never followed.
    """
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not stat.S_ISREG(st.st_mode):
        raise SessionFileRefused(str(path), _kind(st.st_mode))
    return True


def check_session_files(session_dir: Path) -> None:
    """Raise ``SessionFileRefused`` when a file the adapter reads or writes is there but not a regular file."""
    for rel in SESSION_FILES:
        is_regular(session_dir / rel)


def read_regular(path: Path) -> bytes:
    """The bytes of the regular file ``path``; ``SessionFileRefused`` for anything else (never blocks on a FIFO).

    ``OSError`` as usual for a missing or unreadable file.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise SessionFileRefused(str(path), "symlink") from None
        raise
    with os.fdopen(fd, "rb") as file:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SessionFileRefused(str(path), _kind(st.st_mode))
        os.set_blocking(fd, True)
        return file.read()


@dataclass(frozen=True)
class FedInputs:
    """What :func:`feed_session` placed, and where the curriculum reads its trainer state."""

    trainer_state_file: Path
    """Absolute path of the trainer state the curriculum starts from."""
    pass_explicitly: bool
    """True when that file is outside the session: it must be passed with ``--input-trainer-state``."""
    created: tuple[str, ...]
    """Session-relative files the adapter created."""
    warnings: tuple[str, ...]


def _read_json(path: Path) -> tuple[Any, str | None]:
    """The JSON in ``path``, or None and the reason it could not be read."""
    try:
        return json.loads(read_regular(path)), None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, " ".join(str(exc).split())


def _dumps(value: Any, indent: int | None = 2) -> bytes:
    return (json.dumps(value, indent=indent, ensure_ascii=False) + "\n").encode("utf-8")


def _failed(what: str, path: Path, exc: OSError) -> SessionWriteFailed:
    return SessionWriteFailed(f"could not write {what} {path}: {exc.strerror or exc}")


def feed_session(
    session_dir: Path,
    trainer_state: Mapping[str, Any],
    history: Mapping[str, Any] | None,
    *,
    work_dir: Path,
    state_source: str = "the store",
) -> FedInputs:
    """Place the starting trainer state and the history (JSON-ready) in ``session_dir``.

    Raises ``SessionFileRefused`` before writing anything when one of the session's files is not regular.
    """
    check_session_files(session_dir)
    created: list[str] = []
    warnings: list[str] = []
    state_file = session_dir / TRAINER_STATE_FILE
    pass_explicitly = False
    if not os.path.lexists(state_file):
        _write_new(state_file, _dumps(dict(trainer_state)), "the trainer state")
        created.append(TRAINER_STATE_FILE)
    else:
        held, problem = _read_json(state_file)
        if problem is not None or held != trainer_state:
            why = f"is unreadable ({problem})" if problem else f"differs from {state_source}'s"
            outside = work_dir / "input_trainer_state.json"
            try:
                write_atomic(outside, _dumps(dict(trainer_state)))
            except OSError as exc:
                raise _failed("the trainer state", outside, exc) from exc
            state_file, pass_explicitly = outside, True
            warnings.append(
                f"the session's {TRAINER_STATE_FILE} {why}: left untouched, "
                f"{state_source}'s state was passed with --input-trainer-state"
            )
    if history is not None:
        history_file = session_dir / HISTORY_FILE
        if not os.path.lexists(history_file):
            _write_new(history_file, _dumps(dict(history)), "the history")
            created.append(HISTORY_FILE)
        elif _read_json(history_file)[0] != history:
            warnings.append(
                f"the session's {HISTORY_FILE} differs from {state_source}'s history: "
                "left untouched, the curriculum reads the session's file"
            )
    return FedInputs(state_file.absolute(), pass_explicitly, tuple(created), tuple(warnings))


def _write_new(path: Path, data: bytes, what: str) -> None:
    try:
        write_atomic(path, data, new=True)
    except OSError as exc:
        raise _failed(what, path, exc) from exc


def write_suggestion(session_dir: Path, document: Mapping[str, Any]) -> tuple[Path, list[str]]:
    """Write the validated suggestion to ``curriculum/suggestion.json``; returns it and any warnings.

    A different suggestion already there (an earlier attempt) is kept under a dated name first.
    """
    path = session_dir / SUGGESTION_FILE
    data = _dumps(dict(document))
    warnings: list[str] = []
    try:
        if is_regular(path):
            earlier = read_regular(path)
            if earlier == data:
                return path, warnings
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            kept = path.with_name(f"suggestion.previous-{stamp}.json")
            write_atomic(kept, earlier, new=True)  # keep the earlier file before replacing it
            warnings.append(f"an earlier {SUGGESTION_FILE} was kept as {kept.name}")
        write_atomic(path, data)
    except OSError as exc:
        raise _failed("the suggestion", path, exc) from exc
    return path, warnings
