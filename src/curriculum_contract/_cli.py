"""The ``curriculum-contract`` command: the contract's tools, the template, the launcher, the demo.

Subcommands import what they need when they run, so ``curriculum-contract launch`` on a rig does not
pay for copier or matplotlib. Every subcommand's errors become exit codes in one place
(``_cli_errors.reporting_errors``, through ``ReportingGroup``/``ReportingCommand``; docs/exit-codes.md).
"""

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from ._cli_errors import ReportingGroup


class _LazyGroup(ReportingGroup):
    """Loads a subcommand's module only when that subcommand is invoked (or listed by --help)."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            import importlib

            module_name, _, attribute = self._lazy[cmd_name].partition(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)


_LAZY_COMMANDS: dict[str, str] = {
    "new": "curriculum_contract._scaffold_cli:new",
    "update": "curriculum_contract._scaffold_cli:update",
    "template-cache": "curriculum_contract._scaffold_cli:template_cache",
    "demo": "curriculum_contract.demo._cli:demo",
    "enroll": "curriculum_contract.launcher_adapter._cli:enroll",
    "launch": "curriculum_contract.launcher_adapter._cli:launch",
    "history": "curriculum_contract.launcher_adapter._cli:history",
    "recompute": "curriculum_contract.launcher_adapter._recompute_cli:recompute",
    "recover": "curriculum_contract.launcher_adapter._cli:recover",
    "sync": "curriculum_contract.launcher_adapter._sync_cli:sync",
    "override": "curriculum_contract.launcher_adapter._override_cli:override",
    "store": "curriculum_contract.launcher_adapter._store_cli:store",
    "simulate": "curriculum_contract.launcher_adapter._simulate:simulate",
    "migrate": "curriculum_contract.launcher_adapter._migrate_cli:migrate",
    "whatif": "curriculum_contract.launcher_adapter._whatif_cli:whatif",
    "serve": "curriculum_contract.status._cli:serve",
}


@click.group(cls=_LazyGroup, lazy=_LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="curriculum-contract")
def main() -> None:
    """Tools for the curriculum contract: schema, validation, templates, the launcher adapter, the demo."""


@main.command()
@click.option("--history", is_flag=True, help="Print the schema of the input history document instead.")
def schema(history: bool) -> None:
    """Print the contract's JSON Schema of the document `curriculum run` prints."""
    from .sdk._schema import committed_schema_text

    click.echo(committed_schema_text("history" if history else "suggestion"), nl=False)


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--history", is_flag=True, help="Validate a history document instead of a suggestion.")
def validate(file: Any, history: bool) -> None:
    """Check a document (FILE, or - for stdin) against the contract; list failing fields."""
    from pydantic import ValidationError

    from ._errors import DocumentInvalid
    from ._text import validation_problems
    from .sdk._contract import History, Suggestion

    name = "<stdin>" if file.name == "<stdin>" else str(Path(file.name))
    text = file.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DocumentInvalid(
            f"{name}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    model = History if history else Suggestion
    try:
        model.model_validate_json(text)
    except ValidationError as error:
        lines = [line for _, line in validation_problems(error)]
        raise DocumentInvalid(
            f"{name}: invalid {model.__name__} document ({len(lines)} problems): {lines[0]}",
            "\n".join(f"  {line}" for line in lines),
        ) from None
    click.echo(f"{name}: valid {model.__name__} document (contract {document['contract_version']})")


def exit_fast(entry: Callable[[], object]) -> NoReturn:
    """Run a click entry point as a console script, then end the process without interpreter teardown.

    Tearing down the modules a launch loads (SQLAlchemy, pydantic, the DSL) costs about 100 ms after
    the work is done, on every session of a rig. Output is flushed and the store closed by then; only
    the final garbage collection and module cleanup are skipped. An unexpected exception still ends
    the normal way, with its traceback. A stdout whose reader went away by the last flush ends with
    ``STDOUT_CLOSED`` (141), quietly, as a command stopped early does (``_cli_errors``).
    """
    from ._cli_errors import STDOUT_CLOSED

    try:
        entry()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if not isinstance(done.code, int | None):
            print(done.code, file=sys.stderr)
    logging.shutdown()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = code or STDOUT_CLOSED
    except Exception:  # a stdout that cannot be flushed has nobody to tell
        pass
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)


def run() -> NoReturn:
    """The console script: ``main``, then a fast exit (a rig pays the teardown on every session)."""
    exit_fast(main)
