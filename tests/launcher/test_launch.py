"""``launch`` end to end with a real (fake) curriculum process, a real session directory and store.

The bootstrap step is injected (``environment=``): these tests need no uv. The e2e tests at the end
build a real curriculum project with uv and run the real thing. Programs get the default timeout, except
the one that hangs on purpose; test_launch_runner.py drives the same logic with a fake runner.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest
from fake_curriculum import enrollment
from launcher_support import assert_intact, make_session, tiny_curriculum_repo, tree_digest
from workers import launch_sessions

from curriculum_contract.launcher_adapter._errors import (
    BootstrapFailed,
    ContractViolation,
    InvalidArgument,
    ProcessFailed,
    SessionDataViolation,
    SessionNotFound,
    StoreError,
    SubjectNotEnrolled,
    SubmoduleNotReady,
    TimedOut,
)
from curriculum_contract.launcher_adapter._feed import SESSION_METADATA_KEY
from curriculum_contract.launcher_adapter._guard import FULL_HASH_LIMIT
from curriculum_contract.launcher_adapter._launch import DEFAULT_TIMEOUT_S, LaunchResult, enroll, launch, run_or_skip
from curriculum_contract.launcher_adapter._preserve import MANIFEST_NAME, PACK_NAME, SEAL_NAME
from curriculum_contract.launcher_adapter._store import HistoryStore
from curriculum_contract.sdk import HISTORY_FILE, SUGGESTION_FILE, TRAINER_STATE_FILE, History, Suggestion


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


def test_a_launch_feeds_runs_validates_writes_and_records(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    enrolled("M1")
    environment = program_for("ok")
    first = make_session(sessions, "M1_s1", n_trials=2, session_json={"subject_id": "M1", "notes": "calm"})
    trials = (first / "trials.csv").read_bytes()

    result = launch(project, first, "M1", store=store_path, environment=environment)

    assert isinstance(result, LaunchResult) and isinstance(result.suggestion, Suggestion) and not result.legacy
    assert (result.stage_before, result.stage_after, result.stage_changed) == ("stage_a", "stage_a", False)
    assert result.metrics == {"n_trials": 2} and result.summary.startswith("stage_a -> stage_a")
    assert result.provenance.kind == "directory" and result.curriculum_name == "FakeCurriculum"
    assert result.warnings == () and environment.calls == 1
    assert (first / "trials.csv").read_bytes() == trials
    # The inputs were placed at the contract's places, the validated document written back.
    assert json.loads((first / TRAINER_STATE_FILE).read_text()) == enrollment()
    assert History.model_validate_json((first / HISTORY_FILE).read_text()).first_session
    assert json.loads((first / SUGGESTION_FILE).read_text()) == result.document
    metadata = json.loads((first / "session.json").read_text())
    assert metadata["subject_id"] == "M1" and metadata["notes"] == "calm"
    assert metadata[SESSION_METADATA_KEY]["metrics"] == {"n_trials": 2}

    second = make_session(sessions, "M1_s2", n_trials=10)
    result2 = launch(project, second, "M1", store=store_path, environment=environment)
    assert (result2.stage_before, result2.stage_after) == ("stage_a", "stage_b")
    history = History.model_validate_json((second / HISTORY_FILE).read_text())
    assert [(e.session, e.stage, e.metrics) for e in history.sessions] == [("M1_s1", "stage_a", {"n_trials": 2})]
    assert result2.suggestion.decision.history == "present"

    store = HistoryStore(store_path)
    assert store.latest_trainer_state("M1")["stage"]["name"] == "stage_b"
    rows = store.session_rows("M1")
    assert [(r["session"], r["status"], r["stage_before"], r["stage_after"]) for r in rows] == [
        ("M1_s1", "ok", "stage_a", "stage_a"), ("M1_s2", "ok", "stage_a", "stage_b")
    ]  # fmt: skip
    assert rows[1]["id"] == result2.record_id and rows[1]["suggestion"] == result2.document
    assert rows[1]["run_s"] > 0 and rows[1]["duration_s"] >= rows[1]["run_s"]


def test_a_repeated_launch_replaces_the_row_and_starts_from_the_same_state(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    enrolled("M1")
    session = make_session(sessions, "M1_s1", n_trials=10)
    first = launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    again = launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert again.record_id == first.record_id
    assert (again.stage_before, again.stage_after) == ("stage_a", "stage_b"), "not advanced twice"
    rows = HistoryStore(store_path).session_rows("M1")
    assert len(rows) == 1 and rows[0]["attempts"] == 2


def test_unknown_subject_without_a_state_in_the_session_is_not_enrolled(
    project: Path, program_for, store_path: Path, sessions: Path
) -> None:
    session = make_session(sessions, "M9_s1")
    before = tree_digest(session)
    with pytest.raises(SubjectNotEnrolled, match=r"subject 'M9' is not enrolled in .*history\.sqlite.*enroll"):
        launch(project, session, "M9", store=store_path, environment=program_for("ok"))
    assert tree_digest(session) == before
    [row] = HistoryStore(store_path).session_rows("M9")
    assert row["status"] == "skipped" and row["reason"].startswith("subject 'M9' is not enrolled")


def test_unknown_subject_starts_from_the_trainer_state_the_session_holds(
    project: Path, program_for, store_path: Path, sessions: Path
) -> None:
    session = make_session(sessions, "M9_s1", n_trials=10)
    held = session / TRAINER_STATE_FILE
    held.parent.mkdir()
    held.write_text(json.dumps(enrollment()))
    result = launch(project, session, "M9", store=store_path, environment=program_for("ok"))
    assert (result.stage_before, result.stage_after) == ("stage_a", "stage_b")
    assert any("not in the store" in w for w in result.warnings)
    assert not (session / HISTORY_FILE).exists(), "no made-up first-session history"
    assert result.suggestion.decision.history == "missing"
    assert HistoryStore(store_path).latest_trainer_state("M9")["stage"]["name"] == "stage_b"


def test_a_session_state_that_differs_from_the_store_is_left_and_the_store_state_passed(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    enrolled("M1", stage="stage_b")
    session = make_session(sessions, "M1_s1", n_trials=1)
    held = session / TRAINER_STATE_FILE
    held.parent.mkdir()
    held.write_text(json.dumps(enrollment()))  # stage_a: not what the store says
    content = held.read_bytes()
    result = launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert held.read_bytes() == content
    assert result.stage_before == "stage_b" == result.stage_after, "the program read the store's state"
    assert any("--input-trainer-state" in w for w in result.warnings)
    [row] = HistoryStore(store_path).session_rows("M1")
    assert any("differs from the store" in w for w in row["warnings"])


#: The timeout of the program that hangs on purpose: it never finishes, so a short one cannot change the outcome.
HANG_TIMEOUT_S = 1.5
FAILURES = [
    ("fail", ProcessFailed, r"exited with code 4: ValueError: trials.csv has no 'outcome' column"),
    ("signal", ProcessFailed, "killed by SIGKILL"),
    ("hang", TimedOut, r"did not finish within 1\.5 s; its process group was killed"),
    ("junk", ContractViolation, "INFO computing metrics"),
    ("wrong_shape", ContractViolation, "invalid contract document on stdout: curriculum_name"),
    ("two_documents", ContractViolation, r"stdout holds more than one JSON document \(the second starts at"),
    ("flood", ContractViolation, r"printed more than \d+ bytes on stdout \(the capture cap\); output not parsed"),
    ("invalid_json", ContractViolation, r"stdout is not valid JSON \(Expecting property name enclosed in double"),
    ("edit", SessionDataViolation, r"trials\.csv: modified: size \d+ -> \d+ bytes; restored trials\.csv$"),
    ("delete", SessionDataViolation, r"trials\.csv: deleted; restored trials\.csv$"),
    ("replace", SessionDataViolation, r"trials\.csv: modified: size \d+ -> 18 bytes; restored trials\.csv$"),
    ("wipe", SessionDataViolation, r"directory itself was deleted or replaced \(and 4 more\); restored curriculum/"),
    ("outside", SessionDataViolation, r"\.\./escaped\.txt"),
]


@pytest.mark.parametrize(("behaviour", "error", "message"), FAILURES, ids=[f[0] for f in FAILURES])
def test_every_failure_is_typed_recorded_as_skipped_and_leaves_the_session_intact(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path, behaviour: str, error: type, message: str
) -> None:
    enrolled("M1")
    session = make_session(sessions, "M1_s1", session_json={"subject_id": "M1"})
    before = tree_digest(session)
    timeout_s = HANG_TIMEOUT_S if behaviour == "hang" else DEFAULT_TIMEOUT_S  # only "hang" may end in TimedOut
    with pytest.raises(error, match=message) as caught:
        launch(project, session, "M1", store=store_path, timeout_s=timeout_s, environment=program_for(behaviour))
    assert "\n" not in str(caught.value)
    [row] = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "skipped" and row["reason"] == str(caught.value)
    assert row["stage_before"] == "stage_a" and row["input_trainer_state"] == enrollment()
    assert not (session / SUGGESTION_FILE).exists()
    assert json.loads((session / "session.json").read_text()) == {"subject_id": "M1"}
    assert_intact(session, before)
    assert HistoryStore(store_path).latest_trainer_state("M1") == enrollment(), "a skip changes no state"


def test_what_a_curriculum_wrote_is_never_deleted(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    """A restore puts the session's files back; files the run created are reported and left."""
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    with pytest.raises(SessionDataViolation, match=r"\.\./escaped\.txt: new entry") as caught:
        launch(project, session, "M1", store=store_path, environment=program_for("outside"))
    assert (sessions / "escaped.txt").read_text() == "written outside the session"
    assert caught.value.restored == [] and caught.value.not_restored == []


