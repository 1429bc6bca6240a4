"""What launch does with the session's own special files, symlinks leading outside it, and a failed curriculum's reason.

A FIFO where the adapter reads or writes one of its files (``curriculum/trainer_state.json``,
``curriculum/history.json``, ``curriculum/suggestion.json``, ``session.json``) would block the first
read forever: each launch here runs in a thread with a generous bound (``HANG_BOUND_S``) that only a
hang reaches, and the test asserts it finished. No time is measured otherwise.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from fake_curriculum import enrollment
from fake_runner import FakeRunner, finished, suggests
from launcher_support import make_session

from curriculum_contract.launcher_adapter import SessionFileRefused
from curriculum_contract.launcher_adapter._cli import register
from curriculum_contract.launcher_adapter._errors import ExternalLinkRefused, InvalidArgument, ProcessFailed
from curriculum_contract.launcher_adapter._feed import SESSION_FILES, read_regular
from curriculum_contract.launcher_adapter._launch import launch, run_or_skip
from curriculum_contract.launcher_adapter._process import run_process
from curriculum_contract.launcher_adapter._store import HistoryStore
from curriculum_contract.sdk import HISTORY_FILE, SUGGESTION_FILE, TRAINER_STATE_FILE

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and symlinks are POSIX")

#: Only a hang reaches it; a launch of a tiny session with a fake runner takes well under a second.
HANG_BOUND_S = 60.0
SCRIPTS = Path(__file__).parent / "misbehaving"
NOISY_STDERR = (
    b"loading my_curriculum\nwarning: 3 trials without an outcome\n"
    b"curriculum: error: trials.csv has no 'outcome' column\n"
    b"Traceback (most recent call last):\n  File \"metrics.py\", line 12, in compute\nKeyError: 'outcome'\n"
)


def bounded(call: Callable[[], Any]) -> BaseException | Any:
    """``call()`` in a daemon thread: what it returned or raised; fails the test if it is still blocked."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed back to the test
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_BOUND_S)
    assert not thread.is_alive(), f"still blocked after {HANG_BOUND_S:g} s: it opened a FIFO"
    return outcome[0]


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return make_session(tmp_path / "sessions", "M1_s1", n_trials=10, session_json={"subject_id": "M1"})


def _replace(path: Path, make: Callable[[Path], None]) -> os.stat_result:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    make(path)
    return os.lstat(path)


def _link_to_trials(path: Path) -> None:
    """A symlink to the session's own trials.csv: inside the session, yet not a regular file."""
    session = path.parent.parent if path.parent.name == "curriculum" else path.parent
    os.symlink(os.path.relpath(session / "trials.csv", path.parent), path)


SPECIAL: dict[str, Callable[[Path], None]] = {"fifo": os.mkfifo, "symlink": _link_to_trials, "directory": Path.mkdir}


@pytest.mark.parametrize("rel", SESSION_FILES)
@pytest.mark.parametrize("kind", list(SPECIAL))
def test_a_special_file_where_the_adapter_reads_or_writes_is_refused_untouched_and_recorded(
    project: Path, program_for, store_path: Path, enrolled, session: Path, rel: str, kind: str
) -> None:
    enrolled("M1")
    before = _replace(session / rel, SPECIAL[kind])
    runner = FakeRunner(suggests)

    error = bounded(lambda: launch(project, session, "M1", store=store_path, environment=program_for(), runner=runner))

    assert isinstance(error, SessionFileRefused), error
    assert str(error) == f"{session / rel} is a {kind}, not a regular file: not opened"
    assert error.exit_code == 13 and error.path == str(session / rel)
    after = os.lstat(session / rel)
    assert (after.st_mode, after.st_ino, after.st_mtime_ns) == (before.st_mode, before.st_ino, before.st_mtime_ns)
    assert runner.calls == [], "nothing ran"
    for written in (TRAINER_STATE_FILE, HISTORY_FILE, SUGGESTION_FILE):
        assert written == rel or not os.path.lexists(session / written), f"{written} was written into the session"
    [row] = HistoryStore(store_path).session_rows("M1")
    assert (row["status"], row["reason"]) == ("skipped", str(error))
    assert [p.name for p in session.parent.iterdir() if p.name.startswith(".")] == [], "a preserve folder was left"


def test_read_regular_never_opens_a_fifo_nor_follows_a_symlink(tmp_path: Path) -> None:
    """The reads check what they opened: a file swapped for a FIFO after the up-front check cannot hang them."""
    (tmp_path / "plain.json").write_bytes(b"{}")
    os.mkfifo(tmp_path / "pipe.json")
    os.symlink("plain.json", tmp_path / "link.json")
    assert read_regular(tmp_path / "plain.json") == b"{}"
    fifo = bounded(lambda: read_regular(tmp_path / "pipe.json"))
    assert isinstance(fifo, SessionFileRefused) and fifo.kind == "fifo", fifo
    link = bounded(lambda: read_regular(tmp_path / "link.json"))
    assert isinstance(link, SessionFileRefused) and link.kind == "symlink", link
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe.json").st_mode)


@pytest.fixture
def linked_session(session: Path) -> Path:
    """A session holding a symlink to a calibration file outside it."""
    rig = session.parent.parent / "rig"
    rig.mkdir()
    (rig / "calibration.json").write_text('{"gain": 2}\n')
    os.symlink(rig / "calibration.json", session / "calibration.json")
    return session


