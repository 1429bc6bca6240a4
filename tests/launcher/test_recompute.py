"""``recompute`` after a late session: the fake curriculum's real ``replay`` process (tests/launcher), real
stores on both backends; a dry run changes nothing, an apply supersedes and records in one go, ``history``
hides what was superseded; an override between replayed sessions is kept, a session taken off the
curriculum is held, a change of task parameters alone counts. The e2e test runs a real SDK curriculum's
``curriculum replay`` in a uv env."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_curriculum import enrollment
from launcher_support import make_session, ready_project, tiny_curriculum_repo

from curriculum_contract._cli import main
from curriculum_contract.launcher_adapter._bootstrap import ensure_environment
from curriculum_contract.launcher_adapter._errors import InvalidArgument, ProcessFailed, SubjectOffCurriculum
from curriculum_contract.launcher_adapter._launch import enroll, launch
from curriculum_contract.launcher_adapter._locate import locate_curriculum
from curriculum_contract.launcher_adapter._override import override, put_on, take_off
from curriculum_contract.launcher_adapter._recompute import OFF_CURRICULUM, recompute
from curriculum_contract.launcher_adapter._recompute_cli import format_trajectory
from curriculum_contract.launcher_adapter._session_order import recompute_marker
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord

DAYS = ("2024-01-09", "2024-01-10")
LATE = "behavior_M1_2024-01-08_09-00-00"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return request.getfixturevalue("pg_url")


def _late_subject(project: Path, environment, store: str, root: Path, *, skip_second: bool = False) -> None:
    """M1: two sessions of 2 trials (stage_a stays), then a late one of 9 trials that ran before them (-> stage_b)."""
    state = enrollment()
    HistoryStore(store).record_enrollment("M1", state, curriculum_name=state["curriculum"]["name"])
    for number, day in enumerate(DAYS):
        session = make_session(root, f"behavior_M1_{day}_09-00-00", n_trials=2)
        if skip_second and number == 1:
            (session / "trials.csv").unlink()
            session.joinpath("session.json").write_text('{"subject_id": "M2"}')  # refused: a recorded skip
            with pytest.raises(Exception):  # noqa: B017 - any typed refusal: the point is the skipped row
                launch(project, session, "M1", store=store, environment=environment)
            continue
        launch(project, session, "M1", store=store, environment=environment)
    launch(project, make_session(root, LATE, n_trials=9), "M1", store=store, environment=environment)


def _current(store: HistoryStore) -> list[tuple[str, str | None, int]]:
    rows = store.session_rows("M1", superseded=False)
    return sorted((r["session"], r["stage_after"], r["generation"]) for r in rows)


def test_a_dry_run_shows_the_trajectory_and_changes_nothing(project, program_for, backend, tmp_path: Path) -> None:
    environment = program_for("ok")
    _late_subject(project, environment, backend, tmp_path / "sessions")
    store = HistoryStore(backend)
    rows_before, events_before = store.session_rows("M1"), store.events("M1")
    result = recompute(project, "M1", store=backend, dry_run=True, environment=environment)
    assert result.from_session == LATE and not result.applied and result.new_ids == []
    assert [(s.session, s.stage_before, s.stage_after_old, s.stage_after_new, s.changed) for s in result.steps] == [
        (LATE, "stage_a", "stage_b", "stage_b", False),
        ("behavior_M1_2024-01-09_09-00-00", "stage_b", "stage_a", "stage_b", True),
        ("behavior_M1_2024-01-10_09-00-00", "stage_b", "stage_a", "stage_b", True),
    ]
    assert store.session_rows("M1") == rows_before and store.events("M1") == events_before, "nothing recorded"
    assert recompute_marker(store.events("M1"))["session"] == LATE, "still marked"
    store.close()


def test_apply_supersedes_records_and_the_next_launch_starts_from_it(
    project, program_for, backend, tmp_path: Path
) -> None:
    environment = program_for("ok")
    _late_subject(project, environment, backend, tmp_path / "sessions")
    store = HistoryStore(backend)
    old_ids = sorted(r["id"] for r in store.session_rows("M1"))
    assert store.latest_trainer_state("M1")["stage"]["name"] == "stage_a", "decided without the late session"
    result = recompute(project, "M1", store=backend, environment=environment)
    assert result.applied and len(result.new_ids) == 3 and result.next_stage == "stage_b"
    assert _current(store) == sorted((s.session, "stage_b", 2) for s in result.steps)
    every = store.session_rows("M1")
    superseded = sorted(r["id"] for r in every if r["superseded_by"] is not None)
    assert superseded == old_ids and len(every) == 6, "the old decisions kept, each pointing at its replacement"
    assert recompute_marker(store.events("M1")) is None, "the marker cleared"
    assert store.latest_trainer_state("M1")["stage"]["name"] == "stage_b", "the next launch starts from the new state"
    in_order = [LATE, *(f"behavior_M1_{d}_09-00-00" for d in DAYS)]
    assert [e.session for e in store.history_document("M1").sessions] == in_order
    after = launch(project, make_session(tmp_path / "sessions", "behavior_M1_2024-01-11_09-00-00", n_trials=1), "M1",
                   store=backend, environment=environment)  # fmt: skip
    assert after.stage_before == "stage_b" and not [w for w in after.warnings if "recompute" in w]
    assert recompute(project, "M1", store=backend, environment=environment).from_session is None, "nothing marked"
    store.close()


def test_recomputed_rows_carry_the_replayed_version_and_the_checkout_that_replayed_them(
    project, program_for, store_path: Path, tmp_path: Path
) -> None:
    environment = program_for("ok")
    _late_subject(project, environment, str(store_path), tmp_path / "sessions")
    # a dynamic version (hatch-vcs, setuptools-scm...): only the curriculum's own suggestion says which it is
    (project / "pyproject.toml").write_text('[project]\nname = "fake-curriculum"\ndynamic = ["version"]\n')
    result = recompute(project, "M1", store=store_path, environment=environment)
    provenance = locate_curriculum(project).provenance
    rows = [r for r in HistoryStore(store_path).session_rows("M1", superseded=False) if r["id"] in result.new_ids]
    assert len(rows) == 3 and provenance.version is None
    for row in rows:
        assert row["curriculum_version"] == "0.3.0", "the version the replay's suggestion reported"
        assert row["curriculum_name"] == "FakeCurriculum"
        assert row["curriculum_commit"] == provenance.commit and row["provenance"] == provenance.as_dict()


def test_a_skipped_session_stays_and_a_failed_replay_records_nothing(
    project, program_for, store_path: Path, tmp_path: Path
) -> None:
    _late_subject(project, program_for("ok"), str(store_path), tmp_path / "sessions", skip_second=True)
    store = HistoryStore(store_path)
    before = store.session_rows("M1")
    with pytest.raises(ProcessFailed, match="exited with code 3"):
        recompute(project, "M1", store=store_path, environment=program_for("replay_fail"))
    assert store.session_rows("M1") == before, "a failed replay records nothing"
    result = recompute(project, "M1", store=store_path, environment=program_for("ok"))
    assert [(s.session, s.replayed) for s in result.steps] == [
        (LATE, True),
        ("behavior_M1_2024-01-09_09-00-00", True),
        ("behavior_M1_2024-01-10_09-00-00", False),
    ]
    skipped = [r for r in store.session_rows("M1") if r["status"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["superseded_by"] is None and skipped[0]["generation"] == 1
    with pytest.raises(InvalidArgument, match="has no recorded session 'nope'"):
        recompute(project, "M1", store=store_path, from_session="nope", environment=program_for("ok"))


def test_the_cli_dry_run_apply_and_history_hiding_superseded_rows(store_path: Path, tmp_path: Path) -> None:
    project = ready_project(tmp_path / "ready")  # bootstrapped already: the real bootstrap check, the fake program
    _late_subject(project, ensure_environment, str(store_path), tmp_path / "sessions")
    runner = CliRunner()
    args = ["recompute", "--curriculum", str(project), "--subject", "M1", "--store", str(store_path)]
    aind = runner.invoke(main, [*args, "--dialect", "aind"])
    assert aind.exit_code == 2 and "AIND dialect does not have" in aind.output
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[0].split() == ["session", "stage", "before", "after", "(recorded)", "after", "(recomputed)"]
    assert lines[2].split() == ["behavior_M1_2024-01-09_09-00-00", "stage_b", "stage_a", "stage_b", "*"]
    assert lines[1].split()[-1] == "stage_b" and "2 decision(s) would change; nothing recorded" in dry.stdout
    applied = runner.invoke(main, args)
    assert applied.exit_code == 0 and "recorded 3 recomputed decision(s), 2 changed" in applied.output
    import json

    shown = runner.invoke(main, ["history", "--store", str(store_path), "--subject", "M1", "--json"])
    everything = runner.invoke(main, ["history", "--store", str(store_path), "--subject", "M1", "--json", "--all"])
    assert len(json.loads(shown.output)) == 3 and len(json.loads(everything.output)) == 6
    assert runner.invoke(main, args).stdout.startswith("M1: nothing marked for recomputation")


def test_an_override_between_replayed_sessions_is_kept(project, program_for, backend, tmp_path: Path) -> None:
    """s09 (stage_a), an override to stage_a with reward 4.0, s10 started from it, then the late session.

    Replayed without the override, s10 would follow s09's new stage_b; it starts from the override instead.
    """
    environment, root = program_for("ok"), tmp_path / "sessions"
    state = enrollment()
    HistoryStore(backend).record_enrollment("M1", state, curriculum_name=state["curriculum"]["name"])
    first, second = (f"behavior_M1_{day}_09-00-00" for day in DAYS)
    launch(project, make_session(root, first, n_trials=2), "M1", store=backend, environment=environment)
    parameters = tmp_path / "params.json"
    parameters.write_text('{"reward_ul": 4.0}')
    override(project, "M1", store=backend, stage="stage_a", parameters=parameters, reason="licks too little",
             operator="alice", environment=environment)  # fmt: skip
    launched = launch(project, make_session(root, second, n_trials=2), "M1", store=backend, environment=environment)
    assert launched.stage_before == "stage_a"
    launch(project, make_session(root, LATE, n_trials=9), "M1", store=backend, environment=environment)
    store = HistoryStore(backend)
    [event] = [e for e in store.events("M1") if e["kind"] == "override"]

    dry = recompute(project, "M1", store=backend, dry_run=True, environment=environment)
    assert [(s.session, s.stage_before, s.stage_after_old, s.stage_after_new, s.changed) for s in dry.steps] == [
        (LATE, "stage_a", "stage_b", "stage_b", False),
        (first, "stage_b", "stage_a", "stage_b", True),
        (second, "stage_a", "stage_a", "stage_a", False),  # from the override, not from s09's new stage_b
    ]
    assert [s.event["id"] if s.event else None for s in dry.steps] == [None, None, event["id"]]
    assert dry.steps[2].parameters == () and dry.next_stage == "stage_a"
    shown = format_trajectory(dry).splitlines()
    assert shown[3].split()[:3] == [second, "stage_a", "(override)"] and not shown[3].endswith("*")
    assert shown[4] == f"{second}: replayed from its recorded metrics, started from an override to stage stage_a by " \
        f"alice at {event['created_at']:%Y-%m-%d %H:%M:%S} UTC: licks too little"  # fmt: skip

    applied = recompute(project, "M1", store=backend, environment=environment)
    assert applied.applied and len(applied.new_ids) == 3
    [row] = [r for r in store.session_rows("M1", superseded=False) if r["session"] == second]
    assert row["generation"] == 2 and row["input_trainer_state"] == event["detail"]["trainer_state"]
    assert row["trainer_state"]["stage"]["task"]["task_parameters"]["reward_ul"] == 4.0
    assert store.latest_trainer_state("M1")["stage"]["task"]["task_parameters"]["reward_ul"] == 4.0
    store.close()


def test_a_session_taken_off_the_curriculum_is_held_and_the_put_back_is_kept(
    project, program_for, store_path: Path, tmp_path: Path
) -> None:
    environment, root, store = program_for("ok"), tmp_path / "sessions", str(store_path)
    state = enrollment()
    HistoryStore(store).record_enrollment("M1", state, curriculum_name=state["curriculum"]["name"])
    names = [f"behavior_M1_2024-01-{day}_09-00-00" for day in ("09", "10", "11")]
    launch(project, make_session(root, names[0], n_trials=2), "M1", store=store, environment=environment)
    take_off("M1", store=store, reason="sick", operator="bob")
    with pytest.raises(SubjectOffCurriculum):
        launch(project, make_session(root, names[1], n_trials=2), "M1", store=store, environment=environment)
    put_on("M1", store=store, reason="healthy again", operator="bob")
    launch(project, make_session(root, names[2], n_trials=2), "M1", store=store, environment=environment)
    launch(project, make_session(root, LATE, n_trials=9), "M1", store=store, environment=environment)

    result = recompute(project, "M1", store=store, dry_run=True, environment=environment)
    kinds = [(s.session, s.replayed, s.held, s.event["kind"] if s.event else None) for s in result.steps]
    assert kinds == [
        (LATE, True, None, None), (names[0], True, None, None), (names[1], False, OFF_CURRICULUM, "off-curriculum"),
        (names[2], True, None, "on-curriculum"),  # put back where it stood: the event's state, kept
    ]  # fmt: skip
    assert result.steps[3].stage_before == "stage_a" and result.next_stage == "stage_a"
    shown = format_trajectory(result)
    assert "(not replayed: off the curriculum)" in shown
    assert f"{names[1]}: not replayed (kept as recorded): taken off the curriculum by bob at " in shown


def test_a_change_of_task_parameters_alone_is_a_change(project, program_for, store_path: Path) -> None:
    """Two sessions recorded as decided by an older version that set reward 3.5 on stage_a; the replay sets 3.0."""
    state = enrollment()
    store = HistoryStore(store_path)
    store.record_enrollment("M1", state, curriculum_name=state["curriculum"]["name"])
    old = {**state, "stage": {**state["stage"], "task": {**state["stage"]["task"], "task_parameters": {
        **state["stage"]["task"]["task_parameters"], "reward_ul": 3.5}}}}  # fmt: skip
    at = datetime(2024, 1, 9, 9, tzinfo=UTC)
    base = SessionRecord(
        subject="M1", session="s1", session_path="/data/s1", status="ok", started_at=at, finished_at=at,
        curriculum_name="FakeCurriculum", curriculum_version="0.2.0", dialect="contract", stage_before="stage_a",
        stage_after="stage_a", metrics={"n_trials": 2}, trainer_state=old, input_trainer_state=state,
    )  # fmt: skip
    store.record_session(base)
    store.record_session(replace(base, session="s2", started_at=at + timedelta(1), finished_at=at + timedelta(1)))
    result = recompute(project, "M1", store=store, from_session="s1", dry_run=True, environment=program_for("ok"))
    assert [(s.stage_after_old, s.stage_after_new, s.parameters, s.changed) for s in result.steps] == [
        ("stage_a", "stage_a", (("reward_ul", 3.5, 3.0),), True),
        ("stage_a", "stage_a", (("reward_ul", 3.5, 3.0),), True),
    ]
    lines = format_trajectory(result).splitlines()
    assert lines[1].split() == ["s1", "stage_a", "stage_a", "stage_a", "*", "reward_ul:", "3.5", "->", "3.0"]
    store.close()


def test_an_unknown_subject_is_exit_9_in_one_line(store_path: Path, tmp_path: Path) -> None:
    """As ``migrate`` and ``whatif``: ``SubjectNotEnrolled``, not "nothing marked" with exit 0."""
    project = ready_project(tmp_path / "ready")
    HistoryStore(store_path).record_enrollment("M1", enrollment())
    args = ["recompute", "--curriculum", str(project), "--subject", "QQ", "--store", str(store_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 9 and result.stdout == "", result.output
    assert result.stderr == (
        f"curriculum-contract: error: recompute: subject 'QQ' is not enrolled in {store_path}: "
        "run `curriculum-contract enroll --curriculum DIR --subject QQ` first\n"
    )
    known = CliRunner().invoke(main, [*args[:4], "M1", *args[5:]])
    assert known.exit_code == 0 and known.stdout.startswith("M1: nothing marked"), "enrolled, no session: as before"


@pytest.mark.e2e
def test_recompute_through_a_real_curriculum_replay(tmp_path: Path) -> None:
    repo = tiny_curriculum_repo(tmp_path)
    store = tmp_path / "history.sqlite"
    sessions = tmp_path / "sessions"
    enroll(repo, "M1", store=store)
    for day in DAYS:
        launch(repo, make_session(sessions, f"behavior_M1_{day}_09-00-00", n_trials=2), "M1", store=store)
    late = launch(repo, make_session(sessions, LATE, n_trials=40), "M1", store=store)
    assert any("curriculum-contract recompute" in w for w in late.warnings)
    dry = recompute(repo, "M1", store=store, dry_run=True)
    assert [s.session for s in dry.steps] == [LATE, *(f"behavior_M1_{d}_09-00-00" for d in DAYS)]
    assert all(s.replayed and s.stage_after_new for s in dry.steps)
    applied = recompute(repo, "M1", store=store)
    assert applied.applied and len(applied.new_ids) == 3
    rows = HistoryStore(store).session_rows("M1", superseded=False)
    assert all(r["generation"] == 2 and r["suggestion"]["data_directory"].startswith("recorded:") for r in rows)
