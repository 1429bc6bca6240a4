"""The ``curriculum`` command group, over ``CurriculumSpec``s loaded when a command first needs them.

``main`` (``_main.py``) builds it with a loader that imports the curriculum's entry points under the stdout
guard; ``build_cli`` (the older way) with specs its caller already imported. Every command writes its output
through the guard (``guarded_stdout``), so only that output reaches stdout. Commands parse their options,
call the SDK, and return; ``_CurriculumGroup`` turns errors into exit codes, an empty stdout and a one-line
reason on stderr, through the package's one handler (``curriculum_contract._cli_errors.reporting_errors``).
"""

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TextIO

import click

from .._cli_errors import ReportingGroup
from .._cli_paths import NonEmptyPath
from .._files import write_text_atomic
from .._text import parse_pairs
from ._errors import UsageError
from ._layout import SUGGESTION_FILE, trainer_state_path
from ._simulate_command import simulate_command
from ._spec import CurriculumSpec
from ._stdout import guarded_stdout

SpecLoader = Callable[[], Mapping[str, CurriculumSpec]]
"""Returns the program's specs by curriculum name; called inside the guard, may raise ``LoadError``."""


class _CurriculumGroup(ReportingGroup):
    """Maps the SDK's errors to their documented exit codes (``ExitCode``); anything else is exit 1."""

    program = "curriculum"
    command_class = click.Command  # the group reports for its commands


def _parse_opts(values: tuple[str, ...]) -> dict[str, str]:
    return parse_pairs(values, option="--opt", error=UsageError)


def _select(specs: Mapping[str, CurriculumSpec], name: str | None, state_file: Path | None) -> CurriculumSpec:
    """The spec named by ``--curriculum``, else the only one, else the one the trainer state names."""
    if name is not None:
        if name not in specs:
            raise UsageError(f"--curriculum {name!r} does not match this program's curricula: {', '.join(specs)}")
        return specs[name]
    if len(specs) == 1:
        return next(iter(specs.values()))
    if state_file is not None and state_file.is_file():
        try:
            named = json.loads(state_file.read_text(encoding="utf-8"))["curriculum"]["name"]
        except (ValueError, KeyError, TypeError):
            named = None
        if named in specs:
            return specs[named]
    raise UsageError(f"this program holds several curricula ({', '.join(specs)}): pass --curriculum NAME")


