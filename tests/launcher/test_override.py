"""Overrides (issue 10, point 1): a trainer puts a subject at a stage, or off the curriculum and back on.

Real stores (SQLite and the PostgreSQL fixture), real launches with the fake curriculum answering through a
fake runner (which also records what the session was fed), the real ``override`` and ``launch`` commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from fake_curriculum import enrollment
from fake_runner import Call, FakeRunner, finished, suggests
from launcher_support import make_session, ready_project

from curriculum_contract.launcher_adapter._cli import register
from curriculum_contract.launcher_adapter._errors import InvalidArgument, SubjectOffCurriculum
from curriculum_contract.launcher_adapter._launch import launch
from curriculum_contract.launcher_adapter._override import override, put_on, take_off
from curriculum_contract.launcher_adapter._override_cli import override as override_command
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord, now
from curriculum_contract.launcher_adapter._store_reads import read_sqlite
from curriculum_contract.sdk import History


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return request.getfixturevalue("pg_url")


class Feeding:
    """A fake runner answering ``init --stage`` and ``run`` as the fake curriculum, keeping what each run was fed."""

    def __init__(self) -> None:
        self.fed: list[tuple[dict, dict]] = []
        self.runner = FakeRunner(self.answer)

    def answer(self, call: Call):
        if call.argv[1] == "init":
            return finished(call, stdout=json.dumps(enrollment(call.option("--stage"))).encode())
        session = Path(call.option("--path") or "")
        state = Path(call.option("--input-trainer-state") or session / "curriculum" / "trainer_state.json")
        history = json.loads((session / "curriculum" / "history.json").read_text())
        self.fed.append((json.loads(state.read_text()), history))
        return suggests(call)


def _enroll(store: HistoryStore, subject: str = "M1", stage: str = "stage_a") -> None:
    state = enrollment(stage)
    store.record_enrollment(subject, state, curriculum_name=state["curriculum"]["name"], stage=stage)


def test_override_then_launch_starts_from_it_and_the_curriculum_sees_it(
    backend: str, project: Path, program_for, tmp_path: Path
) -> None:
    store = HistoryStore(backend)
    _enroll(store)
    feeding = Feeding()
    parameters = tmp_path / "params.json"
    parameters.write_text('{"reward_ul": 1.5}')
    change = override(
        project, "M1", store=store, stage="stage_b", parameters=parameters, reason="debiasing misbehaved",
        operator="alice", environment=program_for("ok"), runner=feeding.runner,
    )  # fmt: skip
    assert (change.kind, change.stage_before, change.stage_after, change.operator) == (
        "override", "stage_a", "stage_b", "alice",
    )  # fmt: skip

    session = make_session(tmp_path / "sessions", "M1_s1", n_trials=2)
    result = launch(project, session, "M1", store=store, environment=program_for("ok"), runner=feeding.runner)

    [(state, history)] = feeding.fed
    assert state["stage"]["name"] == "stage_b"
    assert state["stage"]["task"]["task_parameters"]["reward_ul"] == 1.5
    [event] = History.model_validate(history).events
    assert (event.kind, event.operator, event.reason, event.stage, event.session_before) == (
        "override", "alice", "debiasing misbehaved", "stage_b", None,
    )  # fmt: skip
    note = "started from an override to stage stage_b by alice at "
    assert any(w.startswith(note) and w.endswith(": debiasing misbehaved") for w in result.warnings)
    [row] = store.session_rows("M1")
    assert any(w.startswith(note) for w in row["warnings"]), "the recorded row says so too"
    assert result.input_trainer_state == state


def test_off_curriculum_refuses_with_who_and_why_and_on_resumes(
    backend: str, project: Path, program_for, tmp_path: Path
) -> None:
    store = HistoryStore(backend)
    _enroll(store, stage="stage_b")
    take_off("M1", store=store, reason="weight below 80%", operator="bob")
    with pytest.raises(InvalidArgument, match="already off the curriculum"):
        take_off("M1", store=store, reason="again", operator="bob")
    feeding = Feeding()
    session = make_session(tmp_path / "sessions", "M1_s1", n_trials=2)

    with pytest.raises(SubjectOffCurriculum) as refused:
        launch(project, session, "M1", store=store, environment=program_for("ok"), runner=feeding.runner)
    assert feeding.fed == [], "nothing ran"
    reason = str(refused.value)
    assert "\n" not in reason and "off the curriculum" in reason and "by bob" in reason
    assert "weight below 80%" in reason and "curriculum-contract override --subject M1 --on --reason TEXT" in reason
    [skipped] = store.session_rows("M1")
    assert skipped["status"] == "skipped" and skipped["reason"] == reason
    assert store.enrollment_state("M1")["stage"]["name"] == "stage_b", "still enrolled where it stood"

    put_on("M1", store=store, reason="weight back", operator="bob")
    launch(project, session, "M1", store=store, environment=program_for("ok"), runner=feeding.runner)
    [(state, history)] = feeding.fed
    assert state == enrollment("stage_b"), "back where it stood when taken off"
    assert [(e["kind"], e["stage"]) for e in history["events"]] == [
        ("off-curriculum", None),
        ("on-curriculum", "stage_b"),
    ]
    with pytest.raises(InvalidArgument, match="is on the curriculum"):
        put_on("M1", store=store, reason="twice")


def _state(stage: str, marker: int = 0) -> dict:
    return {"curriculum": {"name": "Fake"}, "stage": {"name": stage}, "marker": marker}


def _session(subject: str, session: str, state: dict) -> SessionRecord:
    return SessionRecord(
        subject=subject, session=session, session_path=f"/data/{session}", status="ok", started_at=now(),
        finished_at=now(), trainer_state=state, input_trainer_state=_state("x"), curriculum_name="Fake",
        stage_before="x", stage_after=state["stage"]["name"], metrics={"n": 1},
    )  # fmt: skip


def test_the_latest_of_session_event_and_enrollment_wins_on_both_readers(store_path: Path, pg_url: str) -> None:
    """The rule, step by step, read by the SQLite fast path, SQLAlchemy on SQLite, and PostgreSQL: one answer."""
    stores = HistoryStore(store_path), HistoryStore(pg_url)

    def agree() -> tuple[dict | None, str | None, bool]:
        answers = []
        fast = read_sqlite(store_path, "M1", None, stores[0].where)
        for rows in (fast, stores[0]._read_core("M1", None), stores[1]._read_core("M1", None)):
            source = rows.started_from()
            answers.append((rows.starting_state(), source and source["kind"], rows.off_curriculum() is not None))
        assert answers[0] == answers[1] == answers[2]
        assert fast.history_events() == stores[0]._read_core("M1", None).history_events()
        return answers[0]

    def everywhere(action) -> None:
        for store in stores:
            action(store)

    everywhere(lambda s: s.record_enrollment("M1", _state("a"), curriculum_name="Fake"))
    assert agree() == (_state("a"), None, False)
    everywhere(lambda s: s.record_session(_session("M1", "s1", _state("b", 1))))
    assert agree() == (_state("b", 1), None, False)
    everywhere(lambda s: s.record_event("M1", "override", reason="r", detail={"trainer_state": _state("c")}))
    assert agree() == (_state("c"), "override", False)
    everywhere(lambda s: s.record_session(_session("M1", "s2", _state("d", 2))))
    assert agree() == (_state("d", 2), None, False), "a later session supersedes an older override"
    migrated = {"trainer_state": _state("e"), "from_version": "1.0.0"}  # another developer's writer, as is
    everywhere(lambda s: s.record_event("M1", "stage-migration", reason="v2", detail=migrated))
    assert agree() == (_state("e"), "stage-migration", False)
    everywhere(lambda s: s.record_event("M1", "subject-mismatch-override", reason="x", detail={"warnings": []}))
    assert agree() == (_state("e"), "stage-migration", False), "an event that sets no state changes nothing"
    everywhere(lambda s: s.record_event("M1", "off-curriculum", reason="sick", detail={"trainer_state": None}))
    assert agree() == (_state("e"), "stage-migration", True), "off: where it stands is kept, and it is not run"
    everywhere(lambda s: s.record_enrollment("M1", _state("f"), curriculum_name="Fake"))
    assert agree() == (_state("f"), None, False), "a later enrollment starts afresh"
    assert [e["kind"] for e in HistoryStore(store_path).history_payload("M1")["events"]] == []


def test_a_bad_parameters_file_is_one_line_naming_the_file_and_field(
    store_path: Path, project: Path, program_for, tmp_path: Path
) -> None:
    store = HistoryStore(store_path)
    _enroll(store)
    cases = {
        "unknown.json": ('{"reward_uL": 1}', "field 'reward_uL' is not a task parameter of stage stage_b"),
        "kind.json": ('{"reward_ul": "lots"}', "field 'reward_ul' must be a number"),
        "list.json": ("[1]", "holds a JSON array"),
        "broken.json": ("{", "is not JSON"),
    }
    for name, (text, expected) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(InvalidArgument) as error:
            override(project, "M1", store=store, stage="stage_b", parameters=path, reason="r",
                     environment=program_for("ok"), runner=Feeding().runner)  # fmt: skip
        assert f"parameters file {path}" in str(error.value) and expected in str(error.value)
    assert store.events("M1") == [], "nothing recorded"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    group = click.Group("curriculum-contract")
    register(group)
    group.add_command(override_command)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CURRICULUM_CONTRACT_STORE", raising=False)
    monkeypatch.setenv("USER", "carol")
    return lambda *args: CliRunner().invoke(group, [str(a) for a in args], catch_exceptions=False)


def test_override_commands_then_launch_and_history(run, tmp_path: Path) -> None:
    project = ready_project(tmp_path)
    assert run("enroll", "--curriculum", project, "--subject", "M1").exit_code == 0
    moved = run("override", "--subject", "M1", "--curriculum", project, "--stage", "stage_b", "--reason", "test b")
    assert moved.exit_code == 0, moved.output
    assert moved.stdout == "override by carol: M1 is now at stage stage_b (was stage_a)\n", "$USER by default"

    off = run("override", "--subject", "M1", "--off", "--reason", "holiday", "--operator", "dan")
    assert off.stdout == "off-curriculum by dan: M1 is now off the curriculum (was stage_b)\n"
    session = make_session(tmp_path / "sessions", "M1_s1", n_trials=2)
    refused = run("launch", "--curriculum", project, "--session", session, "--subject", "M1")
    assert refused.exit_code == 19 and refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("curriculum-contract: error: subject 'M1' is off the curriculum (taken off by dan at ")
    assert line.endswith(
        ": holiday): not run; put it back with `curriculum-contract override --subject M1 --on --reason TEXT`"
    )

    assert run("override", "--subject", "M1", "--on", "--reason", "back").exit_code == 0
    launched = run("launch", "--curriculum", project, "--session", session, "--subject", "M1")
    assert launched.exit_code == 0, launched.output
    assert launched.stdout.startswith("M1 M1_s1: stage_b -> stage_b (stage unchanged)\n")
    assert "warning: started from an on-curriculum to stage stage_b by carol at " in launched.stderr

    usage = run("override", "--subject", "M1", "--stage", "stage_a", "--reason", "r")
    assert usage.exit_code == 2 and "--stage needs the curriculum (--curriculum DIR)" in usage.stderr
    assert run("override", "--subject", "M1", "--off", "--on", "--reason", "r").exit_code == 2
    unknown = run("override", "--subject", "M9", "--off", "--reason", "r")
    assert unknown.exit_code == 9 and "subject 'M9' is not enrolled" in unknown.stderr

    events = [line.split(" M1: ", 1)[1] for line in run("history").stdout.splitlines() if line.startswith("-- ")]
    assert events == [
        "override by carol: stage_a -> stage_b; reason: test b",
        "off-curriculum by dan: stage_b -> off the curriculum; reason: holiday",
        "on-curriculum by carol: off the curriculum -> stage_b; reason: back",
    ], "put back on: from off the curriculum, not from the stage it stood at"
