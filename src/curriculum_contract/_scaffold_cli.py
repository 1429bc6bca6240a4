"""``curriculum-contract new``, ``update`` and ``template-cache``: the template commands (copier, lazily).

Commands parse their options, call :mod:`curriculum_contract.scaffold`, and print what happened; a
``ScaffoldError`` becomes its one-line reason on stderr and its exit code in the package's one handler
(``ReportingCommand``; docs/exit-codes.md).
"""

from collections.abc import Callable
from pathlib import Path

import click

from ._cli_errors import ReportingCommand
from ._cli_paths import NonEmptyPath


def _data_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--data",
        "-d",
        "data",
        multiple=True,
        metavar="KEY=VALUE",
        help="Answer a template question (repeatable), e.g. -d curriculum_name=mouse-2afc.",
    )(function)


def _sdk_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--sdk-requirement",
        metavar="SPEC|PATH",
        help="What the repository depends on for curriculum-contract: a requirement "
        "('curriculum-contract>=0.2,<0.3') or a local checkout or wheel. Default: how this one is installed.",
    )(function)


@click.command(cls=ReportingCommand)
@click.argument("destination", type=NonEmptyPath(path_type=Path))
@click.option("--defaults", is_flag=True, help="Take the default of every question not answered with --data.")
@_data_option
@_sdk_option
@click.option("--lock", is_flag=True, help="Also run `uv lock` (needs the package index) before the first commit.")
def new(destination: Path, defaults: bool, data: tuple[str, ...], sdk_requirement: str | None, lock: bool) -> None:
    """Create a curriculum repository in DESTINATION (new or empty) from the template, with a first commit."""
    from .scaffold import new_curriculum
    from .scaffold._copier import read_answers
    from .scaffold._questions import parse_data

    created = new_curriculum(
        destination, parse_data(data), defaults=defaults, sdk_requirement=sdk_requirement, lock=lock
    )
    answers = read_answers(created)
    click.echo(
        f"Created {created}: curriculum {answers['curriculum_name']}, package {answers['package_name']}, "
        f"template {answers.get('_commit', '(untagged)')}, curriculum-contract from {answers['sdk_requirement']}"
    )
    if (created / "uv.lock").is_file():
        click.echo(f"Next: cd {created} && uv sync && uv run pytest")
    else:  # a launch and `curriculum-contract simulate` run the locked environment only
        click.echo(f"Next: cd {created} && uv sync && uv run pytest, then commit uv.lock (launch and simulate need it)")


@click.command(cls=ReportingCommand)
@click.argument("destination", type=NonEmptyPath(path_type=Path), default=".")
@_data_option
@_sdk_option
@click.option(
    "--conflict",
    type=click.Choice(["inline", "rej"]),
    default="inline",
    show_default=True,
    help="How to leave conflicts: markers in the files, or .rej files next to them.",
)
def update(destination: Path, data: tuple[str, ...], sdk_requirement: str | None, conflict: str) -> None:
    """Bring the generated repository DESTINATION to this template version, keeping its own edits.

    The repository must have no uncommitted changes; the update is left uncommitted for review.
    """
    from .scaffold import update_curriculum
    from .scaffold._questions import parse_data

    result = update_curriculum(destination, parse_data(data), sdk_requirement=sdk_requirement, conflict=conflict)
    if result.from_version == result.to_version and not result.changed:
        click.echo(f"{result.path} is already at template {result.to_version}")
        return
    click.echo(f"Updated {result.path} from template {result.from_version} to {result.to_version}")
    for path in result.changed:
        click.echo(f"  {'CONFLICT ' if path in result.conflicts else ''}{path}")
    if result.conflicts:
        from .scaffold._errors import UpdateConflicts

        raise UpdateConflicts(result.conflicts)
    click.echo("Review with `git diff`, then commit.")


@click.command(cls=ReportingCommand, name="template-cache")
def template_cache() -> None:
    """Register this version's template in the local template cache; print the cache and its versions."""
    from .scaffold import cached_versions, register_template, template_cache_dir

    source = register_template()
    click.echo(f"{template_cache_dir()}: this version is {source.ref}")
    for tag in cached_versions():
        click.echo(f"  {tag}")
