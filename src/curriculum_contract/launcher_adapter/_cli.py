"""``curriculum-contract enroll | launch | history``: the launcher adapter from a shell.

Commands parse their options, call the Python API and print; their errors become exit codes and a
one-line reason on stderr in the package's one handler (``ReportingCommand``; details with ``-v``).
Exit 0 only for a validated suggestion; every other code, per command, is in docs/exit-codes.md.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath
from .._text import parse_pairs
from ._arguments import checked_path, checked_text
from ._errors import InvalidArgument, StoreError
from ._history_view import format_event, format_table  # noqa: F401  (re-exported: callers import them from here)
from ._messages import store_missing

#: Where the history store is when neither --store nor $CURRICULUM_CONTRACT_STORE says.
DEFAULT_STORE = "curriculum-history.sqlite"
STORE_ENVVAR = "CURRICULUM_CONTRACT_STORE"


def _progress(line: str) -> None:
    """Bootstrap progress (uv's own lines) on stderr: the first launch on a rig can take a minute."""
    click.echo(f"bootstrap: {line.rstrip()}", err=True)


class _CliHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler the commands put on the package logger (stderr, never stdout)."""


def _configure_logging(verbose: bool) -> None:
    package = logging.getLogger("curriculum_contract")
    for handler in [h for h in package.handlers if isinstance(h, _CliHandler)]:
        package.removeHandler(handler)
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.INFO if verbose else logging.WARNING)
    package.propagate = False


def _parse_opts(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    return parse_pairs(values, option=None, error=click.BadParameter)


def _store_option(func: Callable[..., Any]) -> Callable[..., Any]:
    from ._store_cli import STORE_FILE_ENVVAR, resolve_store

    return click.option(
        "--store",
        envvar=STORE_ENVVAR,
        default=DEFAULT_STORE,
        show_default=True,
        callback=resolve_store,  # a password typed here is refused; $CURRICULUM_CONTRACT_STORE_FILE read
        help=f"History store: a SQLite file path or a SQLAlchemy URL, no password (env: {STORE_ENVVAR}, "
        f"or a file named by ${STORE_FILE_ENVVAR}; docs/store.md).",
    )(func)


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--curriculum",
                "curriculum_dir",
                required=True,
                type=NonEmptyPath(path_type=Path, file_okay=False),
                help="The curriculum project (normally a git submodule of the task repo).",
            ),
            click.option("--subject", "subject_id", required=True, help="The subject's identifier."),
            _store_option,
            click.option(
                "--dialect",
                type=click.Choice(["contract", "aind"]),
                default="contract",
                show_default=True,
                help="How the program is called: this contract's CLI or an AIND curricula package's.",
            ),
            click.option("--name", help="One curriculum of a package that holds several (passed as --curriculum)."),
            click.option("--allow-dirty", is_flag=True, help="Accept a submodule with local changes (recorded)."),
            click.option("--offline", is_flag=True, help="Bootstrap from the uv cache only."),
            click.option("-v", "--verbose", is_flag=True, help="Log steps and print error details on stderr."),
        ]
    ):
        func = option(func)
    return func


@click.command(cls=ReportingCommand)
@_common_options
@click.option("--stage", help="Enroll at this stage instead of the curriculum's first.")
@click.option("--force", is_flag=True, help="Re-enroll a subject the store knows (needs --reason; recorded).")
@click.option("--reason", help="Why --force re-enrolls the subject (recorded with the old state).")
def enroll(
    curriculum_dir: Path,
    subject_id: str,
    store: str,
    dialect: str,
    name: str | None,
    allow_dirty: bool,
    offline: bool,
    verbose: bool,
    stage: str | None,
    force: bool,
    reason: str | None,
) -> None:
    """Enroll a subject: run the curriculum's `init` and store its starting trainer state."""
    from ._launch import enroll as enroll_subject

    _configure_logging(verbose)
    curriculum_dir = checked_path(curriculum_dir, "curriculum directory")
    subject_id = checked_text(subject_id, "subject id")
    state = enroll_subject(
        curriculum_dir, subject_id, store=store, stage=stage, dialect=dialect,  # type: ignore[arg-type]
        name=name, allow_dirty=allow_dirty, offline=offline, progress=_progress, force=force, reason=reason,
    )  # fmt: skip
    curriculum = (state.get("curriculum") or {}).get("name")
    click.echo(f"enrolled {subject_id} in {curriculum} at stage {(state.get('stage') or {}).get('name')}")


@click.command(cls=ReportingCommand)
@_common_options
@click.option(
    "--session",
    "session_dir",
    required=True,
    type=NonEmptyPath(path_type=Path, file_okay=False),
    help="The finished session's data directory.",
)
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True)
@click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE", callback=_parse_opts, help="Passed to the program.")
@click.option(
    "--allow-subject-mismatch",
    is_flag=True,
    help="Launch a session whose inputs name another subject (needs --reason).",
)
@click.option("--reason", help="Why --allow-subject-mismatch (recorded).")
@click.option(
    "--external-links",
    type=click.Choice(["refuse", "guard"]),
    default="refuse",
    show_default=True,
    help="A session holding a symlink that leads outside it: refuse it before writing anything into it "
    "(exit 13), or run with the link targets guarded, preserved and restored like session files.",
)
def launch(
    curriculum_dir: Path,
    subject_id: str,
    store: str,
    dialect: str,
    name: str | None,
    allow_dirty: bool,
    offline: bool,
    verbose: bool,
    session_dir: Path,
    timeout_s: float,
    opts: dict[str, str],
    allow_subject_mismatch: bool,
    reason: str | None,
    external_links: str,
) -> None:
    """Run the curriculum on a finished session; print the suggestion and record it."""
    from ._launch import launch as launch_session

    _configure_logging(verbose)
    curriculum_dir = checked_path(curriculum_dir, "curriculum directory")
    session_dir = checked_path(session_dir, "session directory")
    subject_id = checked_text(subject_id, "subject id")
    result = launch_session(
        curriculum_dir, session_dir, subject_id, store=store, timeout_s=timeout_s,
        dialect=dialect, name=name, opts=opts, allow_dirty=allow_dirty,  # type: ignore[arg-type]
        offline=offline, progress=_progress, allow_subject_mismatch=allow_subject_mismatch, reason=reason,
        external_links=external_links,  # type: ignore[arg-type]
    )  # fmt: skip
    change = "stage changed" if result.stage_changed else "stage unchanged"
    click.echo(f"{subject_id} {result.session_dir.name}: {result.stage_before} -> {result.stage_after} ({change})")
    if result.summary:
        click.echo(f"decision: {result.summary}")
    from ._history_view import parameter_changes

    after = result.document.get("trainer_state")
    for parameter, before, now in parameter_changes(result.input_trainer_state, after):
        click.echo(f"parameter {parameter}: {json.dumps(before)} -> {json.dumps(now)}")
    click.echo(f"suggestion: {result.suggestion_file}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


_JSON_COLUMNS = (
    "id", "subject", "session", "session_time", "session_path", "status", "reason", "attempts", "curriculum_name",
    "curriculum_version", "curriculum_commit", "provenance", "dialect", "stage_before", "stage_after",
    "metrics", "warnings", "legacy", "started_at", "finished_at", "duration_s", "bootstrap_s", "run_s",
)  # fmt: skip


@click.command(cls=ReportingCommand)
@_store_option
@click.option("--subject", "subject_id", help="Only this subject's sessions.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of session records, for machines.")
@click.option("--all", "show_all", is_flag=True, help="Also the decisions a `recompute` superseded.")
@click.option(
    "--columns",
    metavar="NAMES",
    help="Metrics shown as columns, comma-separated (default: those the curriculum's criteria compare).",
)
@click.option(
    "--csv",
    "csv_file",
    type=NonEmptyPath(path_type=Path, dir_okay=False),
    help="Also write the rows as CSV (every metric).",
)
@click.option(
    "--parquet", "parquet_file", type=NonEmptyPath(path_type=Path, dir_okay=False), help="Also write them as Parquet."
)
def history(
    store: str,
    subject_id: str | None,
    as_json: bool,
    show_all: bool = False,
    columns: str | None = None,
    csv_file: Path | None = None,
    parquet_file: Path | None = None,
) -> None:
    """Print the recorded sessions and events in session-time order (current decisions only, unless --all).

    The curriculum's key metrics are columns (or --columns); --csv and --parquet export the same rows, every metric.
    """
    from ._store import HistoryStore

    if subject_id is not None:
        subject_id = checked_text(subject_id, "subject id")
    if "://" not in store and not Path(store).is_file():
        raise StoreError(store_missing(Path(store)))
    history_store = HistoryStore(store)
    if as_json:
        rows_read = history_store.iter_session_rows(  # streamed, only these decoded
            subject_id, columns=_JSON_COLUMNS, superseded=show_all
        )
        write_json_array(rows_read, click.get_text_stream("stdout"))
        return
    from . import _history_view as view

    rows = list(history_store.iter_session_rows(subject_id, columns=view.VIEW_COLUMNS, superseded=show_all))
    events = history_store.events(subject_id)
    known = view.all_metrics(rows)
    metrics = [name.strip() for name in columns.split(",") if name.strip()] if columns else view.key_metrics(rows)
    if columns and (unknown := [name for name in metrics if rows and name not in known]):
        raise InvalidArgument(
            f"history --columns: no metric named {', '.join(map(repr, unknown))} is recorded; "
            f"known: {', '.join(known) or '(none)'}"
        )
    if csv_file is not None or parquet_file is not None:
        records = view.export_records(rows, known)
        if csv_file is not None:
            view.write_csv(csv_file, records, known)
        if parquet_file is not None:
            view.write_parquet(parquet_file, records, known)
    if not rows:
        click.echo("no sessions recorded" + (f" for {subject_id}" if subject_id else ""))
        for event in events:
            click.echo(view.format_event(event))
        return
    for line in view.format_history(rows, events, metrics):
        click.echo(line)


def write_json_array(records: Iterator[dict[str, Any]], out: TextIO) -> None:
    """``json.dumps(list(records))`` and a newline, one record at a time: a whole store in bounded memory.

    Spooled (to a temporary file past 16 MiB) and copied out at the end: a read that fails midway (a
    corrupt row) leaves stdout empty, never half an array.
    """
    import shutil
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=16 * 2**20, mode="w+", encoding="utf-8") as spool:
        spool.write("[")
        separator = ""
        for record in records:
            spool.write(separator + json.dumps(record, default=lambda value: value.isoformat()))
            separator = ", "
        spool.write("]\n")
        spool.seek(0)
        shutil.copyfileobj(spool, out)  # type: ignore[misc]
    out.flush()


