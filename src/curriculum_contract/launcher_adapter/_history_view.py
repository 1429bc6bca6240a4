"""``history`` for people: sessions and events in time order, the curriculum's key metrics as columns, CSV/Parquet.

Sessions are in the subject's order, by when they ran (``session_time``, then id: docs/store.md, "Session
order"), not by when they were recorded. The text table shows the key metrics; CSV and Parquet every metric.
Computing (``key_metrics``, ``all_metrics``, ``in_session_order``, ``timeline``, ``export_records``,
``parameter_changes``) is apart from presenting (``format_history``, ``format_table``, ``format_event``);
the CLI only calls and prints.
"""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._files import write_bytes_atomic
from ._errors import DependencyMissing, InvalidArgument
from ._store_reads import sets_state

#: The session columns ``history`` (text, CSV, Parquet) reads: the suggestion only for its decision's metric names.
VIEW_COLUMNS = (
    "id", "subject", "session", "status", "reason", "attempts", "curriculum_name", "curriculum_version",
    "stage_before", "stage_after", "metrics", "suggestion", "started_at", "finished_at", "session_time",
)  # fmt: skip
#: Without criteria to go by, this many numeric metrics become columns.
FALLBACK_METRICS = 3

_TABLE = [
    ("id", "id"), ("subject", "subject"), ("session", "session"), ("session time (UTC)", "session_time"),
    ("status", "status"), ("stage", "stage"), ("curriculum", "curriculum"), ("finished (UTC)", "finished"),
]  # fmt: skip
#: Events whose detail says where the subject was before, by kind (``stage-migration``: ``_migrate``;
#: ``offline-conflict-resolved``: ``_sync``, the store's state it replaced).
_BEFORE = {
    "stage-migration": lambda detail: detail.get("from_stage"),
    "offline-conflict-resolved": lambda detail: (detail.get("superseded") or {}).get("stage"),
    "on-curriculum": lambda detail: "off the curriculum",
}


def key_metrics(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The metrics the curriculum's criteria compare (its decisions' conditions), in first-seen order.

    Without any (plain callables): the first :data:`FALLBACK_METRICS` numeric metrics.
    """
    compared: dict[str, None] = {}
    numeric: dict[str, None] = {}
    for row in rows:
        decision = (row.get("suggestion") or {}).get("decision") or {}
        for rule in [*(decision.get("transitions") or []), *(decision.get("policy_transitions") or [])]:
            for condition in rule.get("conditions") or []:
                compared.setdefault(condition["metric"], None)
        for name, value in (row.get("metrics") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                numeric.setdefault(name, None)
    return list(compared) or list(numeric)[:FALLBACK_METRICS]


def all_metrics(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every metric name the rows hold, in first-seen order (the export's ``metrics.<name>`` columns)."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.get("metrics") or {}))
    return list(names)


def _ran_at(row: Mapping[str, Any]) -> Any:
    """When the session ran: its ``session_time`` (schema 3), else when it was launched."""
    return row.get("session_time") or row.get("started_at")


def in_session_order(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows by when their sessions ran, then by id: the subject's order, not the order they were recorded."""
    return sorted(rows, key=lambda row: (_ran_at(row), row["id"]))


def timeline(
    rows: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> list[tuple[str, Mapping[str, Any]]]:
    """Sessions (by when they ran) and events (by when they were recorded) in one time order."""
    sessions = [(_ran_at(row), 0, "session", row) for row in in_session_order(rows)]
    recorded = [(event["created_at"], 1, "event", event) for event in events]
    merged = heapq.merge(sessions, recorded, key=lambda item: (item[0], item[1]))
    return [(kind, item) for _, _, kind, item in merged]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def _table_row(row: Mapping[str, Any], metrics: Sequence[str]) -> dict[str, str]:
    stage = row["stage_before"] or "?"
    if row["status"] == "ok":
        stage = f"{stage} -> {row['stage_after'] or '?'}"
    curriculum = row["curriculum_name"] or "?"
    if row["curriculum_version"]:
        curriculum += f" {row['curriculum_version']}"
    values = row.get("metrics") or {}
    return {
        "id": str(row["id"]),
        "subject": row["subject"],
        "session": row["session"],
        "session_time": ran.strftime("%Y-%m-%d %H:%M:%S") if (ran := _ran_at(row)) else "",
        "status": row["status"] + (f" x{row['attempts']}" if row["attempts"] > 1 else ""),
        "stage": stage,
        "curriculum": curriculum,
        "finished": row["finished_at"].strftime("%Y-%m-%d %H:%M:%S"),
        **{f"metrics.{name}": _cell(values.get(name)) for name in metrics},
        "reason": row["reason"] or "",
    }


def format_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str] = ()) -> str:
    """Session records as an aligned text table, one column per metric in ``metrics`` before the reason."""
    return "\n".join(_aligned([("session", row) for row in rows], metrics))


