"""``curriculum-contract store upgrade | version``, and where every command's ``--store`` comes from.

The store is ``--store``, else ``$CURRICULUM_CONTRACT_STORE``, else the URL in the file named by
``$CURRICULUM_CONTRACT_STORE_FILE`` (readable by the launcher's user only: it may hold a password), else
``curriculum-history.sqlite``. A password typed in ``--store`` is refused: it would show in ``ps``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .._cli_errors import ReportingCommand, ReportingGroup
from ._errors import StoreError
from ._messages import store_missing
from ._store_pg import split_password

if TYPE_CHECKING:
    from ._store import HistoryStore

STORE_FILE_ENVVAR = "CURRICULUM_CONTRACT_STORE_FILE"


def resolve_store(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The ``--store`` option's callback: the store's location, from the option, the environment or a file."""
    source = ctx.get_parameter_source(param.name or "store")
    if source is click.core.ParameterSource.COMMANDLINE and split_password(value)[1] is not None:
        masked = split_password(value)[0]
        raise StoreError(
            f"--store {masked}: a password on the command line shows in `ps` and the shell's history; "
            f"give it in ~/.pgpass (or $PGPASSFILE), or put the URL in a file named by ${STORE_FILE_ENVVAR}"
        )
    named = os.environ.get(STORE_FILE_ENVVAR)
    if source is click.core.ParameterSource.DEFAULT and named:
        try:
            text = Path(named).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"${STORE_FILE_ENVVAR} names {named}, which cannot be read: {exc}") from None
        if not text or len(text.splitlines()) != 1:
            raise StoreError(f"${STORE_FILE_ENVVAR} names {named}, which must hold one line: the store's URL")
        return text
    return value


def _open(store: str, *, must_exist: bool) -> HistoryStore:
    from ._store import HistoryStore

    if "://" not in store and not Path(store).is_file() and must_exist:
        raise StoreError(store_missing(Path(store)))
    return HistoryStore(store)


@click.group(cls=ReportingGroup)
def store() -> None:
    """The history store's schema: which version it has, and its upgrade to this release's."""


def _store_option(func: click.decorators.FC) -> click.decorators.FC:
    from ._cli import DEFAULT_STORE, STORE_ENVVAR

    return click.option(
        "--store",
        envvar=STORE_ENVVAR,
        default=DEFAULT_STORE,
        show_default=True,
        callback=resolve_store,
        help=f"A SQLite file path or a SQLAlchemy URL (env: {STORE_ENVVAR}, or a file named by ${STORE_FILE_ENVVAR}).",
    )(func)


@store.command(cls=ReportingCommand)
@_store_option
def upgrade(store: str) -> None:
    """Upgrade the store in place to this release's schema, every row kept (a SQLite file is copied first).

    Run it once per shared server when the lab moves its rigs to a release with a newer schema.
    """
    from ._store_migrate import backup_path
    from ._store_schema import SCHEMA_VERSION

    history_store = _open(store, must_exist=True)
    before, after = history_store.upgrade()
    where = history_store.where
    if before is None:
        click.echo(f"history store {where}: created at schema version {after}")
    elif before == after:
        click.echo(f"history store {where}: already at schema version {SCHEMA_VERSION}")
    else:
        click.echo(f"history store {where}: upgraded from schema version {before} to {after}")
        if (path := history_store.sqlite_file) is not None:
            click.echo(f"the store before the upgrade: {backup_path(path, before)}")


@store.command(cls=ReportingCommand)
@_store_option
def version(store: str) -> None:
    """Print the store's schema version and this release's (exit 10 if they differ)."""
    from ._store_schema import SCHEMA_VERSION

    history_store = _open(store, must_exist=True)
    found = history_store.schema_version()
    where = history_store.where
    click.echo(f"history store {where}: schema version {found}; this release's: {SCHEMA_VERSION}")
    if found is not None and found != SCHEMA_VERSION:
        from ._store_migrate import too_new, too_old

        option = where if history_store.sqlite_file is not None else history_store.url
        raise too_new(where, found) if found > SCHEMA_VERSION else too_old(where, found, option)