def sparse_video(session: Path) -> Path:
    """A file above the full-hash limit (sampled, hard-linked when preserved); sparse: it costs no disk."""
    video = session / "video.avi"
    with open(video, "wb") as handle:
        handle.write(os.urandom(4096))
        handle.truncate(FULL_HASH_LIMIT + 2**20)
    return video


def test_a_large_file_the_curriculum_deletes_is_restored_from_its_hard_link(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    video = sparse_video(session)
    inode = video.stat().st_ino
    before = tree_digest(session)
    with pytest.raises(SessionDataViolation, match=r"video\.avi: deleted; restored video\.avi$") as caught:
        launch(project, session, "M1", store=store_path, environment=program_for("delete_video"))
    assert caught.value.restored == ["video.avi"]
    assert (video.stat().st_ino, video.stat().st_nlink) == (inode, 1), "the same file, its extra link gone"
    assert_intact(session, before)
    assert HistoryStore(store_path).session_rows("M1")[0]["reason"].endswith("restored video.avi")


def test_an_in_place_write_into_a_large_file_is_reported_not_undone(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    """The documented residual risk: a hard link shares the content an in-place write changes."""
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    sparse_video(session)
    with pytest.raises(SessionDataViolation, match=r"NOT restored: video\.avi: written in place") as caught:
        launch(project, session, "M1", store=store_path, environment=program_for("edit_video"))
    assert caught.value.violations == ["video.avi: modified: content changed"]
    assert (session / "video.avi").read_bytes()[:20] == b"overwritten in place"
    assert not [p for p in sessions.iterdir() if p.name.startswith(".")]


def test_the_preserved_copies_exist_during_the_run_and_go_however_it_ends(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    """Seen next to the session (sealed) while the curriculum hangs; removed after an operator's Ctrl-C."""
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    before = tree_digest(session)
    seen: list[tuple[int, list[str], int]] = []

    def interrupt_once_preserved() -> None:
        deadline = time.monotonic() + 60  # polled: a bound for a broken run, not a speed the test expects
        while time.monotonic() < deadline and not seen:
            for folder in sessions.glob(".M1_s1.curriculum-preserve-*"):
                mode = stat.S_IMODE(folder.stat().st_mode)
                if mode == 0o500:  # sealed: filled, the run is starting
                    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
                    seen.append((mode, files, (folder / PACK_NAME).stat().st_size))
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt_once_preserved)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            launch(project, session, "M1", store=store_path, environment=program_for("hang"))  # Ctrl-C ends it
    finally:
        watcher.join()
    packed = sum((session / name).stat().st_size for name in ("trials.csv", TRAINER_STATE_FILE, HISTORY_FILE))
    expected = [(0o500, sorted([PACK_NAME, SEAL_NAME, MANIFEST_NAME]), packed)]
    assert seen == expected, "the small files, copied into one pack"
    assert_intact(session, before)


def test_run_or_skip_logs_one_line_and_returns_none(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path, caplog: pytest.LogCaptureFixture
) -> None:
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    with caplog.at_level(logging.WARNING, logger="curriculum_contract"):
        assert run_or_skip(project, session, "M1", store=store_path, environment=program_for("fail")) is None
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "\n" not in record.getMessage() and "exited with code 4" in record.getMessage()
    assert HistoryStore(store_path).session_rows("M1")[0]["status"] == "skipped"
    ok = run_or_skip(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert ok is not None and ok.stage_after == "stage_b"


def test_legacy_output_is_accepted_and_marked(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    enrolled("M1")
    session = make_session(sessions, "M1_s1", n_trials=10)
    result = launch(project, session, "M1", store=store_path, dialect="aind", environment=program_for("legacy"))
    assert result.legacy and result.summary is None and result.stage_after == "stage_b"
    assert any("legacy" in w for w in result.warnings)
    assert HistoryStore(store_path).session_rows("M1")[0]["legacy"] is True


def test_a_declared_asset_is_accepted(project: Path, program_for, store_path: Path, enrolled, sessions: Path) -> None:
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    result = launch(project, session, "M1", store=store_path, environment=program_for("asset"))
    assert result.document["assets"] == ["curriculum/plot.txt"]


def test_options_pass_through_and_a_bad_dialect_option_is_an_adapter_error(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    result = launch(
        project, session, "M1", store=store_path, opts={"min_rt": "0.2"}, environment=program_for("opt_echo")
    )
    assert "curriculum: opts=min_rt=0.2" in result.warnings
    with pytest.raises(InvalidArgument, match="AIND dialect has no --opt") as caught:
        launch(project, session, "M1", store=store_path, dialect="aind", opts={"a": "1"}, environment=program_for("ok"))
    assert caught.value.exit_code == 2


def test_a_missing_session_directory_is_recorded(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    with pytest.raises(SessionNotFound, match="does not exist") as caught:
        launch(project, tmp_path / "nope", "M1", store=store_path, environment=program_for("ok"))
    assert isinstance(caught.value, FileNotFoundError) and caught.value.exit_code == 12
    assert HistoryStore(store_path).session_rows("M1")[0]["reason"].startswith("session directory")


def test_a_failing_store_is_raised_not_recorded(project: Path, program_for, tmp_path: Path, sessions: Path) -> None:
    session = make_session(sessions, "M1_s1")
    with pytest.raises(StoreError, match="nowhere"):
        launch(project, session, "M1", store=tmp_path / "nowhere" / "h.sqlite", environment=program_for("ok"))
    assert tree_digest(session) == {"trials.csv": tree_digest(session)["trials.csv"]}


def test_enroll_runs_init_and_stores_the_state(project: Path, program_for, store_path: Path) -> None:
    state = enroll(project, "M1", store=store_path, stage="stage_b", environment=program_for("ok"))
    assert state["stage"]["name"] == "stage_b"
    assert HistoryStore(store_path).latest_trainer_state("M1") == state
    with pytest.raises(ContractViolation, match=r"init: stdout is not valid JSON.*hello, not json"):
        enroll(project, "M2", store=store_path, environment=program_for("junk"))
    assert HistoryStore(store_path).subjects() == ["M1"]


def test_concurrent_launches_for_different_subjects(
    project: Path, program_for, store_path: Path, enrolled, sessions: Path
) -> None:
    """Two processes launch sessions of their own subject at the same time on one store file."""
    for subject in ("A", "B"):
        enrolled(subject)
    program = str(program_for("ok").executable)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    with ctx.Manager() as manager:
        results = manager.dict()

        common = (str(store_path), str(project), program, str(sessions))
        workers = [ctx.Process(target=_launch_worker, args=(results, *common, s, start)) for s in ("A", "B")]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(timeout=180)
        assert [w.exitcode for w in workers] == [0, 0]
        assert dict(results) == {"A": ["stage_a", "stage_b", "stage_b"], "B": ["stage_a", "stage_b", "stage_b"]}
    store = HistoryStore(store_path)
    for subject in ("A", "B"):
        rows = store.session_rows(subject)
        assert [r["status"] for r in rows] == ["ok"] * 3
        assert store.latest_trainer_state(subject)["stage"]["name"] == "stage_b"


def _launch_worker(results, store_file, project, program, root, subject, start) -> None:
    results[subject] = launch_sessions(store_file, project, program, root, subject, 3, start)


# -- end to end: a real curriculum project, a git submodule, uv ----------------------------------------------


@pytest.mark.e2e
def test_end_to_end_with_a_submodule_and_uv(tmp_path: Path) -> None:
    """A task repo pins the curriculum as a submodule; uv bootstraps it once; sessions advance by history."""
    from gitrepos import git, make_task_repo

    upstream = tiny_curriculum_repo(tmp_path / "upstream")
    task = make_task_repo(tmp_path, upstream, "curricula/tiny")
    curriculum = task / "curricula" / "tiny"
    store = tmp_path / "history.sqlite"
    lines: list[str] = []

    state = enroll(curriculum, "M1", store=store, progress=lines.append)
    assert state["stage"]["name"] == "warmup"
    assert lines, "the first bootstrap reports progress"
    bootstrap_lines = len(lines)

    stages = []
    for n, trials in enumerate((8, 9, 3), start=1):
        session = make_session(tmp_path / "sessions", f"M1_2024-05-0{n}", n_trials=trials)
        result = launch(curriculum, session, "M1", store=store, progress=lines.append)
        stages.append((result.stage_before, result.stage_after, result.suggestion.decision.history))
    # Session 1 alone cannot satisfy "in each of the last 2": only the store's history makes session 2 advance.
    assert stages == [("warmup", "warmup", "first_session"), ("warmup", "training", "present"),
                      ("training", "training", "present")]  # fmt: skip
    assert result.provenance.kind == "submodule" and result.provenance.commit == git(upstream, "rev-parse", "HEAD")
    assert len(lines) == bootstrap_lines, "no second uv sync: the launches reported no bootstrap progress"

    (curriculum / "src" / "tiny_curriculum" / "__init__.py").write_text("# edited on the rig\n", encoding="utf-8")
    session = make_session(tmp_path / "sessions", "M1_2024-05-04")
    with pytest.raises(SubmoduleNotReady, match="uncommitted changes"):
        launch(curriculum, session, "M1", store=store)
    frame = HistoryStore(store).history("M1")
    assert list(frame["status"]) == ["ok", "ok", "ok", "skipped"]
    assert frame.loc[3, "reason"].startswith("curriculum submodule curricula/tiny has uncommitted changes")
    assert list(frame["metrics.n_trials"][:3]) == [8, 9, 3]


def test_an_uninitialised_submodule_is_recorded_before_any_run(
    store_path: Path, enrolled, sessions: Path, tmp_path: Path
) -> None:
    """Typed, skipped, session untouched: real git, no bootstrap and no program run."""
    from gitrepos import git, make_curriculum_repo, make_task_repo

    enrolled("M1")
    task = make_task_repo(tmp_path, make_curriculum_repo(tmp_path / "upstream"), "curricula/demo")
    clone = tmp_path / "rig-clone"
    git(tmp_path, "clone", "-q", str(task), str(clone))  # without --recurse-submodules
    session = make_session(sessions, "M1_s1")
    before = tree_digest(session)
    with pytest.raises(SubmoduleNotReady, match="not initialised"):
        launch(clone / "curricula" / "demo", session, "M1", store=store_path)
    assert tree_digest(session) == before
    [row] = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "skipped" and row["reason"].startswith("curriculum submodule curricula/demo of ")
    assert row["provenance"] is None and row["input_trainer_state"] is None


@pytest.mark.e2e
def test_an_environment_uv_cannot_build_is_recorded(store_path: Path, enrolled, sessions: Path, tmp_path: Path) -> None:
    """The real bootstrap (uv) on a broken lockfile: typed, skipped, session untouched."""
    enrolled("M1")
    session = make_session(sessions, "M1_s1")
    before = tree_digest(session)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text('[project]\nname = "broken"\nversion = "0.1.0"\n', encoding="utf-8")
    (broken / "uv.lock").write_text("this is not a lockfile\n", encoding="utf-8")
    with pytest.raises(BootstrapFailed, match="uv sync --frozen"):
        launch(broken, session, "M1", store=store_path, offline=True)
    assert tree_digest(session) == before
    [row] = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "skipped" and row["reason"].startswith("`uv sync --frozen")
    assert row["provenance"]["kind"] == "directory" and row["input_trainer_state"] is None
