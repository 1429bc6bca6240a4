"""``launch`` and ``enroll`` with a fake runner (and a fake git): every outcome of a run, no process, no clock.

The runner stands in for ``run_process`` and returns the ``ProcessResult`` a program would have produced,
or raises the ``TimedOut``/``ProcessFailed`` it would have raised; the rest is real (the session
directory, the guard and its restore, the validator, the store). test_launch.py runs the same cases
with real programs, test_process.py the real timeout.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fake_curriculum import enrollment
from fake_runner import FAKE_DURATION_S, Call, FakeGit, FakeRunner, finished, suggests, timed_out
from launcher_support import assert_intact, fake_project, make_session, tree_digest

from curriculum_contract.launcher_adapter._errors import (
    AdapterError,
    ContractViolation,
    ProcessFailed,
    SessionDataViolation,
    SubmoduleNotReady,
    TimedOut,
)
from curriculum_contract.launcher_adapter._launch import DEFAULT_TIMEOUT_S, enroll, launch, run_or_skip
from curriculum_contract.launcher_adapter._process import ProcessResult
from curriculum_contract.launcher_adapter._store import HistoryStore
from curriculum_contract.sdk import SUGGESTION_FILE

TRACEBACK = b"Traceback (most recent call last):\nValueError: trials.csv has no 'outcome' column\n"


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return make_session(tmp_path / "sessions", "M1_s1", n_trials=10, session_json={"subject_id": "M1"})


def test_the_runner_gets_the_command_line_the_project_the_timeout_and_a_clean_environment(
    project: Path, program_for, store_path: Path, enrolled, session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", "/the/launcher/.venv")
    enrolled("M1")
    environment = program_for("ok")
    runner = FakeRunner(suggests)
    result = launch(project, session, "M1", store=store_path, timeout_s=42.5, environment=environment, runner=runner)

    [call] = runner.calls
    assert call.argv == [str(environment.executable), "run", "--path", str(session)]
    assert call.cwd == project.resolve() and call.timeout_s == 42.5
    assert "VIRTUAL_ENV" not in call.env and call.env["PYTHONUNBUFFERED"] == "1"
    assert (result.stage_before, result.stage_after) == ("stage_a", "stage_b")
    assert json.loads((session / SUGGESTION_FILE).read_text()) == result.document
    assert result.timings.run_s == FAKE_DURATION_S, "the run's time is the program's, as the runner measured it"
    [row] = HistoryStore(store_path).session_rows("M1")
    assert (row["status"], row["run_s"]) == ("ok", FAKE_DURATION_S)


def test_the_default_timeout_reaches_the_runner(
    project: Path, program_for, store_path: Path, enrolled, session: Path
) -> None:
    enrolled("M1")
    runner = FakeRunner(suggests)
    launch(project, session, "M1", store=store_path, environment=program_for("ok"), runner=runner)
    assert [call.timeout_s for call in runner.calls] == [DEFAULT_TIMEOUT_S]


# What a program can end in, as run_process reports it: returned (a result) or raised (an error).
OUTCOMES = [
    ("timeout", timed_out, TimedOut, r"did not finish within 120 s; its process group was killed \(last stderr"),
    ("cannot_start", lambda call: ProcessFailed(f"cannot start {call.argv[0]}: Permission denied", child_exit_code=126),
     ProcessFailed, "cannot start .*curriculum: Permission denied"),
    ("exit_4", lambda call: finished(call, exit_code=4, stderr=TRACEBACK),
     ProcessFailed, r"exited with code 4: ValueError: trials.csv has no 'outcome' column$"),
    ("killed", lambda call: finished(call, exit_code=-9, stderr=b"allocating a huge array...\n"),
     ProcessFailed, "was killed by SIGKILL: allocating a huge array"),
    ("killed_and_printed", lambda call: finished(call, exit_code=-15, stdout=suggests(call).stdout),
     ProcessFailed, "was killed by SIGTERM"),
    ("nothing", lambda call: finished(call), ContractViolation, "printed nothing on stdout"),
    ("log_line", lambda call: finished(call, stdout=b"INFO computing metrics...\n" + suggests(call).stdout),
     ContractViolation, r"text before the JSON document \(a log line\?\): 'INFO computing metrics"),
    ("binary", lambda call: finished(call, stdout=b"\x89PNG\r\n\x1a\n\x00\x00"),
     ContractViolation, r"stdout is not UTF-8 \(bad byte at offset 0\)"),
    ("a_list", lambda call: finished(call, stdout=b"[1, 2, 3]\n"),
     ContractViolation, "a JSON list, expected an object"),
    ("capped", lambda call: finished(call, stdout=b'{"trainer_state": "' + b"x" * 100, stdout_truncated=True),
     ContractViolation, r"printed more than 119 bytes on stdout \(the capture cap\); output not parsed"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "error", "message"), [o[1:] for o in OUTCOMES], ids=[o[0] for o in OUTCOMES])
def test_every_outcome_of_a_run_is_typed_recorded_as_skipped_and_changes_nothing(
    project: Path, program_for, store_path: Path, enrolled, session: Path, answer, error: type, message: str
) -> None:
    enrolled("M1")
    before = tree_digest(session)
    runner = FakeRunner(answer)
    with pytest.raises(error, match=message) as caught:
        launch(project, session, "M1", store=store_path, environment=program_for("ok"), runner=runner)
    assert type(caught.value) is error and "\n" not in str(caught.value)
    assert len(runner.calls) == 1, "a failed run is not retried"
    [row] = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "skipped" and row["reason"] == str(caught.value)
    assert row["stage_before"] == "stage_a" and row["input_trainer_state"] == enrollment()
    assert HistoryStore(store_path).latest_trainer_state("M1") == enrollment(), "a skip changes no state"
    assert not (session / SUGGESTION_FILE).exists()
    assert json.loads((session / "session.json").read_text()) == {"subject_id": "M1"}
    assert_intact(session, before)


def test_a_timeout_records_how_long_the_program_ran(
    project: Path, program_for, store_path: Path, enrolled, session: Path
) -> None:
    """run_s of a killed program is the adapter's own measure (no result came back); it is recorded."""
    enrolled("M1")
    with pytest.raises(TimedOut):
        launch(project, session, "M1", store=store_path, environment=program_for("ok"), runner=FakeRunner(timed_out))
    [row] = HistoryStore(store_path).session_rows("M1")
    assert row["run_s"] is not None and row["run_s"] >= 0 and row["duration_s"] >= row["run_s"]


