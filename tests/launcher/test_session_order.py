"""Sessions in the order they ran, not the order they arrived: where a session's time comes from, both
readers ordering by it (and agreeing), a late session decided as of its time and marking its subject,
a corrected session marking it too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from launcher_support import make_session

from curriculum_contract.launcher_adapter._launch import launch
from curriculum_contract.launcher_adapter._session_order import recompute_marker, session_time_of
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord, now
from curriculum_contract.launcher_adapter._store_reads import read_sqlite

T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return request.getfixturevalue("pg_url")


def _state(stage: str, marker: int = 0) -> dict:
    return {"curriculum": {"name": "Fake"}, "stage": {"name": stage}, "marker": marker}


def _ran(subject: str, session: str, day: int, marker: int) -> SessionRecord:
    """An ok session that ran on day ``day`` after T0, recorded now (arrival order is the call order)."""
    return SessionRecord(
        subject=subject, session=session, session_path=f"/d/{session}", status="ok", started_at=now(),
        finished_at=now(), curriculum_name="Fake", stage_before="a", stage_after="a", metrics={"n": marker},
        trainer_state=_state("a", marker), input_trainer_state=_state("a"), session_time=T0 + timedelta(days=day),
    )  # fmt: skip


def test_a_sessions_time_comes_from_its_metadata_then_its_name_then_the_launch(tmp_path: Path) -> None:
    launched = datetime(2030, 1, 1, tzinfo=UTC)
    both = make_session(tmp_path, "both", session_json={"session_start_time": "2024-01-08T09:00:00+01:00"})
    (both / "acquisition.json").write_text(json.dumps({"acquisition_start_time": "2024-02-01T00:00:00Z"}))
    expected = (datetime(2024, 1, 8, 8, 0, tzinfo=UTC), "session.json session_start_time")
    assert session_time_of(both, launched) == expected, "session.json first, its offset kept"
    acquired = make_session(tmp_path, "acq")
    (acquired / "acquisition.json").write_text(json.dumps({"acquisition_start_time": "2024-02-01T00:00:00Z"}))
    assert session_time_of(acquired, launched)[0] == datetime(2024, 2, 1, tzinfo=UTC)
    bad = make_session(tmp_path, "behavior_M1_2024-01-09_10-30-00", session_json={"session_start_time": "monday"})
    named, source = session_time_of(bad, launched)
    assert source == "directory name", "a time that does not parse falls through to the next source"
    assert named == datetime(2024, 1, 9, 10, 30).astimezone().astimezone(UTC), "a name's time is the rig's local time"
    assert session_time_of(make_session(tmp_path, "plain"), launched) == (launched, "launch time")


def test_history_and_state_follow_session_time_not_arrival(backend: str) -> None:
    store = HistoryStore(backend)
    store.record_enrollment("M1", _state("a"), curriculum_name="Fake")
    for name, day, marker in (("s2", 2, 2), ("s3", 3, 3), ("s1", 1, 1)):  # s1 arrives last
        store.record_session(_ran("M1", name, day, marker))
    assert [e.session for e in store.history_document("M1", "Fake").sessions] == ["s1", "s2", "s3"]
    assert store.latest_trainer_state("M1")["marker"] == 3, "the latest session that ran, not the last to arrive"
    # a new session that ran between s1 and s2: history before its time, state as of then
    state, history = store.starting_point("M1", session="s1b", session_time=T0 + timedelta(days=1, hours=5))
    assert state["marker"] == 1 and [s["session"] for s in history["sessions"]] == ["s1"]
    state, history = store.starting_point("M1", session="s0", session_time=T0)
    assert state == _state("a") and history["first_session"], "before every session: the enrollment"
    store.close()


def test_both_readers_agree_on_the_order_and_the_state_as_of_a_time(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store = HistoryStore(path)
    store.record_enrollment("M1", _state("a"), curriculum_name="Fake")
    for name, day, marker in (("s3", 3, 3), ("s1", 1, 1), ("s2", 2, 2)):
        store.record_session(_ran("M1", name, day, marker))
    for session, when in ((None, None), ("s2", None), ("new", T0 + timedelta(days=2, hours=1)), ("s0", T0)):
        fast = read_sqlite(path, "M1", session, str(path), session_time=when)
        core = store._read_core("M1", session, session_time=when)
        order = [r["session"] for r in fast.ok_sessions]
        assert order == [r["session"] for r in core.ok_sessions] == ["s1", "s2", "s3"]
        assert fast.last_ok == core.last_ok and fast.starting_state() == core.starting_state(), (session, when)
        assert fast.history("Fake", session) == core.history("Fake", session), (session, when)
    assert (
        read_sqlite(path, "M1", "new", str(path), session_time=T0 + timedelta(days=2, hours=1)).last_ok[0]["marker"]
        == 2
    ), "the reads can tell a late session's state from the latest one"
    store.close()


def test_a_late_session_is_decided_as_of_its_time_and_marks_its_subject(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    environment = program_for("ok")
    for day in ("2024-01-09", "2024-01-10"):
        launch(project, make_session(tmp_path / "sessions", f"behavior_M1_{day}_09-00-00", n_trials=2), "M1",
               store=store_path, environment=environment)  # fmt: skip
    store = HistoryStore(store_path)
    assert recompute_marker(store.events("M1")) is None, "sessions in order mark nothing"
    late_dir = make_session(tmp_path / "sessions", "behavior_M1_2024-01-08_09-00-00", n_trials=9)
    late = launch(project, late_dir, "M1", store=store_path, environment=environment)
    placed = json.loads((late_dir / "curriculum" / "history.json").read_text())
    assert placed["first_session"], "decided with the history before its time: none"
    assert late.stage_before == "stage_a" and late.stage_after == "stage_b"
    warning = next(w for w in late.warnings if "recompute" in w)
    assert f"curriculum-contract recompute --curriculum {project} --subject M1" in warning
    assert "2 later session(s)" in warning and "behavior_M1_2024-01-09_09-00-00" in warning
    marker = recompute_marker(store.events("M1"))
    assert marker is not None and marker["session"] == late_dir.name
    assert store.history_document("M1").sessions[0].session == late_dir.name, "first by session time"
    latest = store.latest_trainer_state("M1")
    assert latest["stage"]["name"] == "stage_a", "the latest session's state, not the late one's"
    row = next(r for r in store.session_rows("M1") if r["session"] == late_dir.name)
    assert row["session_time"] == datetime(2024, 1, 8, 9).astimezone().astimezone(UTC) and warning in row["warnings"]


def test_a_corrected_session_marks_its_subject_and_the_latest_one_does_not(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    environment = program_for("ok")
    first = make_session(tmp_path / "sessions", "behavior_M1_2024-01-09_09-00-00", n_trials=2)
    second = make_session(tmp_path / "sessions", "behavior_M1_2024-01-10_09-00-00", n_trials=2)
    for session in (first, second):
        launch(project, session, "M1", store=store_path, environment=environment)
    again = launch(project, second, "M1", store=store_path, environment=environment)
    assert not [w for w in again.warnings if "recompute" in w], "nothing ran after the latest session"
    assert recompute_marker(HistoryStore(store_path).events("M1")) is None
    (first / "trials.csv").write_text("trial,outcome\n" + "".join(f"{i},1\n" for i in range(8)))  # re-exported
    corrected = launch(project, first, "M1", store=store_path, environment=environment)
    assert corrected.stage_after == "stage_b"
    assert any("was recorded before (a correction)" in w for w in corrected.warnings)
    assert recompute_marker(HistoryStore(store_path).events("M1"))["session"] == first.name


def _decided(
    subject: str, session: str, day: float, start: dict | None, marker: int, status: str = "ok"
) -> SessionRecord:
    """A session that ran on day ``day`` after T0, started from ``start``, recorded now; ok: suggests ``marker``."""
    return SessionRecord(
        subject=subject, session=session, session_path=f"/d/{session}", status=status, started_at=now(),
        finished_at=now(), curriculum_name="Fake", stage_before=(start or {}).get("stage", {}).get("name"),
        stage_after="a" if status == "ok" else None, metrics={"n": marker} if status == "ok" else None,
        trainer_state=_state("a", marker) if status == "ok" else None, input_trainer_state=start,
        reason=None if status == "ok" else "needs a stage migration", session_time=T0 + timedelta(days=day),
    )  # fmt: skip


def _start(store: HistoryStore, session: str, day: float | None = None) -> tuple[dict | None, str | None, bool, list]:
    """Where a launch of ``session`` (running on ``day``, else as recorded) starts: the state, the kind of event it
    comes from, whether it is refused as off the curriculum, and the history's events; both readers agreeing."""
    when = T0 + timedelta(days=day) if day is not None else None
    start = store.launch_start("M1", session=session, session_time=when)
    if store._sqlite_file is not None:  # the launch read the standard library's way: SQLAlchemy's says the same
        fast = read_sqlite(store._sqlite_file, "M1", session, store.where, session_time=when)
        assert fast == store._read_core("M1", session, session_time=when), (session, day)
        light = read_sqlite(store._sqlite_file, "M1", session, store.where, history=False, session_time=when)
        assert light.starting_state() == fast.starting_state(), "the history's rows do not change the state"
    events = [(e["kind"], e["stage"]) for e in start.history["events"]]
    return start.state, start.event and start.event["kind"], start.off is not None, events


