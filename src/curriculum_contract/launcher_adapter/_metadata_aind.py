"""Annotate AIND session metadata with the curriculum's step, only where aind-data-schema has room for it.

Both AIND models forbid unknown keys, so the adapter never adds one: it writes into one stimulus
epoch (see :func:`choose_epoch`) of

- v2 ``acquisition.json`` (``Acquisition``, ``schema_version`` 2.x): ``training_protocol_name`` (the
  curriculum), ``curriculum_status`` (the stage the session ran), ``code`` (a ``Code``: url, name,
  version, commit hash, the suggested stage and task in ``parameters``) and
  ``performance_metrics.output_parameters["curriculum"]`` (the adapter's block: metrics, stages, warnings);
- v1 ``session.json`` (``Session``, ``schema_version`` 1.x), whose epochs have no protocol or status
  field: ``script`` (a ``Software``: name, version, url, the same parameters) and
  ``output_parameters["curriculum"]`` (the same block, which also holds protocol and status).

A field the rig filled (a ``code`` that is not the adapter's, a ``training_protocol_name``) is kept
and a warning says so; only the adapter's own earlier values are replaced (the block lists them), so
launching twice yields the same file. A file that is not valid before is left untouched, one warning
line naming the file and its first failing field: the check is structural (required fields, the types
of the fields written), and with aind-data-schema importable (same generation, a schema at least as
new as the file's) the real model validates the file before and the result after (``_metadata_check``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._metadata_check import first_problem

Generation = Literal["v1", "v2"]

#: The adapter's block inside an epoch's output parameters, and its marker.
BLOCK_KEY = "curriculum"
SOURCE = "curriculum-contract"
#: The entry keys that go into the block (``recorded_at`` does not: a relaunch must yield the same file).
_BLOCK_KEYS = (
    "curriculum_name", "curriculum_version", "curriculum_commit", "curriculum_url", "stage_before", "stage_after",
    "metrics", "legacy_output", "suggestion_file", "warnings",
)  # fmt: skip


@dataclass(frozen=True)
class Annotated:
    """The annotated document, or why the file is left untouched; warnings about kept rig fields."""

    document: dict[str, Any] | None
    reason: str | None
    warnings: tuple[str, ...] = ()


def generation_of(document: Mapping[str, Any], filename: str) -> Generation | str | None:
    """``"v1"``/``"v2"`` for AIND metadata this adapter annotates; None for a plain lab file (no
    ``schema_version``); otherwise why it is AIND metadata of a generation the adapter does not know."""
    version = document.get("schema_version")
    if version is None and "aind_data_schema" not in str(document.get("describedBy") or ""):
        return None
    major = str(version).split(".", 1)[0]
    expected = {"acquisition.json": "2", "session.json": "1"}.get(filename)
    if major == expected:
        return "v2" if major == "2" else "v1"
    return f"schema_version {version!r} is not one this adapter annotates in {filename} (expected {expected}.x)"


def choose_epoch(epochs: list[Any], entry: Mapping[str, Any], generation: Generation) -> int:
    """The index of the epoch the curriculum's step belongs to.

    The epoch the adapter annotated before (a relaunch replaces its own annotation); else the last one
    whose ``stimulus_name`` is the task the session ran or whose ``training_protocol_name`` is the
    curriculum; else the last epoch.
    """
    for index, epoch in enumerate(epochs):
        if _block_of(epoch, generation) is not None:
            return index
    task, name = entry.get("task_name"), entry.get("curriculum_name")
    for index in reversed(range(len(epochs))):
        epoch = epochs[index]
        if (task and epoch.get("stimulus_name") == task) or (name and epoch.get("training_protocol_name") == name):
            return index
    return len(epochs) - 1


def _block_of(epoch: Mapping[str, Any], generation: Generation) -> dict[str, Any] | None:
    """The adapter's block in ``epoch`` (v2: under ``performance_metrics``), or None."""
    holder = epoch.get("performance_metrics") if generation == "v2" else epoch
    outputs = (holder or {}).get("output_parameters") if isinstance(holder, Mapping) else None
    block = outputs.get(BLOCK_KEY) if isinstance(outputs, Mapping) else None
    return block if isinstance(block, dict) and block.get("source") == SOURCE else None


