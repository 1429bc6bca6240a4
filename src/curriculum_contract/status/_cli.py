"""``curriculum-contract serve``: the lab's read-only status page for one history store.

It binds 127.0.0.1 by default; any other address needs the lab's token (``--token-file`` or
``$CURRICULUM_CONTRACT_STATUS_TOKEN``, never an option's value, which ``ps`` would show). The first line on
stdout is the page's address; Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath
from ..launcher_adapter._cli import DEFAULT_STORE, STORE_ENVVAR
from ._auth import TOKEN_ENVVAR, environment, is_loopback, load_token, require_token
from ._errors import StoreUnreadable

DEFAULT_PORT = 8765


def open_store(store: str) -> object:
    """The store to read; a missing SQLite file is refused (reading never creates one)."""
    from ..launcher_adapter import HistoryStore, StoreError

    if "://" not in store and not Path(store).is_file():
        raise StoreUnreadable(
            f"history store {Path(store).absolute()} does not exist (a store is created by `enroll` or `launch`)"
        )
    history = HistoryStore(store)
    try:
        history.subjects()  # fail now, with the store's one line, rather than on the first page
    except StoreError as error:
        raise StoreUnreadable(str(error)) from None
    return history


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # serve_forever ends, the socket closes, exit 0


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package = logging.getLogger("curriculum_contract")
    package.addHandler(handler)
    package.setLevel(logging.INFO if verbose else logging.WARNING)
    package.propagate = False


@click.command(cls=ReportingCommand)
@click.option(
    "--store",
    envvar=STORE_ENVVAR,
    default=DEFAULT_STORE,
    show_default=True,
    help=f"History store: a SQLite file path or a SQLAlchemy URL (env: {STORE_ENVVAR}).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback requires a token.",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port; the first line on stdout says which).",
)
@click.option(
    "--token-file",
    type=NonEmptyPath(path_type=Path, dir_okay=False),
    help=f"File holding the token readers must present (or env {TOKEN_ENVVAR}).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request on stderr (tokens masked).")
def serve(store: str, host: str, port: int, token_file: Path | None, verbose: bool) -> None:
    """Serve a read-only status page of every subject in the store: stage, why, progress, history."""
    from ._server import make_server

    _configure_logging(verbose)
    token = load_token(token_file, environment())
    require_token(host, token)
    history = open_store(store)
    server = make_server(history, host, port, token=token, log_requests=verbose)
    signal.signal(signal.SIGTERM, _stop)
    where = getattr(history, "where", store)
    access = "" if token is None else " (token required: open it once with ?token=TOKEN)"
    click.echo(f"status page of {where}: {server.url}{access}")
    if token is None and not is_loopback(host):  # unreachable: require_token refused it
        raise AssertionError("a non-loopback address without a token")
    sys.stdout.flush()
    click.echo("stop with Ctrl-C", err=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        close = getattr(history, "close", None)
        if callable(close):
            close()
