"""``curriculum-contract enroll | launch | history``: the launcher adapter from a shell.

Commands parse their options, call the Python API and print; :func:`_exit_on_error` is the one place
that turns an :class:`AdapterError` into an exit code and a one-line reason on stderr.

Exit codes (0 only for a validated suggestion)::

    0  ok                      6  timed out
    1  internal error (a bug)  7  contract violated (stdout not one valid document)
    2  usage                   8  session data violated
    3  curriculum not found    9  subject not enrolled
    4  submodule not ready     10 history store failed
    5  bootstrap failed        11 process failed (exit code / signal)
                               12 other adapter error (e.g. the session directory is missing)
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ._errors import (
    AdapterError,
    BootstrapFailed,
    ContractViolation,
    CurriculumNotFound,
    ProcessFailed,
    SessionDataViolation,
    StoreError,
    SubjectNotEnrolled,
    SubmoduleNotReady,
    TimedOut,
)

#: Where the history store is when neither --store nor $CURRICULUM_CONTRACT_STORE says.
DEFAULT_STORE = "curriculum-history.sqlite"
STORE_ENVVAR = "CURRICULUM_CONTRACT_STORE"

_EXIT_CODES: tuple[tuple[type[AdapterError], int], ...] = (
    (CurriculumNotFound, 3),
    (SubmoduleNotReady, 4),
    (BootstrapFailed, 5),
    (TimedOut, 6),
    (ContractViolation, 7),
    (SessionDataViolation, 8),
    (SubjectNotEnrolled, 9),
    (StoreError, 10),
    (ProcessFailed, 11),
)
OTHER_ADAPTER_ERROR = 12


def exit_code_for(error: AdapterError) -> int:
    """The documented exit code of an adapter error."""
    for cls, code in _EXIT_CODES:
        if isinstance(error, cls):
            return code
    return OTHER_ADAPTER_ERROR


@contextmanager
def _exit_on_error(verbose: bool) -> Iterator[None]:
    try:
        yield
    except AdapterError as error:
        click.echo(f"curriculum-contract: error: {error}", err=True)
        if verbose and error.details:
            click.echo(error.details.rstrip(), err=True)
        sys.exit(exit_code_for(error))


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
    opts = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} must look like KEY=VALUE")
        opts[key] = item
    return opts


def _store_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--store",
        envvar=STORE_ENVVAR,
        default=DEFAULT_STORE,
        show_default=True,
        help=f"History store: a SQLite file path or a SQLAlchemy URL (env: {STORE_ENVVAR}).",
    )(func)


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--curriculum",
                "curriculum_dir",
                required=True,
                type=click.Path(path_type=Path, file_okay=False),
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


@click.command()
@_common_options
@click.option("--stage", help="Enroll at this stage instead of the curriculum's first.")
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
) -> None:
    """Enroll a subject: run the curriculum's `init` and store its starting trainer state."""
    _configure_logging(verbose)
    with _exit_on_error(verbose):
        from ._launch import enroll as enroll_subject

        state = enroll_subject(
            curriculum_dir, subject_id, store=store, stage=stage, dialect=dialect,  # type: ignore[arg-type]
            name=name, allow_dirty=allow_dirty, offline=offline, progress=_progress,
        )  # fmt: skip
    curriculum = (state.get("curriculum") or {}).get("name")
    click.echo(f"enrolled {subject_id} in {curriculum} at stage {(state.get('stage') or {}).get('name')}")


@click.command()
@_common_options
@click.option(
    "--session",
    "session_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The finished session's data directory.",
)
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True)
@click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE", callback=_parse_opts, help="Passed to the program.")
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
) -> None:
    """Run the curriculum on a finished session; print the suggestion and record it."""
    _configure_logging(verbose)
    with _exit_on_error(verbose):
        from ._launch import launch as launch_session

        result = launch_session(
            curriculum_dir, session_dir, subject_id, store=store, timeout_s=timeout_s,
            dialect=dialect, name=name, opts=opts, allow_dirty=allow_dirty,  # type: ignore[arg-type]
            offline=offline, progress=_progress,
        )  # fmt: skip
    change = "stage changed" if result.stage_changed else "stage unchanged"
    click.echo(f"{subject_id} {result.session_dir.name}: {result.stage_before} -> {result.stage_after} ({change})")
    if result.summary:
        click.echo(f"decision: {result.summary}")
    click.echo(f"suggestion: {result.suggestion_file}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


_TABLE = [
    ("id", "id"),
    ("subject", "subject"),
    ("session", "session"),
    ("status", "status"),
    ("stage", "stage"),
    ("curriculum", "curriculum"),
    ("finished (UTC)", "finished"),
    ("reason", "reason"),
]


def _table_rows(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for row in rows:
        stage = row["stage_before"] or "?"
        if row["status"] == "ok":
            stage = f"{stage} -> {row['stage_after'] or '?'}"
        curriculum = row["curriculum_name"] or "?"
        if row["curriculum_version"]:
            curriculum += f" {row['curriculum_version']}"
        out.append(
            {
                "id": str(row["id"]),
                "subject": row["subject"],
                "session": row["session"],
                "status": row["status"] + (f" x{row['attempts']}" if row["attempts"] > 1 else ""),
                "stage": stage,
                "curriculum": curriculum,
                "finished": row["finished_at"].strftime("%Y-%m-%d %H:%M:%S"),
                "reason": row["reason"] or "",
            }
        )
    return out


def format_table(rows: list[dict[str, Any]]) -> str:
    """Session records as an aligned text table."""
    cells = _table_rows(rows)
    widths = {key: max([len(title), *(len(c[key]) for c in cells)]) for title, key in _TABLE}
    lines = ["  ".join(title.ljust(widths[key]) for title, key in _TABLE).rstrip()]
    lines += ["  ".join(c[key].ljust(widths[key]) for _, key in _TABLE).rstrip() for c in cells]
    return "\n".join(lines)


_JSON_COLUMNS = (
    "id", "subject", "session", "session_path", "status", "reason", "attempts", "curriculum_name",
    "curriculum_version", "curriculum_commit", "provenance", "dialect", "stage_before", "stage_after",
    "metrics", "warnings", "legacy", "started_at", "finished_at", "duration_s", "bootstrap_s", "run_s",
)  # fmt: skip


@click.command()
@_store_option
@click.option("--subject", "subject_id", help="Only this subject's sessions.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of session records, for machines.")
def history(store: str, subject_id: str | None, as_json: bool) -> None:
    """Print the recorded sessions, oldest first."""
    with _exit_on_error(False):
        from ._store import HistoryStore

        if "://" not in store and not Path(store).is_file():
            raise StoreError(f"no history store at {Path(store).absolute()}")
        rows = HistoryStore(store).session_rows(subject_id)
    if as_json:
        records = [{key: row[key] for key in _JSON_COLUMNS} for row in rows]
        click.echo(json.dumps(records, default=lambda value: value.isoformat()))
        return
    if not rows:
        click.echo("no sessions recorded" + (f" for {subject_id}" if subject_id else ""))
        return
    click.echo(format_table(rows))


def register(group: click.Group) -> None:
    """Add ``enroll``, ``launch`` and ``history`` to a click group."""
    for command in (enroll, launch, history):
        group.add_command(command)
