"""Schema upgrades without loss: release 0.2.0's store (schema 1, a committed fixture) upgraded in place, on
SQLite and on a real PostgreSQL server, every row kept; an older server store refused until `store upgrade`."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from curriculum_contract._cli import main
from curriculum_contract.launcher_adapter._errors import StoreError
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord, now
from curriculum_contract.launcher_adapter._store_migrate import MIGRATIONS
from curriculum_contract.launcher_adapter._store_schema import SCHEMA_VERSION, tables

FIXTURE = Path(__file__).parent / "data" / "store-fixtures" / "schema-1.sqlite"
V1_TABLES = ("store_meta", "enrollments", "sessions", "events")
#: The columns schema 3 added to ``sessions``: left out where rows are compared with schema 1's.
V3_COLUMNS = ("session_time", "generation", "superseded_by")


def _v1_columns(columns: list[str]) -> str:
    return ", ".join(c for c in columns if c not in V3_COLUMNS)


def _fixture_copy(tmp_path: Path) -> Path:
    path = tmp_path / "rig.sqlite"
    shutil.copyfile(FIXTURE, path)
    return path


def _sqlite_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of schema 1's tables, every column, as SQLite holds them."""
    with sqlite3.connect(path) as db:
        rows = {}
        for name in V1_TABLES:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({name})")]
            rows[name] = db.execute(f"SELECT {_v1_columns(columns)} FROM {name} ORDER BY 1").fetchall()
    db.close()
    return rows


def _schema_diff(engine: sa.Engine) -> list:
    """What differs between the store's tables and ``tables()`` (Alembic's autogenerate comparison)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), tables()["metadata"])


def _migrate_to(engine: sa.Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def test_the_fixture_is_release_0_2_0s_schema(tmp_path: Path) -> None:
    rows = _sqlite_rows(FIXTURE)
    assert rows["store_meta"] == [("schema_version", "1")]
    assert (len(rows["enrollments"]), len(rows["sessions"]), len(rows["events"])) == (4, 18, 2)
    with sqlite3.connect(FIXTURE) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "alembic_version" not in names, "0.2.0 knew nothing of Alembic"


def test_a_schema_1_store_upgrades_in_place_every_row_kept_and_readable(tmp_path: Path) -> None:
    path = _fixture_copy(tmp_path)
    before = _sqlite_rows(path)
    assert HistoryStore(path).upgrade() == (1, SCHEMA_VERSION)
    after = _sqlite_rows(path)
    assert after.pop("store_meta") == [("schema_version", str(SCHEMA_VERSION))]
    assert after == {k: v for k, v in before.items() if k != "store_meta"}, "every row, every value, kept"
    assert _sqlite_rows(path.with_name("rig.sqlite.schema-1.bak")) == before, "the copy kept beside it"
    engine = sa.create_engine(f"sqlite:///{path}")
    assert _schema_diff(engine) == []
    engine.dispose()

    store = HistoryStore(path)
    assert store.subjects() == ["M1", "M2", "M3"]
    rows = store.session_rows()
    assert len(rows) == 18 and [r["session"] for r in rows if r["attempts"] == 2] == ["M1_5"]
    assert rows[0]["suggestion"] == {"decision": {"day": 0}} and rows[0]["started_at"].tzinfo is not None
    assert [e["kind"] for e in store.events()] == ["re-enrollment", "subject-mismatch"]
    assert store.latest_trainer_state("M2")["stage"]["name"] == "final", "the re-enrollment is the newest"
    assert store.latest_trainer_state("M3")["n"] == 0, "enrolled when the fixture was made: after its sessions"
    # a relaunch starts from the state at its place (docs/store.md, "Session order"): the enrollment, recorded
    # after every session of the fixture, applies to a relaunch of the latest one, not of one before others
    assert store.latest_trainer_state("M3", session="M3_4")["n"] == 0, "a relaunch of the latest: the enrollment"
    assert store.latest_trainer_state("M3", session="M3_3")["n"] == 3, "of an earlier one: the session before it"
    assert [e.session for e in store.history_document("M1", "Fixture").sessions] == ["M1_0", "M1_1", "M1_2", "M1_4"]
    assert HistoryStore(path).upgrade() == (SCHEMA_VERSION, SCHEMA_VERSION), "a second upgrade changes nothing"
    with sqlite3.connect(path) as db:
        added = db.execute("SELECT count(*) FROM sessions WHERE session_time = started_at AND generation = 1 "
                           "AND superseded_by IS NULL").fetchone()[0]  # fmt: skip
    db.close()
    assert added == 18, "schema 3 backfills session_time from started_at: the order stays the launch order"


def test_a_rigs_sqlite_store_upgrades_on_its_first_write(tmp_path: Path) -> None:
    """One rig's own file: the launcher upgrades it itself (a copy kept), then records."""
    path = _fixture_copy(tmp_path)
    store = HistoryStore(path)
    assert store.latest_trainer_state("M1", session="M1_1")["n"] == 1, "the launch-time reader reads schema 1"
    assert store.latest_trainer_state("M1", session="M1_4")["n"] == 0, "the enrollment recorded after M1_4"
    assert _sqlite_rows(path)["store_meta"] == [("schema_version", "1")], "reading does not upgrade"
    store.record_session(SessionRecord(subject="M1", session="M1_9", session_path="/d", status="ok",
                                       started_at=now(), finished_at=now(), trainer_state={"n": 99}))  # fmt: skip
    assert _sqlite_rows(path)["store_meta"] == [("schema_version", str(SCHEMA_VERSION))]
    assert len(store.session_rows()) == 19 and store.latest_trainer_state("M1") == {"n": 99}
    assert path.with_name("rig.sqlite.schema-1.bak").is_file()


