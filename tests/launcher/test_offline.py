"""Offline rigs: a real PostgreSQL server of this module's own, really stopped and started again.

The server is a throwaway cluster started here with ``.ci/postgres-cluster`` (not the shared one other
tests use), so that stopping it mid-test breaks nobody else. Launches are real (the fake curriculum
program), the rig's cache is a real SQLite file.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from fake_curriculum import enrollment
from launcher_support import make_session, wait_until
from pg_server import SCRIPT, admin_execute, with_database

from curriculum_contract._cli import main
from curriculum_contract.launcher_adapter import HistoryStore, StoreError, launch
from curriculum_contract.launcher_adapter._errors import StoreUnreachable, SubjectNotEnrolled
from curriculum_contract.launcher_adapter._journal import journal_dir
from curriculum_contract.launcher_adapter._rig_store import RigStore, base_of
from curriculum_contract.launcher_adapter._store_pg import split_password

HERE = Path(__file__).parent


class Server:
    """This module's own cluster: its URL (superuser, with password), stopped and started on demand."""

    def __init__(self, directory: str, url: str) -> None:
        self.directory, self.url = directory, url
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    def _pg_ctl(self, *args: str) -> None:
        command = [*self.as_owner, f"{self.bin}/pg_ctl", "-D", f"{self.directory}/data", "-w", "-t", "120", *args]
        subprocess.run(command, check=True, capture_output=True, timeout=300)

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        port = urlsplit(self.url).port
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.directory} -c fsync=off"
        self._pg_ctl("-l", f"{self.directory}/server.log", "-o", options, "start")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("no PostgreSQL server binaries: apt-get install postgresql to run these tests")
    directory = tempfile.mkdtemp(prefix="cc-pg-offline-")
    try:
        started = subprocess.run([SCRIPT, "start", directory], capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, started.stderr[-2000:]
        yield Server(directory, started.stdout.strip())
    finally:
        subprocess.run([SCRIPT, "stop", directory], capture_output=True, timeout=300, check=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def lab(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the module's server, M1 enrolled; the server running again after the test."""
    name = f"cc_offline_{uuid.uuid4().hex[:10]}"
    admin_execute(server.url, f'CREATE DATABASE "{name}"')
    url = with_database(server.url, name)
    state = enrollment()
    store = HistoryStore(url)
    store.record_enrollment("M1", state, curriculum_name=state["curriculum"]["name"], stage="stage_a")
    store.close()
    _, password = split_password(url)
    monkeypatch.setenv("PGPASSWORD", password or "")  # the CLI takes the URL without it, as on a rig
    yield url
    if not os.path.exists(f"{server.directory}/data/postmaster.pid"):
        server.start()
    admin_execute(server.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rig(url: str, tmp_path: Path, name: str = "rig-a") -> RigStore:
    return RigStore(url, cache=tmp_path / name / "cache.sqlite", connect_timeout_s=2)


def _sync(url: str, cache: Path, *args: str):  # type: ignore[no-untyped-def]
    plain, _ = split_password(url)
    return CliRunner().invoke(main, ["sync", "--store", plain, "--cache", str(cache), *args], catch_exceptions=False)


def test_the_server_stopped_a_launch_decides_from_the_cache_queues_and_sync_pushes(
    server: Server, lab: str, project: Path, program_for, tmp_path: Path
) -> None:
    sessions, ok = tmp_path / "sessions", program_for("ok")
    rig = _rig(lab, tmp_path)
    first = launch(project, make_session(sessions, "M1_s1"), "M1", store=rig, environment=ok)
    assert first.store_status == "recorded" and first.record_id > 0, "online: straight into the store"

    server.stop()
    with pytest.raises(StoreUnreachable, match="cannot be opened"):
        HistoryStore(lab).subjects()
    second = launch(project, make_session(sessions, "M1_s2"), "M1", store=rig, environment=ok)
    third = launch(project, make_session(sessions, "M1_s3", n_trials=2), "M1", store=rig, environment=ok)
    assert second.store_status == third.store_status == "queued" and third.record_id < 0
    (line,) = [w for w in third.warnings if w.startswith("store unreachable")]
    assert "decided from the state cached at" in line and "record queued (2 in outbox)" in line
    assert second.stage_before == first.stage_after and third.stage_before == second.stage_after
    assert third.input_trainer_state == second.document["trainer_state"], "the 2nd offline launch starts from the 1st"
    assert second.suggestion_file.is_file() and third.suggestion_file.is_file(), "the session's outputs are written"
    with pytest.raises(SubjectNotEnrolled, match=r"not in this rig.s cache .* store is unreachable"):
        launch(project, make_session(sessions, "M9_s1"), "M9", store=rig, environment=ok)
    rig.close()

    server.start()
    cache = tmp_path / "rig-a" / "cache.sqlite"
    synced = _sync(lab, cache)
    assert synced.exit_code == 0, synced.output
    assert [ln.split()[:2] for ln in synced.output.splitlines()[:3]] == [["pushed", "outbox"]] * 3  # M9's skip too
    rows = HistoryStore(lab).session_rows("M1")
    assert [(r["session"], r["status"]) for r in rows] == [("M1_s1", "ok"), ("M1_s2", "ok"), ("M1_s3", "ok")]
    assert rows[2]["input_trainer_state"] == rows[1]["trainer_state"]
    again = _rig(lab, tmp_path)
    cached = again.rig.cached("M1")
    assert cached is not None and cached[1] == base_of(again.remote_start("M1")), "the cache is the store's again"
    assert _sync(lab, cache).output.strip() == "outbox empty: every record of this rig is in the store"
    _, password = split_password(lab)
    assert password and password.encode() not in cache.read_bytes(), "no password in the rig's cache"
    again.close()


@pytest.mark.parametrize("keep", ["remote", "local"])
def test_a_subject_that_ran_elsewhere_meanwhile_is_a_conflict_resolved_explicitly(
    server: Server, lab: str, project: Path, program_for, tmp_path: Path, keep: str
) -> None:
    sessions, ok = tmp_path / "sessions", program_for("ok")
    rig_a = _rig(lab, tmp_path, "rig-a")
    launch(project, make_session(sessions, "M1_s1", n_trials=2), "M1", store=rig_a, environment=ok)
    server.stop()
    offline = launch(project, make_session(sessions, "M1_a2"), "M1", store=rig_a, environment=ok)
    assert offline.store_status == "queued"
    rig_a.close()
    server.start()
    rig_b = _rig(lab, tmp_path, "rig-b")
    elsewhere = launch(project, make_session(sessions, "M1_b2", n_trials=2), "M1", store=rig_b, environment=ok)
    assert elsewhere.store_status == "recorded"
    rig_b.close()

    cache = tmp_path / "rig-a" / "cache.sqlite"
    synced = _sync(lab, cache)
    assert synced.exit_code == 17, synced.output
    assert "conflict: outbox #" in synced.output and "M1 ran elsewhere meanwhile" in synced.output
    store = HistoryStore(lab)
    assert [r["session"] for r in store.session_rows("M1")] == ["M1_s1", "M1_b2"], "not overwritten"
    (pending,) = store.pending_conflicts("M1")
    assert "M1_a2" in pending
    assert _sync(lab, cache).exit_code == 17, "still there until resolved"
    assert len(store.pending_conflicts("M1")) == 1, "reported once"

    resolved = _sync(lab, cache, "--resolve", "M1", "--keep", keep)
    assert resolved.exit_code == 0, resolved.output
    assert store.pending_conflicts("M1") == []
    (event,) = [e for e in store.events("M1") if e["kind"] == "offline-conflict-resolved"]
    rows = [r["session"] for r in store.session_rows("M1")]
    if keep == "remote":
        assert rows == ["M1_s1", "M1_b2"]
        assert [d["session"] for d in event["detail"]["dropped"]] == ["M1_a2"], "the dropped record is kept"
        assert store.latest_trainer_state("M1") == elsewhere.document["trainer_state"]
    else:
        assert rows == ["M1_s1", "M1_b2", "M1_a2"]
        assert event["detail"]["superseded"]["sessions"][-1] == "M1_b2", "names what it superseded"
        assert store.latest_trainer_state("M1") == offline.document["trainer_state"]
    store.close()


def test_bad_credentials_are_not_offline(server: Server, lab: str, tmp_path: Path) -> None:
    plain, _ = split_password(lab)
    wrong = plain.replace("postgres@", "postgres:not-the-password@")
    rig = RigStore(wrong, cache=tmp_path / "cache.sqlite", connect_timeout_s=2)
    with pytest.raises(StoreError, match="password authentication failed") as caught:
        rig.launch_start("M1", session="M1_s1")
    assert not isinstance(caught.value, StoreUnreachable) and not rig.offline
    rig.close()


_KILLED_WORKER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from launcher_support import FakeEnvironment
    from curriculum_contract.launcher_adapter import launch
    from curriculum_contract.launcher_adapter._rig_store import RigStore

    class Holding(RigStore):
        def _pushed_or_queued(self, seq, subject, record):
            if record is not None and record.status == "ok":
                Path(spec["marker"]).write_text("queued")
                time.sleep(600)
            return super()._pushed_or_queued(seq, subject, record)

    spec = json.loads(sys.argv[1])
    store = Holding(sys.stdin.readline().strip(), cache=spec["cache"], connect_timeout_s=2)
    launch(spec["project"], spec["session"], "M1", store=store, environment=FakeEnvironment(Path(spec["program"])))
""")


def test_a_launcher_killed_after_queueing_loses_nothing(
    server: Server, lab: str, project: Path, program_for, tmp_path: Path
) -> None:
    """Killed between the outbox write and the journal's "committed": outputs kept, the record pushed later."""
    sessions, ok = tmp_path / "sessions", program_for("ok")
    cache = tmp_path / "rig-a" / "cache.sqlite"
    rig = _rig(lab, tmp_path)
    launch(project, make_session(sessions, "M1_s1", n_trials=2), "M1", store=rig, environment=ok)
    rig.close()
    server.stop()
    session = make_session(sessions, "M1_s2")
    marker = tmp_path / "queued"
    spec = {"project": str(project), "session": str(session), "program": str(ok.executable), "cache": str(cache),
            "marker": str(marker)}  # fmt: skip
    worker = subprocess.Popen([sys.executable, "-c", _KILLED_WORKER, json.dumps(spec), str(HERE)],
                              stdin=subprocess.PIPE, text=True)  # fmt: skip
    assert worker.stdin is not None
    worker.stdin.write(lab + "\n")  # the URL with its password on stdin, never on a command line
    worker.stdin.close()
    assert wait_until(marker.exists), "the worker never queued its record"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=60)
    assert json.loads((journal_dir(session) / "journal.json").read_text())["step"] == "committing"

    server.start()
    plain, _ = split_password(lab)
    recovered = CliRunner(env={"CURRICULUM_CONTRACT_CACHE": str(cache)}).invoke(
        main, ["recover", "--store", plain, "--session", str(session)], catch_exceptions=False
    )
    assert recovered.exit_code == 0 and "had committed" in recovered.output, recovered.output
    assert (session / "curriculum" / "suggestion.json").is_file(), "the outputs of the queued decision are kept"
    assert not journal_dir(session).exists()
    assert _sync(lab, cache).exit_code == 0
    rows = HistoryStore(lab).session_rows("M1")
    assert [(r["session"], r["status"]) for r in rows] == [("M1_s1", "ok"), ("M1_s2", "ok")], "nothing lost"
