"""Whatever a curriculum's code prints, stdout carries exactly one JSON document (real processes)."""

from pathlib import Path

from sdk_support import DATA, program

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
    assert '"contract_version": "1.0.0"' in (tmp_path / "suggestion.json").read_text()
