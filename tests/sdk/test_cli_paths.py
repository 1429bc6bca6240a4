"""No command takes an empty path for the current directory: ``--path "$UNSET"`` is a usage error (exit 2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from curriculum_contract._cli import main
from curriculum_contract._cli_paths import NonEmptyPath
from curriculum_contract.sdk import CurriculumSpec, build_cli


def _commands(command: click.Command, context: click.Context) -> Iterator[tuple[str, click.Command]]:
    yield context.command_path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None
            yield from _commands(sub, click.Context(sub, info_name=name, parent=context))


def plain_paths(command: click.Command, name: str) -> list[str]:
    """``command path: parameter`` for every path parameter of ``command`` and its subcommands that takes ``""``."""
    found = []
    for path, each in _commands(command, click.Context(command, info_name=name)):
        for parameter in each.params:
            if isinstance(parameter.type, click.Path) and not isinstance(parameter.type, NonEmptyPath):
                found.append(f"{path}: {parameter.name}")
    return found


def test_the_checker_finds_a_plain_path() -> None:
    @click.group()
    def group() -> None: ...

    @group.command()
    @click.option("--out", type=click.Path(path_type=Path))
    @click.option("--kept", type=NonEmptyPath(path_type=Path))
    def write(out: Path, kept: Path) -> None: ...

    assert plain_paths(group, "tool") == ["tool write: out"]


def test_every_path_option_of_both_programs_refuses_empty(curriculum_spec: CurriculumSpec) -> None:
    assert plain_paths(main, "curriculum-contract") == []
    assert plain_paths(build_cli(curriculum_spec), "curriculum") == []


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--curriculum", ".", "--out", ""],
        ["launch", "--curriculum", "", "--session", "s", "--subject", "M1"],
        ["new", ""],
    ],
)
def test_an_empty_path_is_a_usage_error_naming_the_option(argv: list[str], tmp_path: Path) -> None:
    with CliRunner().isolated_filesystem(temp_dir=tmp_path) as here:
        result = CliRunner().invoke(main, argv)
        assert result.exit_code == 2, result.output
        assert "an empty path" in result.stderr.splitlines()[0]
        assert list(Path(here).iterdir()) == []  # nothing written where "" would have pointed


def test_curriculum_run_with_an_empty_path_reads_nothing(curriculum_spec: CurriculumSpec) -> None:
    result = CliRunner().invoke(build_cli(curriculum_spec), ["run", "--path", ""])
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("curriculum: error: Invalid value for '--path'") and "an empty path" in first