def _damaging(then):
    """An answer that deletes the session's trials.csv, then ends like ``then``."""

    def answer(call: Call) -> ProcessResult | BaseException:
        (Path(call.option("--path")) / "trials.csv").unlink()
        return then(call)

    return answer


@pytest.mark.parametrize(
    "then",
    [timed_out, lambda call: finished(call, exit_code=4, stderr=TRACEBACK), lambda call: finished(call, stdout=b"{")],
    ids=["timeout", "failure", "garbage"],
)
def test_a_data_violation_outranks_how_the_run_ended(
    project: Path, program_for, store_path: Path, enrolled, session: Path, then
) -> None:
    """The operator must hear about the session's data first, and get it back, whatever else went wrong."""
    enrolled("M1")
    before = tree_digest(session)
    runner = FakeRunner(_damaging(then))
    with pytest.raises(SessionDataViolation, match=r"trials\.csv: deleted; restored trials\.csv$") as caught:
        launch(project, session, "M1", store=store_path, environment=program_for("ok"), runner=runner)
    assert caught.value.restored == ["trials.csv"]
    assert_intact(session, before)
    assert HistoryStore(store_path).session_rows("M1")[0]["reason"] == str(caught.value)


def test_run_or_skip_passes_the_runner_and_returns_none(
    project: Path, program_for, store_path: Path, enrolled, session: Path, caplog: pytest.LogCaptureFixture
) -> None:
    enrolled("M1")
    with caplog.at_level(logging.WARNING, logger="curriculum_contract"):
        skipped = run_or_skip(
            project, session, "M1", store=store_path, environment=program_for("ok"), runner=FakeRunner(timed_out)
        )
    assert skipped is None
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "did not finish within 120 s" in record.getMessage()
    ok = run_or_skip(
        project, session, "M1", store=store_path, environment=program_for("ok"), runner=FakeRunner(suggests)
    )
    assert ok is not None and ok.stage_after == "stage_b"


