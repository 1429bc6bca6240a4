"""``curriculum-contract sync``: push this rig's queued records to the shared store, report and resolve conflicts.

One line per entry pushed or in conflict. Exit 0 when the outbox is empty afterwards, 17
(``OfflineConflicts``) when conflicts remain, 10 (``StoreUnreachable``) when the server still cannot be reached.
"""

from __future__ import annotations

from pathlib import Path

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath
from ._arguments import checked_text
from ._cli import _store_option
from ._errors import InvalidArgument, OfflineConflicts


@click.command(cls=ReportingCommand)
@_store_option
@click.option(
    "--cache",
    type=NonEmptyPath(path_type=Path, dir_okay=False),
    help="The rig's cache and outbox file (default: $CURRICULUM_CONTRACT_CACHE, else one per store in "
    "~/.cache/curriculum-contract/; docs/store.md, 'Offline rigs').",
)
@click.option("--resolve", "subject_id", help="Resolve this subject's conflict (needs --keep).")
@click.option(
    "--keep",
    type=click.Choice(["remote", "local"]),
    help="remote: drop this rig's queued decisions of the subject; local: push them over the store's state.",
)
def sync(store: str, cache: Path | None, subject_id: str | None, keep: str | None) -> None:
    """Push the records this rig queued while the store was unreachable; report conflicts."""
    from ._rig_store import RigStore
    from ._sync import push, resolve

    if "://" not in store or store.startswith("sqlite"):
        click.echo(f"nothing to sync: {store} is a SQLite store on this machine (no outbox)")
        return
    if (subject_id is None) != (keep is None):
        raise InvalidArgument("--resolve SUBJECT and --keep remote|local go together")
    rig = RigStore(store, cache=cache)
    try:
        if subject_id is not None and keep is not None:
            for line in resolve(rig, checked_text(subject_id, "subject id"), keep):
                click.echo(line)
        report = push(rig)
        for entry in report.pushed:
            click.echo(f"pushed {entry.describe()}")
        for _, why in report.conflicts:
            click.echo(f"conflict: {why}")
        for entry in report.blocked:
            click.echo(f"waiting behind a conflict: {entry.describe()}")
        left = rig.rig.pending()
        if not left:
            click.echo("outbox empty: every record of this rig is in the store")
            return
        subjects = sorted({entry.subject for entry in left})
        raise OfflineConflicts(
            f"{len(left)} record(s) of {', '.join(subjects)} left in this rig's outbox ({rig.rig.path}): "
            f"resolve with `curriculum-contract sync --resolve SUBJECT --keep remote|local`"
        )
    finally:
        rig.close()