def test_the_migrations_make_the_schema_the_code_declares(tmp_path: Path, pg_url: str) -> None:
    for url in (f"sqlite:///{tmp_path / 'fresh.sqlite'}", pg_url):
        HistoryStore(url).subjects()
        engine = sa.create_engine(url)
        assert _schema_diff(engine) == [], url
        # the comparison can fail: an index the code declares and the database lacks
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_sessions_subject_status_id"))
        assert [d[0] for d in _schema_diff(engine)] == ["add_index"]
        engine.dispose()


def _load_fixture(url: str) -> None:
    """Release 0.2.0's store on a server: schema 1's tables with the fixture's rows, no ``alembic_version``."""
    engine = sa.create_engine(url)
    _migrate_to(engine, "schema_1")
    meta = sa.MetaData()
    with sqlite3.connect(FIXTURE) as db, engine.begin() as conn:
        meta.reflect(conn)
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.delete(meta.tables["store_meta"]))
        for name in V1_TABLES:
            table = meta.tables[name]
            cursor = db.execute(f"SELECT * FROM {name}")
            columns = [c[0] for c in cursor.description]
            records = [dict(zip(columns, row, strict=True)) for row in cursor]
            for record in records:
                for column in table.columns:
                    value = record[column.name]
                    if value is not None and isinstance(column.type, sa.JSON):
                        record[column.name] = json.loads(value)
                    elif value is not None and isinstance(column.type, sa.DateTime):
                        record[column.name] = datetime.fromisoformat(value)
                    elif value is not None and isinstance(column.type, sa.Boolean):
                        record[column.name] = bool(value)
            conn.execute(table.insert(), records)
            if "id" in table.c:
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"))
    db.close()
    engine.dispose()


def _server_rows(url: str) -> dict[str, list]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = {}
        for n in V1_TABLES:
            columns = [c["name"] for c in sa.inspect(conn).get_columns(n)]
            query = sa.text(f"SELECT {_v1_columns(columns)} FROM {n} ORDER BY 1")
            rows[n] = [tuple(r) for r in conn.execute(query)]
    engine.dispose()
    return rows


def test_a_schema_1_store_on_a_server_is_refused_until_store_upgrade(pg_url: str) -> None:
    _load_fixture(pg_url)
    before = _server_rows(pg_url)
    password = pg_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    with pytest.raises(StoreError) as refused:
        HistoryStore(pg_url).subjects()
    message = str(refused.value)
    older = f"schema version 1, older than this curriculum-contract's {SCHEMA_VERSION}"
    assert f"{older}: run `curriculum-contract store upgrade" in (message)
    assert "--store postgresql+psycopg://postgres@" in message and password not in message
    assert _server_rows(pg_url) == before, "refused: nothing changed"

    runner = CliRunner()
    result = runner.invoke(main, ["store", "upgrade"], env={"CURRICULUM_CONTRACT_STORE": pg_url})
    assert result.exit_code == 0, result.output
    assert f"upgraded from schema version 1 to {SCHEMA_VERSION}" in result.output and password not in result.output
    after = _server_rows(pg_url)
    assert after.pop("store_meta") == [("schema_version", str(SCHEMA_VERSION))]
    assert after == {k: v for k, v in before.items() if k != "store_meta"}, "every row kept"
    engine = sa.create_engine(pg_url)
    assert _schema_diff(engine) == []
    engine.dispose()
    store = HistoryStore(pg_url)
    assert store.latest_trainer_state("M2")["stage"]["name"] == "final"
    record = SessionRecord(subject="M1", session="M1_9", session_path="/d", status="ok",
                           started_at=now(), finished_at=now(), trainer_state={"n": 99})  # fmt: skip
    new_id = store.record_session(record)
    assert new_id == 19 and store.latest_trainer_state("M1") == {"n": 99}
    store.close()


def test_concurrent_upgrades_of_one_server_store_run_it_once(pg_url: str) -> None:
    _load_fixture(pg_url)
    results: list[tuple] = []

    def upgrade() -> None:
        results.append(HistoryStore(pg_url).upgrade())

    threads = [threading.Thread(target=upgrade) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    v = SCHEMA_VERSION
    assert sorted(results) == [(1, v), (v, v), (v, v), (v, v)], "one upgraded it; the others found it done"
    assert len(_server_rows(pg_url)["sessions"]) == 18


def test_store_version_and_upgrade_commands_on_a_rig_file(tmp_path: Path) -> None:
    path = _fixture_copy(tmp_path)
    runner = CliRunner()
    old = runner.invoke(main, ["store", "version", "--store", str(path)])
    assert old.exit_code == 10
    assert f"{path}: schema version 1; this release's: {SCHEMA_VERSION}" in old.output
    assert f"run `curriculum-contract store upgrade --store {path}`" in old.output
    done = runner.invoke(main, ["store", "upgrade", "--store", str(path)])
    assert done.exit_code == 0 and f"upgraded from schema version 1 to {SCHEMA_VERSION}" in done.output
    assert runner.invoke(main, ["store", "version", "--store", str(path)]).exit_code == 0
    missing = runner.invoke(main, ["store", "upgrade", "--store", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 10 and "no such file" in missing.output