# -- enroll ----------------------------------------------------------------------------------------------------


def test_enroll_runs_init_through_the_runner(project: Path, program_for, store_path: Path) -> None:
    environment = program_for("ok")
    runner = FakeRunner(lambda call: finished(call, stdout=json.dumps(enrollment("stage_b")).encode()))
    state = enroll(project, "M1", store=store_path, stage="stage_b", environment=environment, runner=runner)
    [call] = runner.calls
    assert call.argv == [str(environment.executable), "init", "--stage", "stage_b"]
    assert (call.cwd, call.timeout_s) == (project.resolve(), DEFAULT_TIMEOUT_S)
    assert state == enrollment("stage_b") == HistoryStore(store_path).latest_trainer_state("M1")


ENROLL_FAILURES = [
    ("timeout", timed_out, TimedOut, "did not finish within 120 s"),
    ("exit_4", lambda call: finished(call, exit_code=4, stderr=TRACEBACK), ProcessFailed, "exited with code 4"),
    ("killed", lambda call: finished(call, exit_code=-9), ProcessFailed, "killed by SIGKILL"),
    ("nothing", lambda call: finished(call), ContractViolation, "init printed no trainer state on stdout"),
    ("garbage", lambda call: finished(call, stdout=b"hello, not json\n"), ContractViolation, "init: stdout is not"),
    ("a_list", lambda call: finished(call, stdout=b"[]"), ContractViolation, "init printed a JSON list"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "error", "message"), [f[1:] for f in ENROLL_FAILURES], ids=[f[0] for f in ENROLL_FAILURES]
)
def test_a_failed_enrollment_is_typed_and_stores_nothing(
    project: Path, program_for, store_path: Path, answer, error: type, message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        enroll(project, "M1", store=store_path, environment=program_for("ok"), runner=FakeRunner(answer))
    assert type(caught.value) is error and "\n" not in str(caught.value)
    assert HistoryStore(store_path).subjects() == []


# -- git -------------------------------------------------------------------------------------------------------


def test_launch_and_enroll_ask_the_git_they_are_given(
    project: Path, program_for, store_path: Path, session: Path
) -> None:
    git = FakeGit()  # answers like git outside any repository: a plain directory
    runner = FakeRunner(lambda call: finished(call, stdout=json.dumps(enrollment()).encode()))
    enroll(project, "M1", store=store_path, environment=program_for("ok"), runner=runner, git=git)
    result = launch(
        project, session, "M1", store=store_path, environment=program_for("ok"), runner=FakeRunner(suggests), git=git
    )
    assert result.provenance.kind == "directory" and result.provenance.commit is None
    assert [(args[0], cwd) for args, cwd in git.calls] == [("rev-parse", project.resolve())] * 2


def test_a_checkout_without_git_installed_is_refused_and_recorded(
    tmp_path: Path, program_for, store_path: Path, enrolled, session: Path
) -> None:
    enrolled("M1")
    checkout = tmp_path / "task-repo"
    (checkout / ".git").mkdir(parents=True)  # a git checkout, as far as the file system tells
    project = fake_project(checkout / "curricula")
    runner = FakeRunner(suggests)
    with pytest.raises(SubmoduleNotReady, match=rf"git is not installed \(on PATH\): needed to check {project}"):
        launch(project, session, "M1", store=store_path, environment=program_for("ok"), runner=runner,
               git=FakeGit(installed=False))  # fmt: skip
    assert runner.calls == [], "nothing ran"
    assert HistoryStore(store_path).session_rows("M1")[0]["status"] == "skipped"
    with pytest.raises(AdapterError, match="git is not installed"):
        enroll(project, "M2", store=store_path, environment=program_for("ok"), runner=runner,
               git=FakeGit(installed=False))  # fmt: skip
