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
from curriculum_contract.launcher_adapter import HistoryStore, StoreError, launch, run_or_skip
from curriculum_contract.launcher_adapter._errors import (
    OfflineConflicts,
    StoreUnreachable,
    SubjectInConflict,
    SubjectNotEnrolled,
)
from curriculum_contract.launcher_adapter._journal import journal_dir
from curriculum_contract.launcher_adapter._rig_store import RigStore, base_of
from curriculum_contract.launcher_adapter._store_pg import split_password

HERE = Path(__file__).parent
#: A stopped server refuses at once, so this only bounds a connection to a running one on a loaded machine.
CONNECT_TIMEOUT_S = 10.0


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
    return RigStore(url, cache=tmp_path / name / "cache.sqlite", connect_timeout_s=CONNECT_TIMEOUT_S)


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


def _tree(session: Path) -> dict[str, bytes | None]:
    """Every entry of the session, byte for byte (None: a directory)."""
    return {str(p.relative_to(session)): None if p.is_dir() else p.read_bytes() for p in sorted(session.rglob("*"))}


def _outbox(rig: RigStore) -> list[tuple[object, ...]]:
    return [(e.seq, e.subject, e.session, e.kind, e.state, e.base, e.payload) for e in rig.rig.all_entries()]


_STORE_WORDS = ("store unreachable", "queued", "conflict", "outbox", "pushed")


def test_a_subject_in_conflict_on_this_rig_is_refused_until_resolved(
    server: Server, lab: str, project: Path, program_for, tmp_path: Path
) -> None:
    """The tester's sequence: A decided M1 offline, B ran M1 online, A's sync reported the conflict; A launches M1."""
    sessions, ok = tmp_path / "sessions", program_for("ok")
    cache = tmp_path / "rig-a" / "cache.sqlite"
    rig_a = _rig(lab, tmp_path, "rig-a")
    launch(project, make_session(sessions, "M1_s1", n_trials=2), "M1", store=rig_a, environment=ok)
    server.stop()
    assert launch(project, make_session(sessions, "M1_a2"), "M1", store=rig_a, environment=ok).store_status == "queued"
    rig_a.close()
    server.start()
    rig_b = _rig(lab, tmp_path, "rig-b")
    elsewhere = launch(project, make_session(sessions, "M1_b2", n_trials=2), "M1", store=rig_b, environment=ok)
    rig_b.close()
    assert _sync(lab, cache).exit_code == 17

    store = HistoryStore(lab)
    rows, events = store.session_rows("M1"), store.events("M1")
    rig_a = _rig(lab, tmp_path, "rig-a")
    (queued,) = rig_a.rig.pending("M1")
    decided = queued.record().started_at.isoformat(timespec="seconds")
    outbox = _outbox(rig_a)
    session = make_session(sessions, "M1_a3")
    before, calls = _tree(session), ok.calls
    with pytest.raises(SubjectInConflict) as refused:  # the server is up
        launch(project, session, "M1", store=rig_a, environment=ok)
    assert str(refused.value) == (
        f"subject M1 has an unresolved offline conflict on this rig (1 queued decision(s) from {decided}): "
        "resolve it with `curriculum-contract sync --resolve M1 --keep remote|local`"
    )
    assert isinstance(refused.value, OfflineConflicts) and refused.value.exit_code == 17
    assert ok.calls == calls, "nothing ran, not even the bootstrap"
    assert _tree(session) == before and not journal_dir(session).exists(), "nothing written into the session"
    assert _outbox(rig_a) == outbox, "the outbox is unchanged: no skip queued behind the conflict"
    assert store.session_rows("M1") == rows and store.events("M1") == events, "nothing recorded"
    assert run_or_skip(project, session, "M1", store=rig_a, environment=ok) is None, "a typed skip"
    server.stop()
    with pytest.raises(SubjectInConflict):  # offline too: its decision would start from the conflicting one
        launch(project, session, "M1", store=rig_a, environment=ok)
    server.start()
    assert _tree(session) == before and _outbox(rig_a) == outbox
    rig_a.close()

    assert _sync(lab, cache, "--resolve", "M1", "--keep", "remote").exit_code == 0
    rig_a = _rig(lab, tmp_path, "rig-a")
    relaunched = launch(project, session, "M1", store=rig_a, environment=ok)
    assert relaunched.store_status == "recorded" and relaunched.record_id > 0
    assert relaunched.input_trainer_state == elsewhere.document["trainer_state"], "from the store's state"
    assert not [w for w in relaunched.warnings if any(word in w for word in _STORE_WORDS)], relaunched.warnings
    assert [r["session"] for r in store.session_rows("M1")] == ["M1_s1", "M1_b2", "M1_a3"]
    assert rig_a.rig.pending() == [] and (session / "curriculum" / "suggestion.json").is_file()
    rig_a.close()
    store.close()