def annotate(document: dict[str, Any], generation: Generation, entry: Mapping[str, Any], filename: str) -> Annotated:
    """``document`` with the curriculum's step written into one of its epochs, or the reason it cannot be."""
    problem = first_problem(document, generation)
    if problem is not None:
        return Annotated(None, f"not valid AIND {generation} metadata ({problem})")
    epochs = document.get("stimulus_epochs") or []
    if not epochs:
        return Annotated(None, "it has no stimulus epoch to record the curriculum in")
    updated = copy.deepcopy(document)
    index = choose_epoch(updated["stimulus_epochs"], entry, generation)
    epoch = updated["stimulus_epochs"][index]
    where = f"{filename} stimulus_epochs[{index}]"
    write = _write_v2 if generation == "v2" else _write_v1
    reason, kept = write(epoch, entry)
    if reason is not None:
        return Annotated(None, f"{where}: {reason}")
    problem = first_problem(updated, generation)
    if problem is not None:  # never write a file the schema rejects, whatever the cause
        return Annotated(None, f"the annotated file would not be valid AIND {generation} metadata ({problem})")
    return Annotated(updated, None, tuple(f"{where}.{field} was set by the rig: kept" for field in kept))


def _block(entry: Mapping[str, Any], fields: list[str], **more: Any) -> dict[str, Any]:
    block = {"source": SOURCE, **{key: entry.get(key) for key in _BLOCK_KEYS}, **more}
    block["metrics"] = dict(block["metrics"] or {})
    block["warnings"] = list(block["warnings"] or [])
    block["annotated_fields"] = fields
    return block


def _parameters(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What goes into ``Code.parameters`` / ``Software.parameters``: what the curriculum suggests."""
    return {
        "source": SOURCE,
        "suggested_stage": entry.get("stage_after"),
        "suggested_task": entry.get("suggested_task"),
    }


def _is_ours(software: Any) -> bool:
    return isinstance(software, Mapping) and (software.get("parameters") or {}).get("source") == SOURCE


def _claim(
    epoch: dict[str, Any], field: str, value: Any, earlier: list[str], fields: list[str], kept: list[str]
) -> None:
    """Set ``epoch[field]`` when it is empty or the adapter's own; a rig's value is kept (and named in ``kept``)."""
    current = epoch.get(field)
    if value is None or (current == value and field not in earlier):
        return  # nothing to say, or the rig already says it
    if current is None or field in earlier:
        epoch[field] = value
        fields.append(field)
    else:
        kept.append(field)


def _outputs(holder: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The holder's ``output_parameters`` object (created when empty), or why it cannot take the block."""
    outputs = holder.get("output_parameters")
    if outputs is None:
        outputs = holder["output_parameters"] = {}
    held = outputs.get(BLOCK_KEY)
    if held is not None and not (isinstance(held, dict) and held.get("source") == SOURCE):
        return None, f"output_parameters already has a {BLOCK_KEY!r} key that the adapter did not write"
    return outputs, None


def _write_v2(epoch: dict[str, Any], entry: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    earlier = list((_block_of(epoch, "v2") or {}).get("annotated_fields") or [])
    metrics = epoch.get("performance_metrics")
    if metrics is None:
        metrics = epoch["performance_metrics"] = {"object_type": "Performance metrics"}
    outputs, reason = _outputs(metrics)
    if outputs is None:
        return f"performance_metrics.{reason}", []
    fields: list[str] = []
    kept: list[str] = []
    _claim(epoch, "training_protocol_name", entry.get("curriculum_name"), earlier, fields, kept)
    _claim(epoch, "curriculum_status", entry.get("stage_before"), earlier, fields, kept)
    code = _code(entry)
    if epoch.get("code") is None or _is_ours(epoch.get("code")):
        epoch["code"] = code
        fields.append("code")
    else:
        kept.append("code")
    outputs[BLOCK_KEY] = _block(entry, fields)
    return None, kept


def _code(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A v2 ``Code`` for the curriculum; a commit that is not a hex hash stays in the block only."""
    commit = entry.get("curriculum_commit")
    code: dict[str, Any] = {"object_type": "Code", "url": entry.get("curriculum_url") or "unknown"}
    code["name"] = entry.get("curriculum_name")
    code["version"] = entry.get("curriculum_version")
    if isinstance(commit, str) and 7 <= len(commit) <= 60 and all(c in "0123456789abcdefABCDEF" for c in commit):
        code["commit_hash"] = commit
    code["parameters"] = _parameters(entry)
    return code


def _write_v1(epoch: dict[str, Any], entry: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    outputs, reason = _outputs(epoch)
    if outputs is None:
        return reason, []
    fields: list[str] = []
    kept: list[str] = []
    script = {
        "name": entry.get("curriculum_name") or "curriculum",
        "version": entry.get("curriculum_version") or entry.get("curriculum_commit") or "unknown",  # required in v1
        "url": entry.get("curriculum_url"),
        "parameters": _parameters(entry),
    }
    if epoch.get("script") is None or _is_ours(epoch.get("script")):
        epoch["script"] = script
        fields.append("script")
    else:
        kept.append("script")
    status = {"training_protocol_name": entry.get("curriculum_name"), "curriculum_status": entry.get("stage_before")}
    outputs[BLOCK_KEY] = _block(entry, fields, **status)
    return None, kept
