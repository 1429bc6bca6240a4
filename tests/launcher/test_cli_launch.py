"""``curriculum-contract enroll | launch | history``: in-process with CliRunner, and once as a real process.

The curriculum project here has a ready ``.venv`` (the fake program plus the bootstrap's stamp), so the
real bootstrap check runs and finds nothing to do: no uv needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from launcher_support import make_session, ready_project, tiny_curriculum_repo, tree_digest

from curriculum_contract import exit_code_for
from curriculum_contract.launcher_adapter._cli import format_table, register
from curriculum_contract.launcher_adapter._errors import ProcessFailed, SubjectNotEnrolled, TimedOut
from curriculum_contract.launcher_adapter._store import HistoryStore


@pytest.fixture
def cli() -> click.Group:
    group = click.Group("curriculum-contract")
    register(group)
    return group


@pytest.fixture
def run(cli: click.Group, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CURRICULUM_CONTRACT_STORE", raising=False)

    def invoke(*args: str):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_enroll_launch_history(run, tmp_path: Path) -> None:
    project = ready_project(tmp_path)
    enrolled = run("enroll", "--curriculum", project, "--subject", "M1")
    assert enrolled.exit_code == 0, enrolled.output
    assert enrolled.stdout == "enrolled M1 in FakeCurriculum at stage stage_a\n"
    assert (tmp_path / "curriculum-history.sqlite").is_file(), "the default store is in the current directory"

    for n, trials in enumerate((2, 10), start=1):
        session = make_session(tmp_path / "sessions", f"M1_s{n}", n_trials=trials)
        result = run("launch", "--curriculum", project, "--session", session, "--subject", "M1")
        assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "M1 M1_s2: stage_a -> stage_b (stage changed)",
        "decision: stage_a -> stage_b: n_trials=10 (advance at 5)",
        "parameter reward_ul: 3.0 -> 2.0",
        f"suggestion: {session / 'curriculum' / 'suggestion.json'}",
    ]

    table = run("history").stdout.splitlines()
    assert table[0].split() == [
        "id",
        "subject",
        "session",
        "session",
        "time",
        "(UTC)",
        "status",
        "stage",
        "curriculum",
        "finished",
        "(UTC)",
        "n_trials",
        "reason",
    ]
    assert "stage_a -> stage_b" in table[2] and "FakeCurriculum 0.3.0" in table[2]
    records = json.loads(run("history", "--json", "--subject", "M1").stdout)
    assert [(r["session"], r["status"], r["stage_after"]) for r in records] == [
        ("M1_s1", "ok", "stage_a"),
        ("M1_s2", "ok", "stage_b"),
    ]
    assert records[1]["metrics"] == {"n_trials": 10} and records[1]["provenance"]["kind"] == "directory"
    assert run("history", "--subject", "nobody").stdout == "no sessions recorded for nobody\n"


@pytest.mark.parametrize(
    ("behaviour", "code", "reason"),
    [("fail", 11, "exited with code 4"), ("junk", 7, "text before the JSON"), ("edit", 8, "session data violated")],
)
def test_a_failed_launch_exits_non_zero_with_one_line(
    run, tmp_path: Path, behaviour: str, code: int, reason: str
) -> None:
    assert run("enroll", "--curriculum", ready_project(tmp_path), "--subject", "M1").exit_code == 0
    project = ready_project(tmp_path, behaviour)
    session = make_session(tmp_path / "sessions", "M1_s1")
    result = run("launch", "--curriculum", project, "--session", session, "--subject", "M1")
    assert result.exit_code == code
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("curriculum-contract: error: ") and reason in line
    assert json.loads(run("history", "--json").stdout)[0]["status"] == "skipped"


def test_not_enrolled_and_verbose_details(run, tmp_path: Path) -> None:
    project = ready_project(tmp_path)
    session = make_session(tmp_path / "sessions", "M2_s1")
    before = tree_digest(session)
    result = run("launch", "--curriculum", project, "--session", session, "--subject", "M2")
    assert result.exit_code == 9
    assert "subject 'M2' is not enrolled" in result.stderr and "curriculum-contract enroll" in result.stderr
    assert tree_digest(session) == before

    run("enroll", "--curriculum", project, "--subject", "M3")
    failing = ready_project(tmp_path, "fail")
    verbose = run("launch", "-v", "--curriculum", failing, "--session", session, "--subject", "M3")
    assert verbose.exit_code == 11 and "Traceback (most recent call last)" in verbose.stderr


def test_missing_curriculum_bad_opt_and_missing_store(run, tmp_path: Path) -> None:
    session = make_session(tmp_path / "sessions", "M1_s1")
    missing = run("launch", "--curriculum", tmp_path / "nope", "--session", session, "--subject", "M1")
    assert missing.exit_code == 3 and "does not exist" in missing.stderr
    bad_opt = run("launch", "--curriculum", tmp_path, "--session", session, "--subject", "M1", "--opt", "novalue")
    assert bad_opt.exit_code == 2 and "KEY=VALUE" in bad_opt.stderr
    no_store = run("history", "--store", tmp_path / "absent.sqlite")
    assert no_store.exit_code == 10
    assert f"history store {tmp_path / 'absent.sqlite'} cannot be opened" in no_store.stderr
    assert not (tmp_path / "absent.sqlite").exists()


def test_store_from_the_environment(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = ready_project(tmp_path)
    shared = tmp_path / "shared" / "rigs.sqlite"
    shared.parent.mkdir()
    monkeypatch.setenv("CURRICULUM_CONTRACT_STORE", str(shared))
    assert run("enroll", "--curriculum", project, "--subject", "M1", "--stage", "stage_b").exit_code == 0
    assert HistoryStore(shared).latest_trainer_state("M1")["stage"]["name"] == "stage_b"


def test_exit_codes_follow_the_error_class() -> None:
    assert exit_code_for(SubjectNotEnrolled("x")) == 9
    assert exit_code_for(TimedOut("x", timeout_s=1)) == 6
    assert exit_code_for(ProcessFailed("x", child_exit_code=3)) == 11


def test_history_table_is_aligned() -> None:
    from datetime import UTC, datetime

    row = dict(
        id=1, subject="M1", session="s1", status="skipped", attempts=2, stage_before="a", stage_after=None,
        curriculum_name=None, curriculum_version=None, finished_at=datetime(2024, 5, 1, tzinfo=UTC), reason="boom",
    )  # fmt: skip
    header, line = format_table([row]).splitlines()
    assert line.index("skipped x2") == header.index("status") and line.endswith("boom")


def test_launch_as_a_real_process(tmp_path: Path) -> None:
    """The installed ``curriculum-contract`` command, a fresh process, as a launcher would start it."""
    project = ready_project(tmp_path)
    store = tmp_path / "h.sqlite"
    command = [str(Path(sys.executable).with_name("curriculum-contract"))]
    env = {**os.environ, "CURRICULUM_CONTRACT_STORE": str(store)}
    enrolled = subprocess.run([*command, "enroll", "--curriculum", str(project), "--subject", "M1"],
                              capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    session = make_session(tmp_path / "sessions", "M1_s1", n_trials=10)
    launched = subprocess.run(
        [*command, "launch", "--curriculum", str(project), "--session", str(session), "--subject", "M1"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    assert launched.stdout.startswith("M1 M1_s1: stage_a -> stage_b")
    again = subprocess.run(
        [*command, "launch", "--curriculum", str(project), "--session", str(tmp_path / "gone"), "--subject", "M1"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert again.returncode == 12 and again.stderr.count("\n") == 1 and "does not exist" in again.stderr


@pytest.mark.parametrize(("body", "code"), [("print('done')", 0), ("sys.exit(9)", 9), ("sys.exit('bad news')", 1)])
def test_exit_fast_keeps_output_and_exit_code(body: str, code: int) -> None:
    script = (
        "import sys\n"
        "from curriculum_contract._cli import exit_fast\n"
        "def entry():\n"
        "    sys.stdout.write('partial line without newline ')\n"
        f"    {body}\n"
        "exit_fast(entry)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == code
    assert done.stdout.startswith("partial line without newline")
    assert ("bad news" in done.stderr) == (code == 1)


@pytest.mark.e2e
def test_first_launch_shows_bootstrap_progress(run, tmp_path: Path) -> None:
    """A real curriculum project with no environment yet: uv's progress goes to stderr, stdout stays clean."""
    curriculum = tiny_curriculum_repo(tmp_path / "upstream")
    enrolled = run("enroll", "--curriculum", curriculum, "--subject", "M1", "--stage", "training")
    assert enrolled.exit_code == 0, enrolled.output
    assert any(line.startswith("bootstrap: ") for line in enrolled.stderr.splitlines())
    assert enrolled.stdout == "enrolled M1 in TinyCurriculum at stage training\n"
    session = make_session(tmp_path / "sessions", "M1_s1")
    launched = run("launch", "--curriculum", curriculum, "--session", session, "--subject", "M1")
    assert launched.exit_code == 0 and "bootstrap:" not in launched.stderr, "no second bootstrap"
    assert launched.stdout.startswith("M1 M1_s1: training -> training")


def test_every_launcher_command_is_a_subcommand_of_the_console_entry() -> None:
    """The top-level group (what ``curriculum-contract`` runs) reaches every command ``register`` adds."""
    from curriculum_contract._cli import main

    group = click.Group("probe")
    register(group)
    for name in group.commands:
        result = CliRunner().invoke(main, [name, "--help"], catch_exceptions=False)
        assert result.exit_code == 0, (name, result.output)
        assert result.stdout.startswith(f"Usage: main {name} [OPTIONS]"), (name, result.stdout)
    recover_help = CliRunner().invoke(main, ["recover", "--help"], catch_exceptions=False)
    assert "--sessions-root" in recover_help.stdout and "Finish launches a killed launcher left" in recover_help.stdout
    assert "recover" in CliRunner().invoke(main, ["--help"]).stdout
