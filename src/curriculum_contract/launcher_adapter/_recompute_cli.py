"""``curriculum-contract recompute``: replay a subject's decisions after a late or corrected session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .._cli_errors import ReportingCommand
from ._arguments import checked_path, checked_text
from ._cli import _common_options, _configure_logging, _progress
from ._errors import InvalidArgument, StoreError
from ._messages import store_missing
from ._override import started_from
from ._recompute import NO_METRICS, Recomputation, Step


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _mark(step: Step) -> str:
    """``*`` for a changed decision; the same stage with other task parameters names them."""
    if not step.changed:
        return ""
    if step.stage_after_old != step.stage_after_new:
        return "*"
    return "*" + "".join(f" {name}: {_cell(old)} -> {_cell(new)}" for name, old, new in step.parameters)


def _note(step: Step) -> str | None:
    """The line under the table for a session replayed from an event, or held by one."""
    event = step.event
    if event is None:
        return None
    if step.replayed:
        return f"{step.session}: replayed from its recorded metrics, {started_from(event)}"
    operator = (event.get("detail") or {}).get("operator") or "someone"
    return (
        f"{step.session}: not replayed (kept as recorded): taken off the curriculum by {operator} at "
        f"{event['created_at']:%Y-%m-%d %H:%M:%S} UTC: {event.get('reason') or 'no reason given'}"
    )


def format_trajectory(result: Recomputation) -> str:
    """The stage trajectory before -> after, one session a line; ``*`` where the decision changed.

    A session replayed from an override (or another state-setting event) shows its kind beside the stage
    it started from; a change of task parameters alone is named after the ``*``. Under the table, a line
    for each session replayed from an event or held by one (who, when, why).
    """
    header = ("session", "stage before", "after (recorded)", "after (recomputed)", "")
    lines = [header]
    for step in result.steps:
        new = step.stage_after_new if step.replayed else f"(not replayed: {step.held or NO_METRICS})"
        before = step.stage_before or "-"
        if step.replayed and step.event is not None:
            before += f" ({step.event['kind']})"
        lines.append((step.session, before, step.stage_after_old or "-", new or "-", _mark(step)))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip() + (
        f"  {line[4]}" if line[4] else "") for line in lines)  # fmt: skip
    return "\n".join([table, *filter(None, map(_note, result.steps))])


@click.command(cls=ReportingCommand)
@_common_options
@click.option("--from", "from_session", help="Recompute from this session (default: the earliest one marked).")
@click.option("--dry-run", is_flag=True, help="Show the trajectory before and after; record nothing.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True)
def recompute(
    curriculum_dir: Path, subject_id: str, store: str, dialect: str, name: str | None, allow_dirty: bool,
    offline: bool, verbose: bool, from_session: str | None, dry_run: bool, timeout_s: float,
) -> None:  # fmt: skip
    """Replay a subject's decisions from its earliest late or corrected session (docs/launcher.md)."""
    from ._recompute import recompute as recompute_subject

    _configure_logging(verbose)
    if dialect == "aind":
        raise InvalidArgument("recompute needs `curriculum replay`, which the AIND dialect does not have")
    curriculum_dir = checked_path(curriculum_dir, "curriculum directory")
    subject_id = checked_text(subject_id, "subject id")
    if "://" not in store and not Path(store).is_file():
        raise StoreError(store_missing(Path(store)))
    result = recompute_subject(
        curriculum_dir, subject_id, store=store, from_session=from_session, dry_run=dry_run, name=name,
        allow_dirty=allow_dirty, offline=offline, timeout_s=timeout_s, progress=_progress,
    )  # fmt: skip
    if result.from_session is None:
        click.echo(f"{subject_id}: nothing marked for recomputation (pass --from SESSION to recompute anyway)")
        return
    click.echo(format_trajectory(result))
    changed = sum(step.changed for step in result.steps)
    if not result.applied:
        click.echo(f"dry run: {changed} decision(s) would change; nothing recorded")
        return
    click.echo(
        f"recorded {len(result.new_ids)} recomputed decision(s), {changed} changed (the old ones kept, superseded); "
        f"{subject_id}'s next session starts at {result.next_stage}"
    )