def _specs_by_name(specs: Iterable[CurriculumSpec]) -> dict[str, CurriculumSpec]:
    """The specs keyed by curriculum name; two with the same name are a programming error."""
    by_name: dict[str, CurriculumSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise ValueError(f"two CurriculumSpecs have the same curriculum name {spec.name!r}")
        by_name[spec.name] = spec
    return by_name


def build_cli(*specs: CurriculumSpec) -> click.Group:
    """The ``curriculum`` command group for these curricula: the older way, before ``main``.

    A console script pointing at ``build_cli(SPEC)`` imports the curriculum's modules before any command
    runs, so what they print at import time reaches stdout ahead of the document. Prefer
    ``[project.scripts] curriculum = "curriculum_contract.sdk:main"`` (see docs/contract.md). Commands
    still guard their own output: whatever runs inside them prints to stderr.
    """
    if not specs:
        raise ValueError("build_cli needs at least one CurriculumSpec")
    by_name = _specs_by_name(specs)
    return make_cli(lambda: by_name)


def make_cli(load: SpecLoader) -> click.Group:
    """The command group over the specs ``load`` returns (called inside each command's guarded block)."""

    @click.group(cls=_CurriculumGroup, context_settings={"help_option_names": ["-h", "--help"]})
    def cli() -> None:
        """Run, enroll and describe this package's curricula (curriculum contract v1)."""

    @cli.command()
    @click.option(
        "--path",
        "--data-directory",
        "path",
        type=NonEmptyPath(path_type=Path),
        required=True,
        help="The session's data directory (the sole input).",
    )
    @click.option(
        "--input-trainer-state",
        type=NonEmptyPath(path_type=Path),
        help="Trainer state file, overriding <path>/curriculum/trainer_state.json.",
    )
    @click.option("--curriculum", "name", help="Curriculum name; must match this program's.")
    @click.option("--output-suggestion", type=NonEmptyPath(path_type=Path), help="Also write DIR/suggestion.json.")
    @click.option("--mute-suggestion", is_flag=True, help="Do not print the document on stdout.")
    @click.option("--opt", "opt_values", multiple=True, metavar="KEY=VALUE", help="Passed to the metrics function.")
    def run(
        path: Path,
        input_trainer_state: Path | None,
        name: str | None,
        output_suggestion: Path | None,
        mute_suggestion: bool,
        opt_values: tuple[str, ...],
    ) -> None:
        """Suggest the next trainer state from a session's data directory; print one JSON document."""
        from ._session import run_session

        opts = _parse_opts(opt_values)
        state_file = input_trainer_state or (trainer_state_path(path) if path.is_dir() else None)
        with guarded_stdout() as stdout:
            spec = _select(load(), name, state_file)
            suggestion = run_session(spec, path, input_trainer_state=input_trainer_state, opts=opts)
            document = suggestion.model_dump_json()
            if output_suggestion is not None:
                write_text_atomic(output_suggestion / Path(SUGGESTION_FILE).name, suggestion.model_dump_json(indent=2))
            if not mute_suggestion:
                stdout.write_document(document)

    @cli.command()
    @click.option("--stage", help="Enroll at this stage instead of the first.")
    @click.option("--output", type=NonEmptyPath(path_type=Path), help="Also write the trainer state to this file.")
    @click.option("--curriculum", "name", help="Curriculum name; must match this program's.")
    def init(stage: str | None, output: Path | None, name: str | None) -> None:
        """Print the enrollment trainer state of a new subject."""
        with guarded_stdout() as stdout:
            state = _select(load(), name, None).enroll(stage)
            if output is not None:
                write_text_atomic(output, state.model_dump_json(indent=2))
            stdout.write_document(state.model_dump_json())

    @cli.command()
    @click.option("--format", "form", type=click.Choice(["text", "mermaid"]), default="text", show_default=True)
    @click.option("--curriculum", "name", help="Which curriculum, when the package holds several.")
    def describe(form: str, name: str | None) -> None:
        """Stages, policies and transitions, as text or as a Mermaid graph."""
        from ._describe import describe_mermaid, describe_text

        with guarded_stdout() as stdout:
            by_name = load()
            chosen = [by_name[n] for n in by_name if name in (None, n)]
            if not chosen:
                raise UsageError(f"--curriculum {name!r} is not one of: {', '.join(by_name)}")
            for spec in chosen:
                curriculum = spec.trainer.curriculum
                text = (
                    describe_text(curriculum, spec.package_version) if form == "text" else describe_mermaid(curriculum)
                )
                stdout.write_document(text)

    @cli.command(name="list")
    def list_() -> None:
        """Names of the curricula this program runs."""
        with guarded_stdout() as stdout:
            stdout.write("".join(f"{spec_name}\n" for spec_name in load()))

    @cli.command()
    def version() -> None:
        """The curriculum package's version."""
        with guarded_stdout() as stdout:
            stdout.write_document(next(iter(load().values())).package_version)

    @cli.command(name="dsl-version")
    def dsl_version() -> None:
        """The version of aind-behavior-curriculum in use."""
        with guarded_stdout() as stdout:
            import aind_behavior_curriculum

            stdout.write_document(aind_behavior_curriculum.__version__)

    @cli.command()
    @click.option("--history", is_flag=True, help="The schema of the input history instead.")
    def schema(history: bool) -> None:
        """The contract's JSON Schema of the stdout document."""
        from ._schema import committed_schema_text

        with guarded_stdout() as stdout:
            stdout.write(committed_schema_text("history" if history else "suggestion"))

    @cli.command()
    @click.option(
        "--input", "source", type=click.File("r", encoding="utf-8"), default="-", show_default=True,
        help="JSON lines of replay requests (docs/contract.md, 'Batch replay'); - is stdin.",
    )  # fmt: skip
    @click.option("--curriculum", "name", help="Curriculum name; must match this program's.")
    def replay(source: TextIO, name: str | None) -> None:
        """Decide many sessions in one process: one replay request per input line, one result per output line."""
        from ._replay import batch_failure, replay_requests

        with guarded_stdout() as stdout:
            spec = _select(load(), name, None)
            failed, total = [], 0
            for result, error in replay_requests(spec, source):
                total += 1
                stdout.write_document(result.model_dump_json())
                if error is not None:
                    failed.append((result, error))
            if failed:
                raise batch_failure(failed, total)

    cli.add_command(simulate_command(load, lambda specs, name: _select(specs, name, None), _parse_opts))
    return cli
