"""The history store on a real SQLite file and a real PostgreSQL server: the same answers, replacement of a
repeated session, races. ``backend`` runs a test on both; the SQLite-only ones look into the file."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from workers import record_many

from curriculum_contract.launcher_adapter._errors import StoreError
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord, now, store_url
from curriculum_contract.launcher_adapter._store_reads import read_sqlite
from curriculum_contract.launcher_adapter._store_schema import enable_wal
from curriculum_contract.sdk import History


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store location on each backend: a SQLite file path, a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return request.getfixturevalue("pg_url")


def _execute(url: str, statement: str) -> None:
    """A raw statement on the store's database, as another program would run it."""
    import sqlalchemy as sa

    engine = sa.create_engine(store_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def _state(stage: str, marker: int = 0) -> dict:
    return {"curriculum": {"name": "Fake"}, "stage": {"name": stage}, "marker": marker}


def _record(subject: str, session: str, status: str = "ok", **values) -> SessionRecord:
    values.setdefault("started_at", now())
    values.setdefault("finished_at", now())
    return SessionRecord(subject=subject, session=session, session_path=f"/data/{session}", status=status, **values)


def test_plain_path_is_a_sqlite_file_and_urls_are_kept(tmp_path: Path) -> None:
    assert store_url(tmp_path / "h.sqlite") == "sqlite:///" + (tmp_path / "h.sqlite").resolve().as_posix()
    assert store_url("postgresql+psycopg://u:p@db/rigs") == "postgresql+psycopg://u:p@db/rigs"
    store = HistoryStore("postgresql+psycopg://u:secret@db:5433/rigs")
    assert store.where == "db:5433/rigs"
    assert store.url == "postgresql+psycopg://u@db:5433/rigs", "the URL it shows has no password"
    assert "secret" not in repr(store)


def test_schema_is_created_once_and_reopening_keeps_rows(store_path: Path) -> None:
    HistoryStore(store_path).record_enrollment("M1", _state("stage_a"), curriculum_name="Fake")
    again = HistoryStore(store_path)
    assert again.subjects() == ["M1"]
    with sqlite3.connect(store_path) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
        assert {"enrollments", "sessions", "store_meta"} <= tables
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert db.execute("select value from store_meta where key='schema_version'").fetchone()[0] == "3"
        assert db.execute("select version_num from alembic_version").fetchall() == [("schema_3",)]


def test_latest_trainer_state_follows_enrollments_and_ok_sessions(backend: str) -> None:
    store = HistoryStore(backend)
    assert store.latest_trainer_state("M1") is None
    store.record_enrollment("M1", _state("stage_a"), curriculum_name="Fake")
    assert store.latest_trainer_state("M1") == _state("stage_a")

    store.record_session(_record("M1", "s1", trainer_state=_state("stage_b", 1), input_trainer_state=_state("stage_a")))
    assert store.latest_trainer_state("M1") == _state("stage_b", 1)

    store.record_session(_record("M1", "s2", status="skipped", reason="boom"))
    assert store.latest_trainer_state("M1") == _state("stage_b", 1), "a skipped session suggests nothing"

    # Launching s1 again starts from the state s1 started from, not from its own suggestion.
    assert store.latest_trainer_state("M1", session="s1") == _state("stage_a")
    # A re-enrollment (e.g. at another stage) is newer than every session: it wins.
    store.record_enrollment("M1", _state("final"), curriculum_name="Fake")
    assert store.latest_trainer_state("M1") == _state("final")
    assert store.latest_trainer_state("M2") is None


def test_a_repeated_session_replaces_its_row(backend: str) -> None:
    store = HistoryStore(backend)
    first = store.record_session(_record("M1", "s1", status="skipped", reason="timed out"))
    other = store.record_session(_record("M1", "s2", trainer_state=_state("stage_a")))
    again = store.record_session(_record("M1", "s1", trainer_state=_state("stage_b"), metrics={"n": 3}))
    assert again == first != other
    rows = store.session_rows("M1")
    assert [(r["session"], r["status"], r["attempts"]) for r in rows] == [("s1", "ok", 2), ("s2", "ok", 1)]
    assert rows[0]["reason"] is None and rows[0]["metrics"] == {"n": 3}
    assert [r["session"] for r in store.session_rows()] == ["s1", "s2"], "one row per session"


def test_history_dataframe(backend: str, tmp_path: Path) -> None:
    store = HistoryStore(backend)
    store.record_session(
        _record("M1", "s1", stage_before="a", stage_after="b", metrics={"n_trials": 120, "curve": [1, 2]},
                trainer_state=_state("b"), curriculum_name="Fake", curriculum_version="1.0.0", run_s=0.5)
    )  # fmt: skip
    store.record_session(_record("M2", "s9", status="skipped", reason="subject 'M2' not enrolled"))
    frame = store.history()
    assert list(frame["session"]) == ["s1", "s9"]
    assert frame.loc[0, "metrics.n_trials"] == 120
    assert "metrics.curve" not in frame.columns  # only scalar metrics become columns
    assert frame.loc[0, "metrics"] == {"n_trials": 120, "curve": [1, 2]}
    assert str(frame["started_at"].dt.tz) == "UTC"
    only = store.history("M2")
    assert list(only["status"]) == ["skipped"] and only.loc[0, "reason"].startswith("subject")
    empty = HistoryStore(tmp_path / "empty.sqlite").history()
    assert empty.empty and "stage_after" in empty.columns


def test_history_document_first_session_and_present(backend: str) -> None:
    store = HistoryStore(backend)
    first = store.history_document("M1", "Fake")
    assert first == History.first(subject_id="M1", curriculum_name="Fake")

    for n, stage in enumerate(["a", "a", "b"]):
        store.record_session(
            _record("M1", f"s{n}", stage_before=stage, stage_after="b", metrics={"n": n}, trainer_state=_state("b"),
                    curriculum_name="Fake", started_at=now() + timedelta(seconds=n))
        )  # fmt: skip
    store.record_session(_record("M1", "s3", status="skipped", reason="x", curriculum_name="Fake"))
    store.record_session(_record("M1", "other", curriculum_name="Other", trainer_state=_state("z")))

    history = store.history_document("M1", "Fake")
    assert not history.first_session
    assert [(e.session, e.stage, e.metrics) for e in history.sessions] == [
        ("s0", "a", {"n": 0}), ("s1", "a", {"n": 1}), ("s2", "b", {"n": 2})
    ]  # fmt: skip
    # Launching s1 again: its history is what came before it.
    assert [e.session for e in store.history_document("M1", "Fake", before_session="s1").sessions] == ["s0"]
    assert store.history_document("M1", "Fake", before_session="s0").first_session


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite"
    bogus.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match=r"notes\.sqlite.*not a database"):
        HistoryStore(bogus).latest_trainer_state("M1")
    assert bogus.read_bytes().startswith(b"these are my notes")


