"""``curriculum replay``: many sessions in one process, the same decisions as one ``run`` after another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sdk_support import CURRICULA
from toy_curriculum import SPEC

from curriculum_contract.sdk import ExitCode, replay
from curriculum_contract.sdk._app import build_cli
from curriculum_contract.sdk._replay import RECORDED, replay_requests

#: (trials, fraction correct) per session: stage_a -> stage_b after two good sessions, then final.
SESSIONS = [(80, 0.9), (120, 0.75), (150, 0.8), (150, 0.95), (60, 0.5)]


def write_sessions(root: Path, plan: list[tuple[int, float]] = SESSIONS) -> list[Path]:
    directories = []
    for index, (trials, correct) in enumerate(plan):
        directory = root / f"S{index + 1:02d}"
        directory.mkdir(parents=True)
        good = round(trials * correct)
        rows = [f"{1.0 if i % 2 else -1.0},{(1 if i % 2 else -1) * (1 if i < good else -1)},0.3" for i in range(trials)]
        (directory / "trials.csv").write_text("signed_contrast,choice,reaction_time\n" + "\n".join(rows) + "\n")
        directories.append(directory)
    return directories


def lines(requests: list[dict]) -> list[str]:
    return [json.dumps(request) for request in requests]


def test_a_chain_from_data_directories_decides_as_one_run_after_another(tmp_path: Path) -> None:
    directories = write_sessions(tmp_path)
    expected = replay(SPEC, directories)
    requests = [{"session": d.name, "subject_id": "M1", "data_directory": str(d)} for d in directories]
    outcomes = list(replay_requests(SPEC, lines(requests)))
    assert [error for _, error in outcomes] == [None] * len(directories)
    got = [result.suggestion for result, _ in outcomes]
    assert [s.trainer_state.stage.name for s in got] == [s.trainer_state.stage.name for s in expected]
    assert [s.model_dump(mode="json") for s in got] == [s.model_dump(mode="json") for s in expected]
    assert {s.trainer_state.stage.name for s in got} == {"stage_a", "stage_b", "final"}, "the plan crosses stages"


def test_recorded_metrics_give_the_same_decisions_without_reading_trials(tmp_path: Path) -> None:
    directories = write_sessions(tmp_path)
    expected = replay(SPEC, directories)
    requests = [
        {"session": d.name, "metrics": s.metrics.model_dump(mode="json")}
        for d, s in zip(directories, expected, strict=True)
    ]
    for directory in directories:
        (directory / "trials.csv").unlink()  # proof that nothing is read
    got = [result.suggestion for result, _ in replay_requests(SPEC, lines(requests))]
    assert [s.decision.model_dump() for s in got] == [s.decision.model_dump() for s in expected]
    assert [s.trainer_state == e.trainer_state for s, e in zip(got, expected, strict=True)] == [True] * len(got)
    assert got[0].data_directory == f"{RECORDED}S01"


def test_a_new_subject_starts_a_new_chain_and_explicit_inputs_win(tmp_path: Path) -> None:
    good = write_sessions(tmp_path / "a", [(150, 0.95), (150, 0.95)])
    weak = write_sessions(tmp_path / "b", [(150, 0.95)])
    requests = [
        {"session": "A1", "subject_id": "A", "data_directory": str(good[0])},
        {"session": "A2", "subject_id": "A", "data_directory": str(good[1])},
        {"session": "B1", "subject_id": "B", "data_directory": str(weak[0])},
        {"session": "X1", "subject_id": "B", "data_directory": str(weak[0]),
         "trainer_state": SPEC.enroll("final").model_dump(mode="json")},
    ]  # fmt: skip
    got = [result.suggestion for result, _ in replay_requests(SPEC, lines(requests))]
    # B1 is as good as A2, but its chain has one session: a window of two cannot pass (A's would have)
    assert [s.trainer_state.stage.name for s in got] == ["stage_a", "stage_b", "stage_a", "final"]


def test_bad_lines_are_reported_on_their_own_line_and_the_rest_goes_on(tmp_path: Path) -> None:
    (one, two) = write_sessions(tmp_path, [(150, 0.95), (150, 0.95)])
    text = [
        json.dumps({"session": "S1", "subject_id": "M", "data_directory": str(one)}),
        "{not json",
        json.dumps({"session": "S2", "subject_id": "M", "metrics": {"n_trials": "many", "performance": 1.0}}),
        json.dumps({"session": "S3", "subject_id": "M", "data_directory": str(two)}),  # depends on S2
        json.dumps({"session": "T1", "subject_id": "N", "data_directory": str(tmp_path / "missing")}),
        json.dumps({"session": "U1", "subject_id": "U", "data_directory": str(two), "metrics": {}}),
        json.dumps({"session": "V1", "subject_id": "V", "data_directory": str(two)}),
    ]
    outcomes = list(replay_requests(SPEC, text))
    assert [r.line for r, _ in outcomes] == [1, 2, 3, 4, 5, 6, 7]
    errors = {r.line: r.error for r, _ in outcomes if r.error is not None}
    assert set(errors) == {2, 3, 4, 5, 6}
    assert errors[2].exit_code == ExitCode.INPUT and "line 2 is invalid" in errors[2].reason
    assert errors[3].exit_code == ExitCode.INPUT and "n_trials" in errors[3].reason
    assert "not decided: line 3 of this subject's chain failed" in errors[4].reason
    assert errors[5].exit_code == ExitCode.INPUT and "missing" in errors[5].reason
    assert "exactly one of data_directory and metrics" in errors[6].reason
    assert outcomes[0][0].suggestion is not None and outcomes[6][0].suggestion is not None


def test_the_command_prints_every_line_and_exits_with_the_first_failure(tmp_path: Path) -> None:
    (one,) = write_sessions(tmp_path, [(150, 0.95)])
    requests = "\n".join([json.dumps({"session": "S1", "data_directory": str(one)}), "[]", ""]) + "\n"
    result = CliRunner().invoke(build_cli(SPEC), ["replay"], input=requests)
    assert result.exit_code == ExitCode.INPUT, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["line"] for p in printed] == [1, 2] and printed[0]["error"] is None and printed[1]["suggestion"] is None
    assert "replay: 1 of 2 session(s) not decided; first: line 2" in result.stderr


@pytest.mark.parametrize("ok", [True, False])
def test_the_real_program_replays_from_a_file(tmp_path: Path, ok: bool) -> None:
    directories = write_sessions(tmp_path)
    requests = [{"session": d.name, "data_directory": str(d)} for d in directories]
    if not ok:
        requests[2]["opts"] = {"unknown": "1"}
    source = tmp_path / "requests.jsonl"
    source.write_text("\n".join(lines(requests)) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "toy_curriculum", "replay", "--input", str(source)],
        capture_output=True, text=True, env={"PYTHONPATH": str(CURRICULA), "PATH": ""}, check=False,
    )  # fmt: skip
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(printed) == len(requests)
    if ok:
        assert done.returncode == 0, done.stderr
        assert [p["suggestion"]["trainer_state"]["stage"]["name"] for p in printed][-1] == "final"
    else:
        assert done.returncode == ExitCode.USAGE, done.stderr
        assert done.stderr.startswith("curriculum: error: replay: 3 of 5 session(s) not decided; first: line 3")