class _StopsBeforePushing(RigStore):
    """A rig whose server goes away between the decision and the push of its record (once)."""

    stop: Server | None = None

    def record_session(self, record):  # type: ignore[no-untyped-def]
        if record.status == "ok" and self.stop is not None:
            self.stop.stop()
            self.stop = None
        return super().record_session(record)


class _ReEnrolledBeforePushing(RigStore):
    """A rig whose subject is re-enrolled elsewhere between the decision and the push (once)."""

    url_with_password = ""

    def record_session(self, record):  # type: ignore[no-untyped-def]
        if record.status == "ok" and self.url_with_password:
            other = HistoryStore(self.url_with_password)
            other.record_enrollment(record.subject, enrollment(), stage="stage_a")
            other.close()
            self.url_with_password = ""
        return super().record_session(record)


def test_a_queued_launch_says_queued_once_and_a_pushed_one_says_nothing_more(
    server: Server, lab: str, project: Path, program_for, tmp_path: Path
) -> None:
    sessions, ok = tmp_path / "sessions", program_for("ok")
    cache = tmp_path / "rig-a" / "cache.sqlite"
    pushed = launch(project, make_session(sessions, "M1_s1"), "M1", store=_rig(lab, tmp_path), environment=ok)
    assert pushed.store_status == "recorded"
    assert not [w for w in pushed.warnings if any(word in w for word in _STORE_WORDS)], pushed.warnings

    rig = _StopsBeforePushing(lab, cache=cache, connect_timeout_s=CONNECT_TIMEOUT_S)
    rig.stop = server  # decided online, then the push finds the server gone: still queued, and said so
    late = launch(project, make_session(sessions, "M1_s2"), "M1", store=rig, environment=ok)
    offline = launch(project, make_session(sessions, "M1_s3"), "M1", store=rig, environment=ok)
    rig.close()
    assert late.store_status == offline.store_status == "queued"
    assert [w for w in late.warnings if any(word in w for word in _STORE_WORDS)] == [
        "store unreachable: record queued (1 in outbox); run `curriculum-contract sync`"
    ]
    (line,) = [w for w in offline.warnings if any(word in w for word in _STORE_WORDS)]
    assert line.startswith("store unreachable: decided from the state cached at") and "(2 in outbox)" in line

    server.start()
    rig = _ReEnrolledBeforePushing(lab, cache=cache, connect_timeout_s=CONNECT_TIMEOUT_S)
    flushed = launch(project, make_session(sessions, "M1_s4"), "M1", store=rig, environment=ok)
    assert flushed.store_status == "recorded"
    assert [w for w in flushed.warnings if any(word in w for word in _STORE_WORDS)] == [
        "pushed 2 queued record(s) to the store"
    ], "the earlier records pushed first; this one recorded: nothing more"
    rig.url_with_password = lab  # re-enrolled elsewhere after the decision: a conflict at the push, said once
    clashed = launch(project, make_session(sessions, "M1_s5"), "M1", store=rig, environment=ok)
    rig.close()
    assert clashed.store_status == "conflict" and clashed.suggestion_file.is_file()
    said = [w for w in clashed.warnings if any(word in w for word in _STORE_WORDS)]
    assert len(said) == 2 and said[0].startswith("conflict: outbox #"), said
    assert said[1] == (
        "record queued behind a conflict (1 in outbox): resolve it with "
        "`curriculum-contract sync --resolve M1 --keep remote|local`"
    )


def test_bad_credentials_are_not_offline(server: Server, lab: str, tmp_path: Path) -> None:
    plain, _ = split_password(lab)
    wrong = plain.replace("postgres@", "postgres:not-the-password@")
    rig = RigStore(wrong, cache=tmp_path / "cache.sqlite", connect_timeout_s=CONNECT_TIMEOUT_S)
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
    store = Holding(sys.stdin.readline().strip(), cache=spec["cache"], connect_timeout_s=10)
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