def test_a_store_from_a_newer_adapter_is_refused(backend: str) -> None:
    HistoryStore(backend).record_enrollment("M1", _state("a"))
    _execute(backend, "update store_meta set value='99' where key='schema_version'")
    newer = r"schema version 99, newer than this curriculum-contract's 3: upgrade curriculum-contract"
    with pytest.raises(StoreError, match=newer):
        HistoryStore(backend).subjects()
    with pytest.raises(StoreError, match=newer):
        HistoryStore(backend).latest_trainer_state("M1")  # the launch-time reader (sqlite3) too
    with pytest.raises(StoreError, match=newer):
        HistoryStore(backend).upgrade()
    with pytest.raises(StoreError, match=newer):
        HistoryStore(backend).record_session(_record("M1", "s1"))
    _execute(backend, "update store_meta set value='3' where key='schema_version'")
    assert HistoryStore(backend).session_rows() == [], "nothing was written while refused"


def test_both_readers_give_the_same_answers(store_path: Path, pg_url: str) -> None:
    """Launch-time reads of a SQLite store use the standard library; they match SQLAlchemy's, and PostgreSQL's."""
    store, server = HistoryStore(store_path), HistoryStore(pg_url)
    for target in (store, server):
        _fill_for_readers(target)
    for subject in ("M1", "M2", "M3"):
        for session in (None, "s1", "s2", "s3", "t1", "new"):
            core = store._read_core(subject, session)
            fast = read_sqlite(store_path, subject, session, store.where)
            on_server = server._read_core(subject, session)
            assert fast == core, (subject, session)
            assert _without_times(on_server) == _without_times(core), (subject, session)
            assert fast.starting_state() == core.starting_state() == on_server.starting_state()
            for name in (None, "Fake", "Other"):
                assert fast.history(name, session) == core.history(name, session)
                assert _without_times(on_server.history(name, session)) == _without_times(core.history(name, session))
            latest = read_sqlite(store_path, subject, session, store.where, history=False)
            assert latest.ok_sessions == [] and latest.starting_state() == core.starting_state()
    for target in (store, server):
        assert target.starting_point("M1", session="s3")[0] == _state("b", 1)
        assert [e["session"] for e in target.starting_point("M1", session="new")[1]["sessions"]] == ["s1", "s3"]
        assert target.starting_point("M2", session="new")[0] == _state("b")
        assert target.starting_point("M3", session="new") == (None, History.first("M3", None).model_dump(mode="json"))