def test_a_session_skipped_for_a_migration_starts_from_the_migration_when_launched_again(backend: str) -> None:
    store = HistoryStore(backend)
    store.record_enrollment("M1", _state("a"), curriculum_name="Fake")
    first = _start(store, "s1", 1)
    store.record_session(_decided("M1", "s1", 1, first[0], 1))
    old_major = _start(store, "s2", 2)
    assert old_major[0] == _state("a", 1)
    store.record_session(_decided("M1", "s2", 2, old_major[0], 0, status="skipped"))  # the curriculum refused it
    assert _start(store, "s2") == old_major, "nothing recorded since: the same start again"
    migrated = {"trainer_state": _state("a2"), "from_version": "1.0.0", "to_version": "2.0.0"}
    store.record_event("M1", "stage-migration", reason="regimen 2.0.0", detail=migrated)
    assert _start(store, "s2") == (_state("a2"), "stage-migration", False, [("stage-migration", "a2")])
    assert store.latest_trainer_state("M1", session="s2") == _state("a2")
    store.close()


def test_a_relaunch_of_the_latest_session_starts_where_its_first_attempt_did(backend: str) -> None:
    store = HistoryStore(backend)
    store.record_enrollment("M1", _state("a"), curriculum_name="Fake")
    store.record_session(_decided("M1", "s1", 1, _start(store, "s1", 1)[0], 1))
    plain = _start(store, "s2", 2)
    store.record_session(_decided("M1", "s2", 2, plain[0], 2))
    assert plain[0] == _state("a", 1) and _start(store, "s2") == plain, "its own suggestion is not where it starts"
    store.record_event("M1", "override", reason="by hand", detail={"trainer_state": _state("o")})
    overridden = _start(store, "s3", 3)
    store.record_session(_decided("M1", "s3", 3, overridden[0], 3))
    assert overridden[:2] == (_state("o"), "override") and _start(store, "s3") == overridden
    store.close()


