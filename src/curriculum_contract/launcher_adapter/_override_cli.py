"""``curriculum-contract override``: move a subject to a stage by hand, or take it off the curriculum and back on."""

from __future__ import annotations

from pathlib import Path

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath
from ._cli import _configure_logging, _progress, _store_option
from ._errors import InvalidArgument


@click.command(cls=ReportingCommand)
@click.option("--subject", "subject_id", required=True, help="The subject's identifier.")
@click.option("--stage", help="Put the subject at this stage (built by the curriculum's `init --stage`).")
@click.option("--off", "off", is_flag=True, help="Take the subject off the curriculum: its launches are refused.")
@click.option("--on", "on", is_flag=True, help="Put it back: where it stood, or at --stage.")
@click.option("--reason", required=True, help="Why (recorded, shown by `history`, seen by the curriculum).")
@click.option("--operator", help="Who does it (recorded).  [default: $USER]")
@click.option(
    "--parameters",
    type=NonEmptyPath(path_type=Path, dir_okay=False),
    help="A JSON object of task parameters replacing the stage's (with --stage).",
)
@click.option(
    "--curriculum",
    "curriculum_dir",
    type=NonEmptyPath(path_type=Path, file_okay=False),
    help="The curriculum project (needed with --stage).",
)
@_store_option
@click.option("--dialect", type=click.Choice(["contract", "aind"]), default="contract", show_default=True)
@click.option("--name", help="One curriculum of a package that holds several (passed as --curriculum).")
@click.option("--allow-dirty", is_flag=True, help="Accept a submodule with local changes.")
@click.option("--offline", is_flag=True, help="Bootstrap from the uv cache only.")
@click.option("-v", "--verbose", is_flag=True, help="Log steps and print error details on stderr.")
def override(
    subject_id: str,
    stage: str | None,
    off: bool,
    on: bool,
    reason: str,
    operator: str | None,
    parameters: Path | None,
    curriculum_dir: Path | None,
    store: str,
    dialect: str,
    name: str | None,
    allow_dirty: bool,
    offline: bool,
    verbose: bool,
) -> None:
    """Override a subject's course, recorded with who and why; the next launch starts from it.

    \b
    override --subject M1 --curriculum DIR --stage NAME [--parameters FILE] --reason TEXT
    override --subject M1 --off --reason TEXT
    override --subject M1 --on [--curriculum DIR --stage NAME] --reason TEXT
    """
    from ._override import override as override_subject
    from ._override import put_on, take_off

    _configure_logging(verbose)
    if off and (on or stage or parameters):
        raise InvalidArgument("--off takes the subject off the curriculum: it goes without --on, --stage, --parameters")
    if not (off or on or stage):
        raise InvalidArgument("say what to do: --stage NAME, --off or --on")
    if stage and curriculum_dir is None:
        raise InvalidArgument("--stage needs the curriculum (--curriculum DIR): its `init --stage` builds the state")
    if parameters is not None and (on or not stage):
        raise InvalidArgument("--parameters goes with an override to a stage (--stage NAME, without --on)")
    options = dict(dialect=dialect, name=name, allow_dirty=allow_dirty, offline=offline, progress=_progress)
    if off:
        change = take_off(subject_id, store=store, reason=reason, operator=operator)
    elif on:
        change = put_on(subject_id, store=store, reason=reason, operator=operator, curriculum_dir=curriculum_dir,
                        stage=stage, **options)  # fmt: skip
    else:
        assert curriculum_dir is not None and stage is not None
        change = override_subject(curriculum_dir, subject_id, store=store, stage=stage, reason=reason,
                                  parameters=parameters, operator=operator, **options)  # type: ignore[arg-type]  # fmt: skip
    where = "off the curriculum" if change.stage_after is None else f"at stage {change.stage_after}"
    click.echo(f"{change.kind} by {change.operator}: {change.subject} is now {where} (was {change.stage_before})")
