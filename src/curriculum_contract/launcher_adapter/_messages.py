"""The one wording of each cause ``launch``, ``enroll`` and ``history`` (and the Python API) report.

The same cause reads the same wherever it is met: build the reason here, raise the typed error there.
"""

from __future__ import annotations

from pathlib import Path


def enroll_hint(subject: str) -> str:
    return f"run `curriculum-contract enroll --curriculum DIR --subject {subject}` first"


#: How to launch a session whose inputs name another subject anyway: the CLI's options, then the Python API's.
SUBJECT_MISMATCH_HINT = (
    "launch again with --allow-subject-mismatch --reason TEXT to launch it anyway "
    "(Python: allow_subject_mismatch=True, reason=...)"
)


def not_enrolled(subject: str, where: str, why: str = "") -> str:
    """``subject 'M1' is not enrolled in STORE: ...`` (``why`` replaces the hint to enroll)."""
    return f"subject {subject!r} is not enrolled in {where}: {why or enroll_hint(subject)}"


def store_cannot_open(where: str, why: str) -> str:
    """``history store STORE cannot be opened: why``."""
    return f"history store {where} cannot be opened: {why}"


def store_missing(path: Path) -> str:
    """The store a read-only command was pointed at does not exist (it is never created by reading)."""
    return store_cannot_open(str(path.absolute()), "no such file (a store is created by `enroll` or `launch`)")


def curriculum_not_found(path: Path | str, why: str = "does not exist") -> str:
    """``curriculum directory DIR not found: why``."""
    return f"curriculum directory {path} not found: {why}"


def curriculum_unusable(path: Path | str, why: str) -> str:
    """``curriculum directory DIR cannot be used: why``: it is there, but not a runnable project (yet)."""
    return f"curriculum directory {path} cannot be used: {why}"


def session_not_found(path: Path | str, why: str = "does not exist or is not a directory") -> str:
    """``session directory DIR not found: why``."""
    return f"session directory {path} not found: {why}"


def not_utf8(what: str, value: str | bytes) -> str:
    """A path or identifier that cannot be recorded: it is not valid UTF-8 (names the first bad byte)."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", errors="surrogateescape")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        where = f"byte 0x{raw[error.start]:02x} at position {error.start}"
    else:  # a str holding lone surrogates that are not escaped bytes
        where = "a lone surrogate"
    return f"{what} {raw!r} is not valid UTF-8 ({where}): rename it, the history store records text"