@click.command(cls=ReportingCommand)
@_store_option
@click.option(
    "--session",
    "session_dirs",
    multiple=True,
    type=NonEmptyPath(path_type=Path, file_okay=False),
    help="A session to recover (repeatable).",
)
@click.option(
    "--sessions-root",
    type=NonEmptyPath(path_type=Path, file_okay=False, exists=True),
    help="Recover every session below this folder that a killed launch left unfinished.",
)
def recover(store: str, session_dirs: tuple[Path, ...], sessions_root: Path | None) -> None:
    """Finish launches a killed launcher left: restore the sessions, keep or roll back outputs; one line each.

    Without --session or --sessions-root: every data root of the sessions the store has recorded.
    """
    from ._store import HistoryStore
    from ._unfinished import data_roots, sessions_with_leftovers
    from ._unfinished import recover as recover_one

    history_store = HistoryStore(store) if "://" in store or Path(store).is_file() else None
    if history_store is not None:  # offline rigs: a launch committed to this rig's outbox is committed
        from ._rig_store import rig_store

        history_store = rig_store(history_store)
    targets = [checked_path(path, "session directory") for path in session_dirs]
    if sessions_root is not None:
        targets += sessions_with_leftovers(checked_path(sessions_root, "sessions root"))
    if not session_dirs and sessions_root is None:
        if history_store is None:
            raise StoreError(store_missing(Path(store)))
        for root in data_roots(history_store):
            targets += sessions_with_leftovers(root, depth=1)
    if not targets:
        click.echo("nothing to recover")
    for target in dict.fromkeys(targets):
        click.echo(recover_one(target, history_store))


def register(group: click.Group) -> None:
    """Add ``enroll``, ``launch``, ``history`` and ``recover`` to a click group."""
    for command in (enroll, launch, history, recover):
        group.add_command(command)