def _without_times(value: object) -> object:
    """``value`` with its datetimes out (two stores written at different instants)."""
    from dataclasses import asdict, is_dataclass
    from datetime import datetime

    if is_dataclass(value):
        value = asdict(value)  # type: ignore[arg-type]
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if not isinstance(v, datetime)}
    if isinstance(value, list | tuple):
        return [_without_times(v) for v in value if not isinstance(v, datetime)]
    return value


def _fill_for_readers(store: HistoryStore) -> None:
    store.record_enrollment("M1", _state("a"), curriculum_name="Fake")
    store.record_session(
        _record(
            "M1",
            "s1",
            trainer_state=_state("b", 1),
            input_trainer_state=_state("a"),
            stage_before="a",
            stage_after="b",
            metrics={"n": 1.5},
            curriculum_name="Fake",
        )
    )
    store.record_session(_record("M1", "s2", status="skipped", reason="x", curriculum_name="Fake"))
    store.record_session(
        _record(
            "M1",
            "s3",
            trainer_state=_state("c", 2),
            input_trainer_state=_state("b", 1),
            stage_before="b",
            stage_after="c",
            metrics={"n": [1, 2]},
            curriculum_name="Fake",
        )
    )
    store.record_session(_record("M1", "o1", trainer_state=_state("z"), curriculum_name="Other", metrics={}))
    store.record_enrollment("M2", _state("a"), curriculum_name="Fake")
    store.record_session(_record("M2", "t1", status="skipped", reason="y"))
    store.record_enrollment("M2", _state("b"), curriculum_name="Fake")


def test_the_fast_reader_on_a_missing_or_empty_file(tmp_path: Path) -> None:
    assert HistoryStore(tmp_path / "absent.sqlite").latest_trainer_state("M1") is None
    assert not (tmp_path / "absent.sqlite").exists(), "reading does not create the store"
    (tmp_path / "empty.sqlite").touch()
    assert HistoryStore(tmp_path / "empty.sqlite").starting_point("M1", session="s")[0] is None


def test_missing_folder_is_a_store_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=str(tmp_path / "nowhere")):
        HistoryStore(tmp_path / "nowhere" / "h.sqlite").subjects()


