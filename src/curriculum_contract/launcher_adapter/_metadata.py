"""Record the curriculum's step in the session's metadata files, keeping each one valid for its schema.

``annotate_session_metadata`` looks at ``acquisition.json`` and ``session.json`` (``METADATA_FILES``):

- AIND v2 ``acquisition.json`` / v1 ``session.json`` (told by ``schema_version``): into one stimulus
  epoch, in the fields the schema has for it (``_metadata_aind``); never a key the schema forbids;
- a plain lab ``session.json`` (no ``schema_version``, no AIND ``describedBy``): no schema forbids a
  key, so it gets a top-level ``"curriculum"`` entry (:func:`metadata_entry`), as before;
- anything else (not JSON, AIND metadata that is not valid, of another generation, an
  ``acquisition.json`` that is not AIND v2): left untouched, one warning line naming the file and why.

Every other key is kept as it was, in its order, with the file's indentation; writes are atomic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._feed import (
    METADATA_FILES,
    METADATA_SOURCE,
    SESSION_METADATA_FILE,
    SESSION_METADATA_KEY,
    SUGGESTION_FILE,
    _dumps,
    _failed,
    is_regular,
    read_regular,
    write_atomic,
)
from ._metadata_aind import annotate, generation_of

if TYPE_CHECKING:
    from ._locate import Provenance


def metadata_entry(
    *,
    curriculum_name: str | None,
    curriculum_version: str | None,
    curriculum_commit: str | None,
    stage_before: str | None,
    stage_after: str | None,
    metrics: Mapping[str, Any],
    legacy: bool,
    warnings: Sequence[str] = (),
    curriculum_url: str | None = None,
    task_name: str | None = None,
    suggested_task: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the adapter records of a step: the ``"curriculum"`` entry of a plain ``session.json``.

    ``curriculum_url``, ``task_name`` (the task the session ran) and ``suggested_task`` serve the
    AIND annotation (a ``Code``'s url and parameters, the choice of epoch); a plain file gets the url only.
    """
    return {
        "source": METADATA_SOURCE,
        "curriculum_name": curriculum_name,
        "curriculum_version": curriculum_version,
        "curriculum_commit": curriculum_commit,
        "curriculum_url": curriculum_url,
        "stage_before": stage_before,
        "stage_after": stage_after,
        "metrics": dict(metrics),
        "legacy_output": legacy,
        "suggestion_file": SUGGESTION_FILE,
        "warnings": list(warnings),
        "recorded_at": datetime.now(UTC).isoformat(),
        "task_name": task_name,
        "suggested_task": dict(suggested_task) if suggested_task is not None else None,
    }


def code_url(provenance: Provenance | None) -> str | None:
    """Where the curriculum's code is: its git remote, else its folder as a ``file://`` URL."""
    if provenance is None:
        return None
    return provenance.remote_url or Path(provenance.path).absolute().as_uri()


def task_of(trainer_state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The task of a trainer state's stage (name and parameters), if it has one."""
    stage = (trainer_state or {}).get("stage")
    task = stage.get("task") if isinstance(stage, Mapping) else None
    return dict(task) if isinstance(task, Mapping) else None


#: Entry keys only the AIND annotation uses: not written into a plain file's entry.
_AIND_ONLY = ("task_name", "suggested_task")


def _indent_of(text: str) -> int | None:
    """The indentation the file was written with, so the rewrite looks like the original."""
    lines = text.splitlines()
    if len(lines) < 2:
        return None
    second = lines[1]
    return (len(second) - len(second.lstrip(" "))) or None


def _is_own_entry(value: Any) -> bool:
    return isinstance(value, dict) and value.get("source") == METADATA_SOURCE


def annotate_session_metadata(session_dir: Path, entry: Mapping[str, Any]) -> tuple[Path | None, list[str]]:
    """Record ``entry`` in the session's metadata files (``METADATA_FILES``) that are there.

    Returns the first file written (None when none was) and warnings, one line each. A file is left
    untouched, with a warning, when it is not a JSON object, is AIND metadata that is not valid (or of
    a generation the adapter does not know), or already holds a ``"curriculum"`` entry written by
    something else. Raises ``SessionWriteFailed`` when a write fails.
    """
    written: list[Path] = []
    warnings: list[str] = []
    for name in METADATA_FILES:
        path = session_dir / name
        if not is_regular(path):
            continue
        data, more = _annotated(path, name, entry)
        warnings.extend(more)
        if data is None:
            continue
        try:
            write_atomic(path, data)
        except OSError as exc:
            raise _failed("the session metadata", path, exc) from exc
        written.append(path)
    return (written[0] if written else None), warnings


def _annotated(path: Path, name: str, entry: Mapping[str, Any]) -> tuple[bytes | None, list[str]]:
    """The new bytes of ``path`` (None: left untouched) and the warnings."""
    try:
        text = read_regular(path).decode("utf-8")
        original = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, [f"{name} left untouched: not readable JSON ({' '.join(str(exc).split())})"]
    if not isinstance(original, dict):
        return None, [f"{name} left untouched: its top level is not a JSON object"]
    generation = generation_of(original, name)
    if generation in ("v1", "v2"):
        old = _is_own_entry(original.get(SESSION_METADATA_KEY))
        if old:  # what an earlier adapter added at the top level: the schema forbids it, the epoch takes over
            original = {key: value for key, value in original.items() if key != SESSION_METADATA_KEY}
        done = annotate(original, generation, entry, name)  # type: ignore[arg-type]
        if done.document is None:
            return None, [f"{name} left untouched: {done.reason}"]
        moved = [f"{name}: the adapter's earlier top-level {SESSION_METADATA_KEY!r} entry was removed"] if old else []
        return _dumps(done.document, _indent_of(text)), [*moved, *done.warnings]
    if generation is not None:
        return None, [f"{name} left untouched: {generation}"]
    if name != SESSION_METADATA_FILE:
        return None, [f"{name} left untouched: it has no schema_version, so it is not AIND v2 metadata"]
    existing = original.get(SESSION_METADATA_KEY)
    if existing is not None and not _is_own_entry(existing):
        why = f"it already has a {SESSION_METADATA_KEY!r} key that the adapter did not write"
        return None, [f"{name} left untouched: {why}"]
    plain = {key: value for key, value in entry.items() if key not in _AIND_ONLY}
    return _dumps({**original, SESSION_METADATA_KEY: plain}, _indent_of(text)), []
