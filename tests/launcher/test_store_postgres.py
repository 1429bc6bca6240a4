"""The store on a real PostgreSQL server: the subject lock across connections and processes, credentials."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pg_server import admin_execute, with_database

from curriculum_contract._cli import main
from curriculum_contract.launcher_adapter._errors import StoreError, SubjectBusy
from curriculum_contract.launcher_adapter._store import HistoryStore
from curriculum_contract.launcher_adapter._store_schema import SCHEMA_VERSION

PASSWORD = "s3cret-Rig-pw"


def test_the_subject_lock_serializes_launchers_on_different_connections(pg_url: str) -> None:
    holder, other = HistoryStore(pg_url), HistoryStore(pg_url)  # two engines: two rigs
    with holder.subject_lock("M1", wait_s=1):
        start = time.monotonic()
        busy_message = r"subject 'M1' is being launched by another process .* 0\.3 s"
        with pytest.raises(SubjectBusy, match=busy_message) as busy, other.subject_lock("M1", wait_s=0.3):
            raise AssertionError("two holders of one subject")
        assert time.monotonic() - start >= 0.3, "it waited for the bound"
        assert "postgres:" not in str(busy.value), "no password in the message"
        with other.subject_lock("M2", wait_s=0.3):
            pass  # another subject is free
    with other.subject_lock("M1", wait_s=0.3):
        pass  # released
    holder.close()
    other.close()


def test_a_killed_launcher_releases_its_subject_lock(pg_url: str, tmp_path: Path) -> None:
    """A SIGKILLed holder's connection closes and the server drops its lock: no stale lock to clean."""
    script = textwrap.dedent("""
        import sys, time
        from curriculum_contract.launcher_adapter._store import HistoryStore
        with HistoryStore(sys.stdin.readline().strip()).subject_lock("M1", wait_s=5):
            print("held", flush=True)
            time.sleep(600)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(pg_url + "\n")  # the URL (and its password) on stdin, never on a command line
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "held"
    store = HistoryStore(pg_url)
    with pytest.raises(SubjectBusy), store.subject_lock("M1", wait_s=0.2):
        pass
    holder.kill()
    holder.wait(timeout=60)
    holder.stdin.close()
    holder.stdout.close()
    with store.subject_lock("M1", wait_s=60):  # a bound for the server to notice, not a speed expected
        pass
    store.close()


@pytest.fixture
def rig_role(pg_server: str, pg_url: str) -> Iterator[tuple[str, str]]:
    """A role with a password owning the test's database: (URL without the password, the database)."""
    database = pg_url.rsplit("/", 1)[1]
    role = f"rig_{database[-12:]}"
    admin_execute(
        pg_server, f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'", f'ALTER DATABASE "{database}" OWNER TO {role}'
    )
    host = pg_url.split("@", 1)[1].rsplit("/", 1)[0]
    yield f"postgresql+psycopg://{role}@{host}/{database}", database
    admin_execute(pg_server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f"DROP ROLE IF EXISTS {role}")


def test_the_password_comes_from_libpqs_passfile(rig_role: tuple[str, str], tmp_path: Path, monkeypatch) -> None:
    url, database = rig_role
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(StoreError, match=r"history store .*/" + database + ".* password") as refused:
        HistoryStore(url).subjects()
    assert "\n" not in str(refused.value)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:*:{PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    store = HistoryStore(url)
    store.record_enrollment("M1", {"stage": {"name": "a"}})
    assert store.subjects() == ["M1"]
    store.close()


def test_a_password_never_shows(rig_role: tuple[str, str], tmp_path: Path, monkeypatch, caplog) -> None:
    url, _ = rig_role
    secret_url = url.replace("@", f":{PASSWORD}@", 1)
    runner = CliRunner()
    typed = runner.invoke(main, ["history", "--store", secret_url])
    assert typed.exit_code == 10, typed.output
    assert "a password on the command line shows in `ps`" in typed.output and PASSWORD not in typed.output

    wrong = HistoryStore(url.replace("@", ":not-the-password@", 1))
    with pytest.raises(StoreError) as refused:
        wrong.subjects()
    assert "not-the-password" not in str(refused.value) and "password authentication failed" in str(refused.value)

    caplog.set_level(logging.DEBUG)
    url_file = tmp_path / "store-url"
    url_file.write_text(secret_url + "\n")
    env = {"CURRICULUM_CONTRACT_STORE_FILE": str(url_file), "CURRICULUM_CONTRACT_STORE": None}
    created = runner.invoke(main, ["store", "upgrade"], env=env)
    assert created.exit_code == 0 and f"created at schema version {SCHEMA_VERSION}" in created.output, created.output
    listed = runner.invoke(main, ["history", "--json"], env=env)
    assert listed.exit_code == 0 and listed.output == "[]\n"
    store = HistoryStore(secret_url)
    store.record_enrollment("M1", {"stage": {"name": "a"}})
    assert PASSWORD not in f"{store!r} {store.url} {store.where}"
    store.close()
    assert PASSWORD not in caplog.text + created.output + listed.output

    bad = runner.invoke(main, ["history"], env={**env, "CURRICULUM_CONTRACT_STORE_FILE": str(tmp_path / "absent")})
    assert bad.exit_code == 10 and "CURRICULUM_CONTRACT_STORE_FILE names" in bad.output


def test_with_database_keeps_the_server(pg_server: str) -> None:
    """The test helper the fixtures build URLs with (a wrong one would point every test at one database)."""
    assert with_database("postgresql+psycopg://u:p@h:1/postgres", "x") == "postgresql+psycopg://u:p@h:1/x"
    assert pg_server.endswith("/postgres")