def test_a_link_leading_outside_is_refused_before_anything_is_written(
    project: Path, program_for, store_path: Path, enrolled, linked_session: Path
) -> None:
    enrolled("M1")
    runner = FakeRunner(suggests)
    listing = sorted(p.name for p in linked_session.iterdir())
    with pytest.raises(ExternalLinkRefused, match=r"calibration.json -> .*rig/calibration.json") as caught:
        launch(project, linked_session, "M1", store=store_path, environment=program_for(), runner=runner)
    assert caught.value.exit_code == 13
    assert runner.calls == []
    assert sorted(p.name for p in linked_session.iterdir()) == listing, "the refused session got something written"
    [row] = HistoryStore(store_path).session_rows("M1")
    assert (row["status"], row["reason"]) == ("skipped", str(caught.value))
    skipped = run_or_skip(project, linked_session, "M1", store=store_path, environment=program_for(), runner=runner)
    assert skipped is None and runner.calls == []


def test_guarding_the_links_runs_the_curriculum(
    project: Path, program_for, store_path: Path, enrolled, linked_session: Path
) -> None:
    enrolled("M1")
    runner = FakeRunner(suggests)
    result = launch(
        project, linked_session, "M1", store=store_path, environment=program_for(), runner=runner,
        external_links="guard",
    )  # fmt: skip
    assert len(runner.calls) == 1 and result.stage_after == "stage_b"
    assert (linked_session / SUGGESTION_FILE).is_file()
    assert os.path.islink(linked_session / "calibration.json")


def test_an_unknown_external_links_mode_is_an_invalid_argument(
    project: Path, program_for, store_path: Path, session: Path
) -> None:
    with pytest.raises(InvalidArgument, match="external_links must be 'refuse' or 'guard', not 'follow'"):
        launch(project, session, "M1", store=store_path, environment=program_for(), external_links="follow")  # type: ignore[arg-type]
    assert not store_path.exists(), "refused before the store is opened"


def test_the_launch_command_refuses_external_links_with_exit_13_unless_told_to_guard(
    tmp_path: Path, store_path: Path, enrolled, linked_session: Path
) -> None:
    enrolled("M1")
    group = click.Group("curriculum-contract")
    register(group)
    missing = tmp_path / "no-curriculum-here"  # the refusal comes first; guarding gets as far as locating it
    args = ["launch", "--curriculum", str(missing), "--session", str(linked_session), "--subject", "M1"]
    args += ["--store", str(store_path)]

    refused = CliRunner().invoke(group, args, catch_exceptions=False)
    assert refused.exit_code == 13, refused.output
    assert "holds a symlink pointing outside it: calibration.json ->" in refused.stderr
    guarded = CliRunner().invoke(group, [*args, "--external-links", "guard"], catch_exceptions=False)
    assert guarded.exit_code == 3, guarded.output  # CurriculumNotFound: the links did not stop it
    shown = CliRunner().invoke(group, ["launch", "--help"], catch_exceptions=False).stdout
    assert "--external-links [refuse|guard]" in shown and "guarded, preserved and restored" in " ".join(shown.split())


def test_the_reason_of_a_failed_curriculum_is_its_curriculum_error_line(
    project: Path, program_for, store_path: Path, enrolled, session: Path
) -> None:
    """Its own prints come before the SDK's reason line, a traceback after it: the reason is that line."""
    enrolled("M1")
    runner = FakeRunner(lambda call: finished(call, exit_code=3, stderr=NOISY_STDERR))
    with pytest.raises(ProcessFailed) as caught:
        launch(project, session, "M1", store=store_path, environment=program_for(), runner=runner)
    assert str(caught.value).endswith("exited with code 3: trials.csv has no 'outcome' column"), caught.value
    assert caught.value.stderr_tail.endswith("KeyError: 'outcome'\n"), "the traceback is kept as details"
    [row] = HistoryStore(store_path).session_rows("M1")
    assert row["reason"] == str(caught.value)
    assert HistoryStore(store_path).latest_trainer_state("M1") == enrollment()


def test_the_reason_line_of_a_real_process_and_the_fallbacks(tmp_path: Path) -> None:
    result = run_process([sys.executable, str(SCRIPTS / "reason_then_traceback.py")], cwd=tmp_path, timeout_s=120)
    assert result.exit_code == 3
    contract = ProcessFailed.from_result(result)
    assert str(contract).endswith("exited with code 3: trials.csv has no 'outcome' column"), contract
    assert ProcessFailed.from_result(result, dialect="aind").reason.endswith(": KeyError: 'outcome'")
    no_prefix = finished_result(b"computing...\nValueError: bad\n\n")
    assert ProcessFailed.from_result(no_prefix).reason.endswith("exited with code 3: ValueError: bad")
    empty_reason = finished_result(b"curriculum: error: \nValueError: bad\n")
    assert ProcessFailed.from_result(empty_reason).reason.endswith(": ValueError: bad")
    not_at_line_start = finished_result(b"said curriculum: error: nope\nValueError: bad\n")
    assert ProcessFailed.from_result(not_at_line_start).reason.endswith(": ValueError: bad")


def finished_result(stderr: bytes) -> Any:
    from fake_runner import Call

    return finished(Call(["/bin/curriculum", "run"], Path("."), 1.0, {}), exit_code=3, stderr=stderr)
