"""One exception tree, one place that maps it to exit codes, one documented table that cannot drift."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import curriculum_contract
from curriculum_contract import CommandExit, ContractError, exit_code_for
from curriculum_contract._cli_errors import ReportingGroup, reporting_errors
from curriculum_contract._errors import error_classes, exit_code_rows, exit_code_table
from curriculum_contract.launcher_adapter import (
    AdapterError,
    BootstrapFailed,
    CurriculumNotFound,
    ProcessFailed,
    StoreError,
    SubjectNotEnrolled,
    TimedOut,
)
from curriculum_contract.scaffold import CommandFailed, DestinationError, ScaffoldError, ToolMissing
from curriculum_contract.sdk import CurriculumError, ExitCode, InputError, LoadError, UsageError

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "exit-codes.md"


def test_the_root_is_public_and_every_family_hangs_from_it() -> None:
    assert curriculum_contract.__all__ == sorted(curriculum_contract.__all__)
    for family in (CurriculumError, AdapterError, ScaffoldError):
        assert issubclass(family, ContractError)
    classes = error_classes()
    assert classes[0] is ContractError and len(classes) > 25
    assert {"DemoError", "DocumentInvalid", "InvalidArgument", "UpdateConflicts"} <= {c.__name__ for c in classes}


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (CurriculumNotFound, FileNotFoundError),
        (TimedOut, TimeoutError),
        (SubjectNotEnrolled, LookupError),
        (InputError, ValueError),
        (LoadError, ImportError),
        (DestinationError, FileExistsError),
        (ToolMissing, FileNotFoundError),
    ],
)
def test_members_keep_their_builtin_bases(cls: type[ContractError], builtin: type[Exception]) -> None:
    assert issubclass(cls, builtin)


def test_reason_is_one_line_and_details_are_kept() -> None:
    error = InputError("no trainer state at\n  /data/s1", "details\nover lines")
    assert str(error) == error.reason == "no trainer state at /data/s1"
    assert error.details == "details\nover lines"


def test_exit_code_is_ours_and_a_child_keeps_its_own() -> None:
    failed = ProcessFailed("curriculum exited with code 4", child_exit_code=4)
    assert (failed.exit_code, failed.child_exit_code) == (CommandExit.PROCESS_FAILED, 4)
    assert BootstrapFailed("uv failed", child_exit_code=2).exit_code == CommandExit.BOOTSTRAP_FAILED
    assert CommandFailed(["git", "status"], 128, "fatal: no").child_exit_code == 128
    with pytest.raises(TypeError):
        ProcessFailed("x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="exit_code"):
        ProcessFailed("x", exit_code=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="exit_code"):
        BootstrapFailed("uv failed", exit_code=2)  # type: ignore[call-arg]


def test_the_sdk_keeps_the_contracts_codes() -> None:
    assert [int(code) for code in ExitCode] == list(range(8))
    assert exit_code_for(UsageError("x")) == 2 and exit_code_for(LoadError("x")) == 7
    assert exit_code_for(InputError("x")) == ExitCode.INPUT


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SubjectNotEnrolled("x"), 9),
        (TimedOut("x", timeout_s=1), 6),
        (ProcessFailed("x", child_exit_code=3), 11),
        (StoreError("x"), 10),
        (DestinationError("x"), 2),
        (ValueError("a bug"), 1),
        (KeyError("a bug"), 1),
    ],
)
def test_exit_code_for(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_every_class_of_the_tree_has_its_own_documented_code() -> None:
    """A class added to the tree without a code of its own (or left out of the doc) fails here."""
    rows = exit_code_rows()
    documented = {name for _, _, _, name in rows}
    for cls in error_classes()[1:]:
        if cls.__dict__.get("_family_root"):
            continue
        assert cls.__name__ in documented, f"{cls.__name__} is not in the exit-code table"
        assert cls.exit_code != CommandExit.INTERNAL, f"{cls.__name__} has no exit code of its own (1 is a bug)"
        assert (cls.__doc__ or "").strip(), f"{cls.__name__} has no docstring to document its meaning"
    codes = {code for _, code, _, _ in rows}
    assert codes == set(range(max(CommandExit) + 1)), "a code of CommandExit/ExitCode that no class uses, or a gap"


def test_one_code_means_one_thing_across_curriculum_contract_commands() -> None:
    for cls in error_classes()[1:]:
        if cls.commands and cls.commands[0].startswith("curriculum-contract"):
            assert isinstance(cls.exit_code, CommandExit), f"{cls.__name__}: not a code of the one table"


def test_the_doc_table_is_generated_from_the_tree() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- exit-codes:begin -->\n(.*)<!-- exit-codes:end -->", text, re.DOTALL)
    assert found, "docs/exit-codes.md lost its table markers"
    assert found[1] == exit_code_table(), (
        "docs/exit-codes.md drifted from the error classes: regenerate the table with "
        "`python -m curriculum_contract._errors`"
    )


@pytest.mark.parametrize("page", ["README.md", "docs/contract.md", "docs/launcher.md"])
def test_the_pages_that_mention_exit_codes_link_the_table(page: str) -> None:
    assert "exit-codes.md" in (ROOT / page).read_text(encoding="utf-8")


def _group_raising(error: BaseException) -> click.Group:
    @click.group(cls=ReportingGroup)
    def cli() -> None:
        pass

    @cli.command()
    def boom() -> None:
        raise error

    return cli


def test_an_unexpected_exception_is_an_internal_error_never_a_bare_traceback() -> None:
    result = CliRunner().invoke(_group_raising(ZeroDivisionError("division by zero")), ["boom"])
    assert result.exit_code == 1
    first, *rest = result.stderr.splitlines()
    assert first == "curriculum-contract: error: internal error: ZeroDivisionError: division by zero"
    assert rest[0] == "Traceback (most recent call last):" and result.stdout == ""


def test_a_typed_error_exits_with_its_code_and_notes_follow_the_details() -> None:
    error = StoreError("history store h.sqlite cannot be opened: locked", "the details")
    error.add_note("the skip was not recorded")
    result = CliRunner().invoke(_group_raising(error), ["boom"])
    assert result.exit_code == 10
    assert result.stderr.splitlines() == [
        "curriculum-contract: error: history store h.sqlite cannot be opened: locked",
        "the details",
        "the skip was not recorded",
    ]


def test_ctrl_c_and_a_click_error_get_the_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited, reporting_errors("curriculum-contract"):
        raise click.UsageError("bad")
    assert exited.value.code == 2 and capsys.readouterr().err == "curriculum-contract: error: bad\n"
    aborted = CliRunner().invoke(_group_raising(KeyboardInterrupt()), ["boom"])
    assert aborted.exit_code == 130 and "Aborted!" not in aborted.stderr
    assert aborted.stderr == "curriculum-contract: error: interrupted (Ctrl-C): nothing more was done\n"


def test_ctrl_c_of_a_real_command_is_exit_130_with_one_line(tmp_path: Path) -> None:
    """SIGINT to a running `curriculum-contract` process: its one line and 130, not click's bare "Aborted!"."""
    script = tmp_path / "slow.py"
    script.write_text(
        "import sys, time\nimport click\nfrom curriculum_contract._cli_errors import ReportingGroup\n"
        "@click.group(cls=ReportingGroup)\ndef cli(): pass\n"
        "@cli.command()\ndef wait():\n    print('ready', flush=True)\n    time.sleep(600)\n"
        "cli(prog_name='curriculum-contract')\n"
    )
    process = subprocess.Popen([sys.executable, str(script), "wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.decode() == "curriculum-contract: error: interrupted (Ctrl-C): nothing more was done\n"


def test_validate_exits_with_the_document_code(tmp_path: Path) -> None:
    from curriculum_contract._cli import main

    result = CliRunner().invoke(main, ["validate", "-"], input="{not json")
    assert result.exit_code == CommandExit.CONTRACT_VIOLATION
    [line] = result.stderr.splitlines()
    assert line.startswith("curriculum-contract: error: <stdin>: not valid JSON: ")


def test_no_command_exits_with_a_number_of_its_own() -> None:
    """Exit codes come from the one handler: no sys.exit(<n>)/ctx.exit(<n>) in the commands."""
    offenders = []
    for path in (ROOT / "src" / "curriculum_contract").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\b(sys|ctx)\.exit\(\s*\d", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_no_bare_adapter_error_is_raised() -> None:
    offenders = []
    for path in (ROOT / "src" / "curriculum_contract").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\b(raise|return) AdapterError\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
    assert AdapterError.exit_code == CommandExit.INTERNAL, "the root is never raised: its code is a bug's"


def test_the_launcher_pages_error_table_agrees_with_the_classes() -> None:
    """docs/launcher.md keeps a short table of the adapter's errors: each row's code is the class's."""
    import curriculum_contract.launcher_adapter._errors as adapter_errors

    text = (ROOT / "docs" / "launcher.md").read_text(encoding="utf-8")
    section = text[text.index("## Errors") :].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \|", section, re.MULTILINE)
    assert len(rows) >= 10
    for name, code in rows:
        assert getattr(adapter_errors, name).exit_code == int(code), f"docs/launcher.md: {name} is not exit {code}"