def test_concurrent_writers_on_a_fresh_store_stay_consistent(backend: str) -> None:
    """Several processes create the schema and write at once, for different subjects."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    subjects = ["A", "B", "C"]
    workers = [ctx.Process(target=record_many, args=(backend, s, 40, start)) for s in subjects]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    store = HistoryStore(backend)
    assert store.subjects() == subjects
    for subject in subjects:
        rows = store.session_rows(subject)
        assert len(rows) == 40 == len({r["session"] for r in rows})
        assert sum(r["attempts"] for r in rows) == 40 + 8
        assert store.latest_trainer_state(subject)["n"] == 40


def test_history_json_streams_the_documented_array_without_decoding_states(store_path: Path) -> None:
    """`history --json` prints what it always printed; the suggestion and states are not even decoded."""
    from click.testing import CliRunner

    from curriculum_contract._cli import main
    from curriculum_contract.launcher_adapter._cli import _JSON_COLUMNS

    store = HistoryStore(store_path)
    for n in range(3):
        store.record_session(_record("M1", f"s{n}", metrics={"n": n}, suggestion={"big": [n] * 10},
                                     trainer_state=_state("b", n), warnings=("w",)))  # fmt: skip
    store.record_session(_record("M2", "t1", status="skipped", reason="x"))
    rows = store.session_rows()
    expected = json.dumps([{k: row[k] for k in _JSON_COLUMNS} for row in rows], default=lambda v: v.isoformat())
    result = CliRunner().invoke(main, ["history", "--json", "--store", str(store_path)])
    assert result.exit_code == 0 and result.output == expected + "\n"
    only = CliRunner().invoke(main, ["history", "--json", "--subject", "M2", "--store", str(store_path)])
    assert [r["session"] for r in json.loads(only.output)] == ["t1"]
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE sessions SET suggestion = '[broken', trainer_state = '{' WHERE session = 's1'")
    db.close()
    with pytest.raises(StoreError, match="not valid JSON"):
        store.session_rows()  # every column: the corrupt values are met
    again = CliRunner().invoke(main, ["history", "--json", "--store", str(store_path)])
    assert again.exit_code == 0 and again.output == expected + "\n", "history --json never decoded them"
    store.close()


def test_the_latest_state_is_found_by_index(store_path: Path, pg_url: str) -> None:
    """The launch-time queries of a subject's latest state use the schema-2 indexes, on both backends."""
    for n in range(30):
        HistoryStore(store_path).record_session(_record(f"M{n % 3}", f"s{n}", trainer_state=_state("a", n)))
    latest = "SELECT id, trainer_state FROM sessions WHERE subject = 'M1' AND status = 'ok' ORDER BY id DESC LIMIT 1"
    enrolled = "SELECT id, trainer_state FROM enrollments WHERE subject = 'M1' ORDER BY id DESC LIMIT 1"
    with sqlite3.connect(store_path) as db:
        assert "USING INDEX ix_sessions_subject_status_id" in str(db.execute(f"EXPLAIN QUERY PLAN {latest}").fetchall())
        plan = str(db.execute(f"EXPLAIN QUERY PLAN {enrolled}").fetchall())
        assert "USING INDEX ix_enrollments_subject" in plan and "TEMP B-TREE" not in plan
    db.close()
    import sqlalchemy as sa

    HistoryStore(pg_url).subjects()
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))  # a tiny table: make the planner show what it can use
        plan = "\n".join(row[0] for row in conn.execute(sa.text(f"EXPLAIN {latest}")))
        assert "ix_sessions_subject_status_id" in plan and "Sort" not in plan, plan
        plan = "\n".join(row[0] for row in conn.execute(sa.text(f"EXPLAIN {enrolled}")))
        assert "ix_enrollments_subject_id" in plan and "Sort" not in plan, plan
    engine.dispose()


def _fresh_file_read_by_another(path: Path) -> sqlite3.Connection:
    """A new store file (not yet WAL) with another connection's read transaction open on it."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM t").fetchall()
    return holder


def test_the_switch_to_wal_waits_for_a_file_another_process_holds(tmp_path: Path) -> None:
    """Rigs or workers opening a fresh store together: SQLite may refuse the switch to WAL at once, busy
    timeout or not ("database is locked" on a rig's first launch); it is tried again until the file is free."""
    holder = _fresh_file_read_by_another(tmp_path / "fresh.sqlite")
    db = sqlite3.connect(tmp_path / "fresh.sqlite", timeout=0, isolation_level=None)  # refused at once
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:
            holder.execute("ROLLBACK")

    enable_wal(db, sleep=sleep)
    assert len(pauses) == 3 and db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_switch_to_wal_gives_up_after_its_timeout_saying_the_file_is_locked(tmp_path: Path) -> None:
    holder = _fresh_file_read_by_another(tmp_path / "fresh.sqlite")
    db = sqlite3.connect(tmp_path / "fresh.sqlite", timeout=0, isolation_level=None)
    ticks = iter(range(100))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(db, timeout_s=5, clock=lambda: float(next(ticks)), sleep=lambda _s: None)
    assert next(ticks) == 6, "given up once 5 s had passed, not at the first refusal nor later"
    holder.close()
