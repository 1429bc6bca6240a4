"""Whatever a curriculum's code prints, stdout carries exactly one JSON document (real processes)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sdk_support import DATA, program

from curriculum_contract.sdk import Suggestion
from curriculum_contract.sdk._contract import CONTRACT_VERSION
from curriculum_contract.sdk._stdout import guarded_stdout
from curriculum_contract.sdk.testing import assert_one_document


def test_print_logging_and_c_writes_go_to_stderr() -> None:
    completed = program("noisy_curriculum").run("run", "--path", str(DATA / "advances"))
    suggestion = assert_one_document(completed)
    stderr = completed.stderr.decode()
    for noise in [
        "print() from the metrics function",
        "INFO log to a stdout handler",
        "os.write to fd 1",
        "printf from C, buffered, no newline",
    ]:
        assert noise in stderr
    assert suggestion.trainer_state.stage.name == "stage_b"


def test_failure_leaves_stdout_empty(tmp_path: Path) -> None:
    completed = program("noisy_curriculum").run("run", "--path", str(tmp_path / "missing"))
    assert completed.returncode == 3
    assert completed.stdout == b""
    assert completed.stderr.decode().splitlines()[0].startswith("curriculum: error: data directory")


def test_mute_suggestion_prints_nothing_and_output_suggestion_writes_the_file(tmp_path: Path) -> None:
    completed = program("toy_curriculum").run(
        "run", "--path", str(DATA / "advances"), "--mute-suggestion", "--output-suggestion", str(tmp_path)
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == b""
    assert f'"contract_version": "{CONTRACT_VERSION}"' in (tmp_path / "suggestion.json").read_text()


NESTED = """
import os
from curriculum_contract.sdk._stdout import guarded_stdout, install_guard

with install_guard() as outer:
    print("print() between the guards")
    with guarded_stdout() as middle, guarded_stdout() as inner:
        os.write(1, b"os.write inside the nested blocks\\n")
        inner.write_document('{"nested": true}')
    print("print() after the blocks")
    outer.write_document('{"outer": true}')
"""


def test_a_nested_guard_reuses_the_installed_one() -> None:
    """A second guard must not duplicate fd 1 (by then stderr): both documents reach the real stdout."""
    completed = subprocess.run([sys.executable, "-c", NESTED], capture_output=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == b'{"nested": true}\n{"outer": true}\n'
    for noise in (b"print() between the guards", b"os.write inside the nested blocks", b"print() after the blocks"):
        assert noise in completed.stderr


def test_without_a_descriptor_the_stream_guard_nests_and_restores(capsys: pytest.CaptureFixture[str]) -> None:
    """Under pytest's capture (as under CliRunner) stdout has no fd 1: the Python-level guard does the job."""
    before = sys.stdout
    with guarded_stdout() as outer:
        print("noise in the outer block")
        with guarded_stdout() as inner:
            assert inner is outer
            print("noise in the inner block")
            inner.write_document("{}")
    assert sys.stdout is before
    captured = capsys.readouterr()
    assert captured.out == "{}\n"
    assert "noise in the outer block" in captured.err and "noise in the inner block" in captured.err


def test_in_process_commands_print_only_their_output() -> None:
    """click's CliRunner: every JSON command through the StreamGuard path, the metrics' noise on stderr."""
    from noisy_curriculum import main

    runner = CliRunner()
    run = runner.invoke(main, ["run", "--path", str(DATA / "advances")])
    assert run.exit_code == 0, run.stderr
    assert run.stdout.count("\n") == 1 and "print() from the metrics function" in run.stderr
    Suggestion.model_validate_json(run.stdout)
    init = runner.invoke(main, ["init"])
    assert init.exit_code == 0 and json.loads(init.stdout)["stage"]["name"] == "stage_a"
    schema = runner.invoke(main, ["schema"])
    assert schema.exit_code == 0 and "$defs" in json.loads(schema.stdout)