def test_a_late_session_starts_from_the_state_at_its_place_not_a_later_override(backend: str) -> None:
    store = HistoryStore(backend)
    store.record_enrollment("M1", _state("a"), curriculum_name="Fake")
    for day in (1, 2, 3):
        store.record_session(_decided("M1", f"s{day}", day, _start(store, f"s{day}", day)[0], day))
    store.record_event("M1", "override", reason="by hand", detail={"trainer_state": _state("o")})
    store.record_session(_decided("M1", "s4", 4, _start(store, "s4", 4)[0], 4))  # started from the override
    assert _start(store, "late12", 1.5) == (_state("a", 1), None, False, []), "s1's, not the override after s3"
    assert _start(store, "late34", 3.5) == (_state("o"), "override", False, [("override", "o")])
    assert _start(store, "s4") == (_state("o"), "override", False, [("override", "o")]), "a relaunch of s4 too"
    assert _start(store, "s5", 5) == (_state("a", 4), None, False, [("override", "o")]), "after s4: s4's"
    store.record_event("M1", "override", reason="again", detail={"trainer_state": _state("p")})
    assert _start(store, "s5", 5)[:2] == (_state("p"), "override"), "an override after s4: that one"
    assert _start(store, "late34", 3.5)[:2] == (_state("o"), "override"), "recorded after s4: not for a late one"
    store.record_event("M1", "off-curriculum", reason="sick", detail={"trainer_state": None})
    assert _start(store, "s5", 5)[2], "off the curriculum now: a new session is not run"
    assert _start(store, "late12", 1.5) == (_state("a", 1), None, False, []), "one that ran before it was taken off is"
    store.record_enrollment("M1", _state("e"), curriculum_name="Fake")
    assert _start(store, "s5", 5) == (_state("e"), None, False, []), "a later enrollment starts afresh"
    late = _start(store, "late34", 3.5)
    assert late == (_state("o"), "override", False, [("override", "o")]), "an enrollment after s4 does not apply"
    store.close()
