"""Inputs that used to be tracebacks are typed, one-line, documented failures: a session path that is not
valid UTF-8, a corrupt JSON value in the store. In-process with CliRunner, over a real SQLite store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from launcher_support import make_session, ready_project

from curriculum_contract import CommandExit, ContractError
from curriculum_contract._cli_errors import STDOUT_CLOSED, reporting_errors
from curriculum_contract.launcher_adapter import (
    CurriculumNotFound,
    HistoryStore,
    InvalidArgument,
    SessionNotFound,
    StoreError,
    SubjectNotEnrolled,
    enroll,
    launch,
    run_or_skip,
)
from curriculum_contract.launcher_adapter._cli import register
from curriculum_contract.launcher_adapter._json import loads_column
from curriculum_contract.scaffold import ToolMissing


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CURRICULUM_CONTRACT_STORE", raising=False)
    group = click.Group("curriculum-contract")
    register(group)

    def invoke(*args: str | Path):
        return CliRunner().invoke(group, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def undecodable_session(tmp_path: Path) -> Path:
    """A session directory whose name holds the byte 0xff, as a POSIX command line delivers it."""
    raw = os.fsencode(tmp_path / "sessions") + b"/M1_s\xff"
    os.makedirs(raw)
    session = Path(os.fsdecode(raw))
    (session / "trials.csv").write_text("trial,outcome\n0,1\n", encoding="utf-8")
    return session


def _one_error_line(result) -> str:
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("curriculum-contract: error: ")
    return line


def test_a_session_path_that_is_not_utf8_is_a_usage_error(run, tmp_path: Path, undecodable_session: Path) -> None:
    project = ready_project(tmp_path)
    assert run("enroll", "--curriculum", project, "--subject", "M1").exit_code == 0
    result = run("launch", "--curriculum", project, "--session", undecodable_session, "--subject", "M1")
    assert result.exit_code == CommandExit.USAGE == 2
    line = _one_error_line(result)
    assert "session directory" in line and "M1_s\\xff" in line and "byte 0xff at position" in line


def test_a_subject_id_that_is_not_utf8_is_a_usage_error(run, tmp_path: Path) -> None:
    result = run("enroll", "--curriculum", ready_project(tmp_path), "--subject", os.fsdecode(b"M\xfe"))
    assert result.exit_code == 2
    assert "subject id b'M\\xfe' is not valid UTF-8" in _one_error_line(result)


def _store_with_a_corrupt_metrics_value(run, tmp_path: Path) -> tuple[Path, Path, int]:
    """A real store, written by `enroll` and `launch`, then one JSON value overwritten with ``{bad``."""
    project = ready_project(tmp_path)
    assert run("enroll", "--curriculum", project, "--subject", "M1").exit_code == 0
    first = make_session(tmp_path / "sessions", "M1_s1", n_trials=10)
    assert run("launch", "--curriculum", project, "--session", first, "--subject", "M1").exit_code == 0
    store = tmp_path / "curriculum-history.sqlite"
    with sqlite3.connect(store) as db:
        [(row_id,)] = db.execute("SELECT id FROM sessions").fetchall()
        db.execute("UPDATE sessions SET metrics = '{bad' WHERE id = ?", (row_id,))
    db.close()
    return project, store, row_id


def test_history_of_a_store_with_a_corrupt_value(run, tmp_path: Path) -> None:
    _, _, row_id = _store_with_a_corrupt_metrics_value(run, tmp_path)
    result = run("history", "--json")
    assert result.exit_code == CommandExit.STORE == 10
    line = _one_error_line(result)
    assert f"sessions row {row_id}, column metrics is not valid JSON" in line


def test_launch_on_a_store_with_a_corrupt_value(run, tmp_path: Path) -> None:
    project, _, row_id = _store_with_a_corrupt_metrics_value(run, tmp_path)
    second = make_session(tmp_path / "sessions", "M1_s2")
    result = run("launch", "--curriculum", project, "--session", second, "--subject", "M1")
    assert result.exit_code == 10
    assert f"sessions row {row_id}, column metrics is not valid JSON" in _one_error_line(result)


def test_run_or_skip_skips_a_store_with_a_corrupt_value(run, tmp_path: Path) -> None:
    project, store, _ = _store_with_a_corrupt_metrics_value(run, tmp_path)
    assert run_or_skip(project, make_session(tmp_path / "sessions", "M1_s2"), "M1", store=store) is None


@pytest.mark.parametrize("as_bytes", [True, False])
def test_run_or_skip_skips_a_session_path_that_is_not_utf8(
    tmp_path: Path, undecodable_session: Path, as_bytes: bool
) -> None:
    project = ready_project(tmp_path)
    session = os.fsencode(undecodable_session) if as_bytes else undecodable_session
    assert run_or_skip(project, session, "M1", store=tmp_path / "h.sqlite") is None


def test_loads_column_names_the_table_row_and_column() -> None:
    assert loads_column('{"n_trials": 3}', where="h.sqlite", table="sessions", row=3, column="metrics") == {
        "n_trials": 3
    }
    assert loads_column(None, where="h.sqlite", table="sessions", row=3, column="metrics") is None
    with pytest.raises(StoreError) as caught:
        loads_column("{bad", where="h.sqlite", table="sessions", row=3, column="metrics")
    reason = str(caught.value)
    assert reason.startswith("history store h.sqlite: sessions row 3, column metrics is not valid JSON (")
    assert reason.endswith("'{bad'; the store is damaged: repair or remove that row")
    assert caught.value.exit_code == 10 and json.JSONDecodeError not in type(caught.value).__mro__


def _environment_raising(error: BaseException):
    def environment(*_args: object, **_kwargs: object) -> Path:
        raise error

    return environment


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("session path not UTF-8", InvalidArgument),
        ("subject id not UTF-8", InvalidArgument),
        ("curriculum path not UTF-8", InvalidArgument),
        ("no such session", SessionNotFound),
        ("no such curriculum", CurriculumNotFound),
        ("not enrolled", SubjectNotEnrolled),
        ("option the dialect lacks", InvalidArgument),
        ("store folder missing", StoreError),
        ("a typed error outside the adapter's branch", ToolMissing),
    ],
)
def test_run_or_skip_returns_none_for_every_typed_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str, expected: type[ContractError]
) -> None:
    project = ready_project(tmp_path)
    store = tmp_path / "h.sqlite"
    enroll(project, "M1", store=store)
    curriculum: str | bytes | Path = project
    session: str | Path = make_session(tmp_path / "sessions", "M1_s1")
    subject = "M1"
    options: dict[str, Any] = {"store": store}
    if case == "session path not UTF-8":
        session = os.fsdecode(b"/tmp/s\xff")
    elif case == "subject id not UTF-8":
        subject = os.fsdecode(b"M\xfe")
    elif case == "curriculum path not UTF-8":
        curriculum = os.fsencode(project) + b"\xff"
    elif case == "no such session":
        session = tmp_path / "sessions" / "nope"
    elif case == "no such curriculum":
        curriculum = tmp_path / "nope"
    elif case == "not enrolled":
        subject = "M9"
    elif case == "option the dialect lacks":
        options.update(dialect="aind", opts={"a": "1"})
    elif case == "store folder missing":
        options["store"] = tmp_path / "missing" / "h.sqlite"
    else:
        options["environment"] = _environment_raising(ToolMissing("uv is not installed"))
    with pytest.raises(expected) as caught:
        launch(curriculum, session, subject, **options)
    assert type(caught.value) is expected
    with caplog.at_level("WARNING", logger="curriculum_contract.launcher_adapter._launch"):
        assert run_or_skip(curriculum, session, subject, **options) is None
    [message] = [record.getMessage() for record in caplog.records]
    assert message.startswith("curriculum step skipped for subject ") and str(caught.value) in message


def test_a_typed_error_outside_the_adapter_branch_is_recorded_as_a_skip(tmp_path: Path) -> None:
    project = ready_project(tmp_path)
    store = tmp_path / "h.sqlite"
    enroll(project, "M1", store=store)
    session = make_session(tmp_path / "sessions", "M1_s1")
    missing = _environment_raising(ToolMissing("uv is not installed"))
    assert run_or_skip(project, session, "M1", store=store, environment=missing) is None
    [row] = HistoryStore(store).session_rows("M1")
    assert (row["status"], row["reason"]) == ("skipped", "uv is not installed")


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), SystemExit(3)])
def test_run_or_skip_never_swallows_an_interrupt(tmp_path: Path, interrupt: BaseException) -> None:
    project = ready_project(tmp_path)
    store = tmp_path / "h.sqlite"
    enroll(project, "M1", store=store)
    session = make_session(tmp_path / "sessions", "M1_s1")
    with pytest.raises(type(interrupt)):
        run_or_skip(project, session, "M1", store=store, environment=_environment_raising(interrupt))


def test_a_bug_is_not_skipped(tmp_path: Path) -> None:
    project = ready_project(tmp_path)
    session = make_session(tmp_path / "sessions", "M1_s1")
    with pytest.raises(ZeroDivisionError):
        run_or_skip(
            project, session, "M1", store=tmp_path / "h.sqlite", environment=_environment_raising(ZeroDivisionError())
        )


def _store_with_every_json_column(path: Path) -> HistoryStore:
    from curriculum_contract.launcher_adapter._store import SessionRecord, now

    store = HistoryStore(path)
    state = {"curriculum": {"name": "Fake"}, "stage": {"name": "a"}}
    store.record_enrollment("M1", state, curriculum_name="Fake", provenance={"kind": "directory"})
    store.record_session(
        SessionRecord(
            subject="M1", session="s1", session_path="/data/s1", status="ok", started_at=now(), finished_at=now(),
            curriculum_name="Fake", provenance={"kind": "directory"}, metrics={"n": 1}, suggestion={"x": 1},
            trainer_state=state, input_trainer_state=state, warnings=("w",),
        )
    )  # fmt: skip
    store.record_event("M1", "re-enrollment", reason="test", detail={"previous_stage": "a"})
    store.close()
    return store


def _json_columns() -> list[tuple[str, str]]:
    from curriculum_contract.launcher_adapter._store import _json_columns
    from curriculum_contract.launcher_adapter._store_schema import tables

    every = [table for table in tables().values() if hasattr(table, "columns")]  # (the MetaData is there too)
    found = [(table.name, name) for table in every for name in sorted(_json_columns(table))]
    assert {table for table, _ in found} == {"enrollments", "sessions", "events"}
    return found


@pytest.mark.parametrize(("table", "column"), _json_columns())
def test_a_corrupt_value_in_any_json_column_is_a_store_error_naming_it(tmp_path: Path, table: str, column: str) -> None:
    """Every reader of the store (sqlite3 at launch time, SQLAlchemy otherwise) meets it as a typed StoreError."""
    from curriculum_contract.launcher_adapter._store_reads import read_sqlite

    path = tmp_path / "h.sqlite"
    store = _store_with_every_json_column(path)
    with sqlite3.connect(path) as db:
        [(row_id,)] = db.execute(f"SELECT id FROM {table}").fetchall()
        db.execute(f"UPDATE {table} SET {column} = '[broken' WHERE id = ?", (row_id,))
    db.close()
    readers = {
        "session_rows": lambda: store.session_rows("M1"),
        "events": lambda: store.events("M1"),
        # a relaunch of s1 (its recorded input state) and the next session (from s1's row), with the events
        "read_core": lambda: [store._read_core("M1", session) for session in ("s1", "s2")],
        "read_sqlite": lambda: [read_sqlite(path, "M1", session, store.where) for session in ("s1", "s2")],
    }
    reached = []
    for name, read in readers.items():
        try:
            read()
        except StoreError as error:
            assert f"{table} row {row_id}, column {column} is not valid JSON" in str(error), name
            reached.append(name)
    store.close()
    # the launch-time readers decode the columns a launch starts from; session_rows and events all of theirs
    launch_time = {("enrollments", "trainer_state"), ("sessions", "trainer_state"), ("sessions", "metrics")}
    launch_time |= {("sessions", "input_trainer_state"), ("events", "detail")}  # a relaunch; state-setting events
    expected = {"sessions": ["session_rows"], "events": ["events"], "enrollments": []}[table]
    if (table, column) in launch_time:
        expected = [*expected, "read_core", "read_sqlite"]
    assert reached == expected


# A reader that stops early (`history | head -1`) is not a bug: real processes, real pipes.
COMMAND = Path(sys.executable).with_name("curriculum-contract")
SDK_CURRICULA = Path(__file__).parents[1] / "sdk" / "curricula"


def _store_of_big_sessions(path: Path, count: int, curve: int = 0) -> Path:
    from curriculum_contract.launcher_adapter._store import SessionRecord, now

    store = HistoryStore(path)
    for n in range(count):
        store.record_session(SessionRecord(
            subject="M1", session=f"s{n}", session_path=f"/data/s{n}", status="ok", started_at=now(),
            finished_at=now(), stage_before="a", stage_after="a", metrics={"n": n, "curve": list(range(curve))},
        ))  # fmt: skip
    store.close()
    return path


def _into_a_closed_pipe(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with stdout a pipe whose reader is gone before its first write (`| head -1` done)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(argv, stdout=write, stderr=subprocess.PIPE, text=True, env={**os.environ, **env},
                              timeout=120, check=False)  # fmt: skip
    finally:
        os.close(write)


def test_a_reader_that_closes_stdout_early_stops_history_quietly_with_141(tmp_path: Path) -> None:
    store = _store_of_big_sessions(tmp_path / "h.sqlite", 3, curve=30_000)  # --json: about 500 kB
    for args in (["history", "--all"], ["history", "--json"]):
        done = _into_a_closed_pipe([str(COMMAND), *args, "--store", str(store)])
        assert (done.returncode, done.stderr) == (STDOUT_CLOSED, ""), args
    # a reader that takes the first 800 bytes, then closes while the command still writes
    with subprocess.Popen([str(COMMAND), "history", "--json", "--store", str(store)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as writer:  # fmt: skip
        assert writer.stdout is not None and writer.stderr is not None
        head = writer.stdout.read(800)
        writer.stdout.close()
        stderr = writer.stderr.read()
        assert writer.wait(timeout=120) == 141 and stderr == b"" and head.startswith(b'[{"id": 1')
    whole = subprocess.run([str(COMMAND), "history", "--json", "--store", str(store)], capture_output=True,
                           check=False)  # fmt: skip
    assert whole.returncode == 0 and len(whole.stdout) > 400_000, "read to the end: exit 0, as before"


def test_the_curriculum_program_stops_quietly_too() -> None:
    """The SDK's `curriculum` writes through a private duplicate of stdout (its guard): the same rule."""
    program = [sys.executable, "-c", "from curriculum_contract.sdk import main; main(specs=['toy_curriculum:SPEC'])"]
    for command in ("list", "describe", "schema"):
        done = _into_a_closed_pipe([*program, command], PYTHONPATH=str(SDK_CURRICULA))
        assert (done.returncode, done.stderr) == (STDOUT_CLOSED, ""), command


def test_a_broken_pipe_that_is_not_stdout_is_still_a_bug(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done, reporting_errors("curriculum-contract"):
        raise BrokenPipeError(32, "Broken pipe")  # e.g. writing to a child that exited; stdout is fine
    assert done.value.code == 1
    assert capsys.readouterr().err.startswith("curriculum-contract: error: internal error: BrokenPipeError: ")


def test_a_usage_error_of_click_has_the_error_line_of_every_other_failure() -> None:
    """Unknown option, bad value, unknown command: `curriculum-contract: error: <click's message>` first."""
    from curriculum_contract._cli import main

    for args, reason in (
        (["history", "--bogus"], "No such option '--bogus'"),
        (["simulate", "--curriculum", ".", "--out", "o", "--subjects", "0"], "Invalid value for '--subjects'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["--bogus"], "No such option '--bogus'"),
    ):
        result = CliRunner().invoke(main, args, prog_name="curriculum-contract", catch_exceptions=False)
        assert result.exit_code == CommandExit.USAGE == 2, (args, result.output)
        assert result.stdout == "" and result.stderr.startswith(f"curriculum-contract: error: {reason}"), result.stderr
        assert "Usage: curriculum-contract" in result.stderr


def test_a_childs_stderr_tail_starts_at_a_line() -> None:
    """The details under an error line are whole lines of the child's stderr (a cut first line is dropped)."""
    from curriculum_contract.launcher_adapter._error_text import tail_text

    stream = "".join(f"line {i:03d} of the traceback\n" for i in range(200))
    tail = tail_text(stream, limit=100)
    assert tail.splitlines()[0].startswith("line ") and stream.endswith(tail) and len(tail) <= 100
    assert tail_text("short\n", limit=100) == "short\n"
    assert tail_text(b"x" * 300, limit=100) == "x" * 100  # one line longer than the limit: its end