def _aligned(items: Sequence[tuple[str, Mapping[str, Any]]], metrics: Sequence[str]) -> list[str]:
    columns = [*_TABLE, *((name, f"metrics.{name}") for name in metrics), ("reason", "reason")]
    cells = [_table_row(item, metrics) if kind == "session" else None for kind, item in items]
    widths = {key: max([len(title), *(len(c[key]) for c in cells if c is not None)]) for title, key in columns}
    lines = ["  ".join(title.ljust(widths[key]) for title, key in columns).rstrip()]
    for (_, item), cell in zip(items, cells, strict=True):
        if cell is None:
            lines.append(format_event(item))
        else:
            lines.append("  ".join(cell[key].ljust(widths[key]) for _, key in columns).rstrip())
    return lines


def format_history(
    rows: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]], metrics: Sequence[str]
) -> list[str]:
    """The ``history`` text: the table, each event on its own line (``-- ...``) where it happened."""
    return _aligned(timeline(rows, events), metrics)


def format_event(event: Mapping[str, Any]) -> str:
    """One recorded event (a re-enrollment, an override, off/on curriculum, a recovery) as one line."""
    when = event["created_at"].strftime("%Y-%m-%d %H:%M:%S")
    detail = event["detail"] or {}
    what = event["kind"]
    if what == "re-enrollment":
        before = f"{detail.get('previous_stage')} ({detail.get('previous_curriculum')})"
        what += f": was at {before}, now {detail.get('stage')}"
    elif sets_state(event):  # type: ignore[arg-type]
        state = detail.get("trainer_state")
        after = ((state or {}).get("stage") or {}).get("name") if state else "off the curriculum"
        before = _BEFORE[what](detail) if what in _BEFORE else detail.get("previous_stage")
        what += f" by {detail['operator']}" if detail.get("operator") else ""
        what += f" on rig {detail['rig']}" if detail.get("rig") else ""
        what += f": {before} -> {after}" if before else f": now {after}"
        if detail.get("parameters"):
            what += f" (parameters {json.dumps(detail['parameters'], sort_keys=True)})"
    elif what == "offline-conflict-resolved":  # kept the store's state: nothing set, the rig's decisions dropped
        dropped = len(detail.get("dropped") or ())
        what += f" on rig {detail.get('rig')}: the store's state kept, {dropped} offline decision(s) dropped"
    if event["session"]:
        what += f" (session {event['session']})"
    reason = f"; reason: {event['reason']}" if event["reason"] else ""
    return f"-- event {event['id']} {when} {event['subject']}: {what}{reason}"


_EXPORT_FIELDS = (
    "id", "subject", "session", "session_time", "status", "reason", "curriculum_name", "curriculum_version",
    "stage_before", "stage_after", "started_at", "finished_at",
)  # fmt: skip


def export_records(rows: Iterable[Mapping[str, Any]], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Flat records (one per session, in session order) with a ``metrics.<name>`` field per metric in ``metrics``
    (``all_metrics``: every one the rows hold); times as ISO 8601 text."""
    records = []
    for row in in_session_order(rows):
        record = {name: row.get(name) for name in _EXPORT_FIELDS}
        record["session_time"] = _ran_at(row).isoformat()
        record["started_at"] = row["started_at"].isoformat()
        record["finished_at"] = row["finished_at"].isoformat()
        values = row.get("metrics") or {}
        for name in metrics:
            value = values.get(name)
            record[f"metrics.{name}"] = (
                value if value is None or isinstance(value, int | float | str) else json.dumps(value)
            )
        records.append(record)
    return records


def fieldnames(metrics: Sequence[str]) -> list[str]:
    return [*_EXPORT_FIELDS, *(f"metrics.{name}" for name in metrics)]


def write_csv(path: Path, records: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> None:
    """The records as CSV (header first), written atomically."""
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fieldnames(metrics), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    _write(path, text.getvalue().encode("utf-8"))


def write_parquet(path: Path, records: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> None:
    """The records as a Parquet file (needs pyarrow), written atomically."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DependencyMissing("history --parquet needs pyarrow: pip install pyarrow") from None

    def column(name: str) -> Any:
        values = [record[name] for record in records]
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a metric of mixed types across sessions: as text
            return pa.array([None if value is None else str(value) for value in values])

    table = pa.table({name: column(name) for name in fieldnames(metrics)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    _write(path, sink.getvalue().to_pybytes())


def _write(path: Path, data: bytes) -> None:
    try:
        write_bytes_atomic(path, data)
    except OSError as error:
        raise InvalidArgument(f"cannot write {path}: {error.strerror or error}") from None


def parameter_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """``(name, before, after)`` for each task parameter that differs between two trainer states, by name."""

    def parameters(state: Mapping[str, Any] | None) -> dict[str, Any]:
        task = (((state or {}).get("stage") or {}).get("task")) or {}
        return dict(task.get("task_parameters") or {})

    old, new = parameters(before), parameters(after)
    missing = object()
    return [
        (name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name, missing) != new.get(name, missing)
    ]
