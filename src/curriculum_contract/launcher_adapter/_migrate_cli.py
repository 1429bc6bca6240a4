"""``curriculum-contract migrate``: report (``--dry-run``) or apply a stage migration (``_migrate``)."""

from __future__ import annotations

from pathlib import Path

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath
from ._cli import _configure_logging, _progress, _store_option


@click.command(cls=ReportingCommand)
@click.option(
    "--curriculum",
    "curriculum_dir",
    type=NonEmptyPath(path_type=Path),
    required=True,
    help="The curriculum at its new major version (its migrations.toml says where old stages go).",
)
@click.option("--subject", "subjects", multiple=True, help="A subject to migrate (repeatable).")
@click.option("--all", "all_subjects", is_flag=True, help="Every subject of this curriculum in the store.")
@click.option("--dry-run", is_flag=True, help="Print subject, old version, old stage -> new stage; write nothing.")
@click.option("--reason", help="Recorded with each subject's stage-migration event.")
@click.option("--operator", help="Who runs it (recorded with each event).  [default: $USER]")
@click.option("--name", help="One curriculum of a package that holds several.")
@click.option("--allow-dirty", is_flag=True, help="Run a checkout with uncommitted changes.")
@click.option("--offline", is_flag=True, help="Bootstrap from uv's cache only.")
@click.option("-v", "--verbose", is_flag=True, help="Log steps and print error details on stderr.")
@_store_option
def migrate(
    curriculum_dir: Path, subjects: tuple[str, ...], all_subjects: bool, dry_run: bool, reason: str | None,
    operator: str | None, name: str | None, allow_dirty: bool, offline: bool, verbose: bool, store: str,
) -> None:  # fmt: skip
    """Move subjects of an older major version onto this one; all subjects or none (docs/launcher.md)."""
    from ._errors import MigrationRefused
    from ._migrate import migrate as run_migration

    _configure_logging(verbose)
    try:
        report = run_migration(
            curriculum_dir, store=store, subjects=subjects, all_subjects=all_subjects, dry_run=dry_run,
            reason=reason, operator=operator, name=name, allow_dirty=allow_dirty, offline=offline, progress=_progress,
        )  # fmt: skip
    except MigrationRefused as error:
        refused = getattr(error, "report", None)
        for row in refused.rows if refused is not None else ():
            click.echo(row.line())
        raise
    for row in report.rows:
        click.echo(row.line())
    verb = "would migrate" if dry_run else "migrated"
    click.echo(f"{verb} {len(report.moved)} of {len(report.rows)} subject(s) to {report.curriculum} {report.version}")
