"""The session guard keeps its word on the faults users reproduced: each test damages a real session (a
real process does it where a curriculum would), checks that the guard flags it and not a clean run, and
that after check + restore the session and any outside target are byte- and mode-identical."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from curriculum_contract.launcher_adapter._errors import AdapterError, ExternalLinkRefused, SessionDataViolation
from curriculum_contract.launcher_adapter._fingerprint import Limits, fingerprint
from curriculum_contract.launcher_adapter._guard import SessionSnapshot
from curriculum_contract.launcher_adapter._launch import DEFAULT_TIMEOUT_S
from curriculum_contract.launcher_adapter._links import refuse_external_links
from curriculum_contract.launcher_adapter._preserve import (
    MANIFEST_NAME,
    PRESERVE_INFIX,
    Preserved,
    preserve,
    preserve_session,
)
from curriculum_contract.launcher_adapter._process import run_process
from curriculum_contract.launcher_adapter._recover import recover_session

#: A bound for tests ABOUT hanging only: generous, so a busy machine never trips it; a hang never ends.
HANG_BOUND_S = 60.0
SMALL = Limits(full_hash_limit=4096, sample_blocks=11, block_size=64)  # "large" files stay tiny


def tree_state(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every entry below ``root`` without following symlinks: (kind, permission bits, content or target)."""
    state: dict[str, tuple[str, int, str]] = {}
    if not os.path.lexists(root):
        return state
    for path in [root, *sorted(root.rglob("*"))]:
        st = os.lstat(path)
        rel = path.relative_to(root).as_posix()
        if stat.S_ISLNK(st.st_mode):
            state[rel] = ("symlink", 0, os.readlink(path))
        elif stat.S_ISREG(st.st_mode):
            state[rel] = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(path.read_bytes()).hexdigest())
        elif stat.S_ISDIR(st.st_mode):
            state[rel] = ("directory", stat.S_IMODE(st.st_mode), "")
        else:
            state[rel] = ("special", stat.S_IMODE(st.st_mode), stat.filemode(st.st_mode)[0])
    return state


def as_curriculum(session: Path, code: str) -> None:
    """Run ``code`` in a real process with the session as its working directory, as a curriculum runs."""
    result = run_process([sys.executable, "-c", code], cwd=session, timeout_s=DEFAULT_TIMEOUT_S)
    assert result.exit_code == 0, result.stderr


def finishes(function: Callable[[], object], bound_s: float = HANG_BOUND_S) -> bool:
    """Whether ``function`` returns (or raises) within ``bound_s``, run on a daemon thread."""
    done = threading.Event()

    def run() -> None:
        try:
            function()
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(bound_s)


@pytest.fixture
def session(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "M1_s1"
    (root / "behavior").mkdir(parents=True)
    (root / "trials.csv").write_text("trial,outcome\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    (root / "session.json").write_text('{"subject": "M1"}\n')
    (root / "behavior" / "events.bin").write_bytes(bytes(range(256)) * 8)
    os.chmod(root / "session.json", 0o640)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A rig's calibration folder outside the session: a file, a nested folder, a 'large' file."""
    rig = tmp_path / "rig"
    (rig / "calibration" / "history").mkdir(parents=True)
    (rig / "calibration" / "water.json").write_text('{"ul_per_ms": 0.021}\n')
    (rig / "calibration" / "history" / "2024-05.json").write_text('{"ul_per_ms": 0.020}\n')
    (rig / "calibration" / "camera.lut").write_bytes(os.urandom(20_000))  # above SMALL's limit: hard-linked
    (rig / "rig.json").write_text('{"rig": "rig-3"}\n')
    os.chmod(rig / "rig.json", 0o600)
    return rig


def guard_and_check(
    session: Path, damage: Callable[[], None], *, one_pass: bool = True, **take: object
) -> SessionDataViolation | None:
    """Snapshot + preserve (in one pass, or in two steps as launch does), ``damage``, check with restore."""
    options: dict[str, Any] = take
    steps = preserve_session(session, **options) if one_pass else preserve(SessionSnapshot.take(session, **options))
    with steps as preserved:
        damage()
        try:
            preserved.snapshot.check(preserved=preserved)
        except SessionDataViolation as error:
            return error
    return None


def test_tree_state_sees_content_modes_types_and_link_targets(session: Path) -> None:
    """The checker the tests below rely on, proved against each kind of difference."""
    before = tree_state(session)
    changes: list[Callable[[], object]] = [
        lambda: (session / "trials.csv").write_text("trial\n"),
        lambda: os.chmod(session / "session.json", 0o644),
        lambda: os.symlink("trials.csv", session / "link"),
        lambda: (os.unlink(session / "link"), os.symlink("session.json", session / "link")),
        lambda: (os.unlink(session / "link"), os.mkfifo(session / "link")),
    ]
    for change in changes:
        change()
        after = tree_state(session)
        assert after != before
        before = after


# -- 1. symlinks the session already holds, pointing outside it ---------------------------------------------


def test_a_session_with_a_symlink_pointing_outside_is_refused_by_default(session: Path, outside: Path) -> None:
    os.symlink(outside / "rig.json", session / "rig.json")
    with pytest.raises(ExternalLinkRefused) as caught:
        SessionSnapshot.take(session)
    assert isinstance(caught.value, AdapterError) and "\n" not in str(caught.value)
    assert caught.value.links == [("rig.json", str(outside / "rig.json"))]
    assert f"holds a symlink pointing outside it: rig.json -> {outside / 'rig.json'}" in str(caught.value)
    with pytest.raises(ExternalLinkRefused):
        preserve_session(session).__enter__()
    assert not [p for p in session.parent.iterdir() if PRESERVE_INFIX in p.name], "no folder left behind"


def test_symlinks_inside_the_session_are_not_refused(session: Path) -> None:
    os.symlink("trials.csv", session / "latest.csv")
    os.symlink("../trials.csv", session / "behavior" / "trials.csv")
    assert SessionSnapshot.take(session).violations() == []
    refuse_external_links(session)  # the launcher's early check agrees


def test_the_early_check_refuses_before_anything_is_written(session: Path, outside: Path) -> None:
    os.symlink(outside / "calibration", session / "calibration")
    before = tree_state(session)
    with pytest.raises(ExternalLinkRefused, match=r"calibration -> .*rig/calibration"):
        refuse_external_links(session)
    assert tree_state(session) == before


def test_a_chain_of_links_leaving_the_session_at_any_hop_is_refused(session: Path, tmp_path: Path) -> None:
    os.symlink(session / "trials.csv", tmp_path / "hop")  # back inside, but through a link outside
    os.symlink(tmp_path / "hop", session / "via_hop")
    with pytest.raises(ExternalLinkRefused, match="via_hop"):
        SessionSnapshot.take(session)


@pytest.mark.parametrize("one_pass", [True, False], ids=["one pass", "two steps"])
def test_a_write_through_a_guarded_link_to_a_file_is_caught_and_undone(
    session: Path, outside: Path, one_pass: bool
) -> None:
    os.symlink(outside / "rig.json", session / "rig.json")
    before, rig_before = tree_state(session), tree_state(outside)
    assert guard_and_check(session, lambda: None, one_pass=one_pass, external_links="guard") is None, "clean passes"
    write = "open('rig.json', 'w').write('{}')"
    error = guard_and_check(session, lambda: as_curriculum(session, write), one_pass=one_pass, external_links="guard")
    assert error is not None
    target = outside / "rig.json"
    assert error.violations == [f"{target} (via rig.json): modified: size 17 -> 2 bytes"]
    assert error.restored == [str(target)]
    assert tree_state(session) == before and tree_state(outside) == rig_before


def test_a_linked_directory_walked_and_emptied_is_put_back(session: Path, outside: Path) -> None:
    """The curriculum follows the link, deletes every file below it, and truncates the large one first."""
    os.symlink(outside / "calibration", session / "calibration")
    before, rig_before = tree_state(session), tree_state(outside)
    wipe = (
        "import os\n"
        "for folder, _, names in os.walk('calibration', followlinks=True):\n"
        "    for name in names:\n"
        "        os.unlink(os.path.join(folder, name))\n"
        "os.rmdir('calibration/history')\n"
    )
    error = guard_and_check(session, lambda: as_curriculum(session, wipe), external_links="guard", **vars_of(SMALL))
    assert error is not None
    calibration = outside / "calibration"
    assert error.violations == [
        f"{calibration}/camera.lut (via calibration/camera.lut): deleted",
        f"{calibration}/history/2024-05.json (via calibration/history/2024-05.json): deleted",
        f"{calibration}/water.json (via calibration/water.json): deleted",
    ]
    assert error.not_restored == []
    assert tree_state(session) == before and tree_state(outside) == rig_before


def test_a_large_outside_file_truncated_in_place_is_caught_not_undone(session: Path, outside: Path) -> None:
    """The documented residual risk holds outside too: a hard link shares what an in-place write changes."""
    os.symlink(outside / "calibration" / "camera.lut", session / "camera.lut")
    error = guard_and_check(
        session, lambda: as_curriculum(session, "open('camera.lut', 'w')"), external_links="guard", **vars_of(SMALL)
    )
    assert error is not None and error.violations[0].endswith("modified: size 20000 -> 0 bytes")
    assert error.not_restored[0].endswith("written in place: its preserved hard link is the same file")


def test_a_write_through_a_dangling_link_is_reported(session: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "not-yet.txt", session / "notes.txt")
    error = guard_and_check(session, lambda: as_curriculum(session, "open('notes.txt', 'w')"), external_links="guard")
    assert error is not None
    assert error.violations == [
        f"{tmp_path / 'not-yet.txt'} (via notes.txt): new file outside the session, written through the link"
    ]
    assert (tmp_path / "not-yet.txt").exists(), "files the run created are never deleted"


def test_a_link_to_a_folder_holding_the_session_is_refused_even_when_guarding(session: Path) -> None:
    os.symlink("..", session / "up")
    with pytest.raises(ExternalLinkRefused, match="its target contains the session directory"):
        SessionSnapshot.take(session, external_links="guard")


def vars_of(limits: Limits) -> dict[str, int]:
    return {"full_hash_limit": limits.full_hash_limit, "block_size": limits.block_size}


# -- 2. modes ----------------------------------------------------------------------------------------------


def test_mode_changes_are_caught_and_put_back(session: Path) -> None:
    before = tree_state(session)
    assert guard_and_check(session, lambda: None) is None
    damage = "import os; os.chmod('trials.csv', 0); os.chmod('behavior', 0o700); os.chmod('.', 0o750)"
    error = guard_and_check(session, lambda: as_curriculum(session, damage))
    assert error is not None
    assert error.violations == [
        "the session directory: mode 0755 -> 0750",
        "behavior: mode 0755 -> 0700",
        "trials.csv: mode 0644 -> 0000",
    ]
    assert error.restored == [".", "behavior", "trials.csv"]
    assert tree_state(session) == before


def test_a_mode_change_with_a_content_change_restores_both(session: Path) -> None:
    before = tree_state(session)
    damage = "import os; open('session.json', 'r+').write('X'); os.chmod('session.json', 0o666)"
    error = guard_and_check(session, lambda: as_curriculum(session, damage))
    assert error is not None
    assert error.violations == ["session.json: mode 0640 -> 0666", "session.json: modified: content changed"]
    assert tree_state(session) == before


UNREADABLE_CHECK = """
import json, os, sys
from curriculum_contract.launcher_adapter._errors import SessionDataViolation
from curriculum_contract.launcher_adapter._preserve import preserve_session
session = sys.argv[1]
with preserve_session(session) as preserved:
    os.chmod(os.path.join(session, "trials.csv"), 0)
    os.chmod(os.path.join(session, "behavior"), 0)
    try:
        preserved.snapshot.check(preserved=preserved)
        print(json.dumps(None))
    except SessionDataViolation as error:
        print(json.dumps([error.violations, error.restored, error.not_restored]))
"""


def without_permission_override() -> None:
    """In a child of root: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so permission bits bind it."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: lost at the exec that follows
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_files_and_folders_made_unreadable_do_not_crash_the_check(session: Path) -> None:
    """Permission bits bind only a process that cannot override them: run the guard as one."""
    import json

    before = tree_state(session)
    try:
        result = subprocess.run(
            [sys.executable, "-c", UNREADABLE_CHECK, str(session)],
            capture_output=True,
            text=True,
            timeout=DEFAULT_TIMEOUT_S,
            check=False,
            preexec_fn=without_permission_override if os.geteuid() == 0 else None,
        )
    except subprocess.SubprocessError as error:
        pytest.skip(f"cannot run a child without the permission override: {error}")
    assert result.returncode == 0, result.stderr
    violations, restored, not_restored = json.loads(result.stdout)
    assert violations == [
        "behavior: cannot be listed after the run (Permission denied)",
        "behavior: mode 0755 -> 0000",
        "trials.csv: mode 0644 -> 0000",
    ]
    assert restored == ["behavior", "trials.csv"] and not_restored == []
    assert tree_state(session) == before


def test_the_unreadable_check_runs_where_permission_bits_bind(session: Path) -> None:
    """The checker's premise, proved: in that child a file with mode 000 cannot be read."""
    os.chmod(session / "trials.csv", 0)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; open(sys.argv[1]).read()", str(session / "trials.csv")],
        capture_output=True,
        text=True,
        timeout=DEFAULT_TIMEOUT_S,
        check=False,
        preexec_fn=without_permission_override if os.geteuid() == 0 else None,
    )
    assert result.returncode == 1 and "PermissionError" in result.stderr


# -- 3. special files --------------------------------------------------------------------------------------


def test_a_session_holding_a_fifo_is_guarded_without_hanging(session: Path) -> None:
    os.mkfifo(session / "events.pipe", 0o600)
    before = tree_state(session)
    outcome: list[object] = []
    assert finishes(lambda: outcome.append(guard_and_check(session, lambda: None))), "the guard hung on a FIFO"
    assert outcome == [None] and tree_state(session) == before
    snapshot = SessionSnapshot.take(session)
    assert (snapshot.entries["events.pipe"].kind, snapshot.entries["events.pipe"].digest) == ("fifo", "")


def test_the_hang_checker_catches_a_hang(session: Path) -> None:
    """Opening a FIFO to read it blocks until a writer comes: what the guard must never do."""
    fifo = session / "events.pipe"
    os.mkfifo(fifo)
    assert not finishes(lambda: fifo.read_bytes(), bound_s=0.5), "a blocked open never finishes"
    with open(fifo, "wb"):  # releases the reader
        pass


def test_a_fifo_taking_a_files_place_after_the_walk_is_never_opened_blocking(session: Path) -> None:
    """The race: lstat saw a regular file, then a FIFO replaced it; the read must neither block nor be trusted."""
    path = session / "trials.csv"
    was_a_file = os.lstat(path)
    path.unlink()
    os.mkfifo(path)
    result: list[object] = []
    assert finishes(lambda: result.append(fingerprint(str(path), was_a_file, Limits())))
    entry, _ = result[0]  # type: ignore[misc]
    assert not entry.readable and "replaced by a fifo" in entry.digest


def test_a_special_file_the_curriculum_creates_is_a_violation(session: Path) -> None:
    error = guard_and_check(
        session, lambda: as_curriculum(session, "import os; os.makedirs('curriculum'); os.mkfifo('curriculum/q')")
    )
    assert error is not None and error.violations == ["curriculum/q: new fifo (a special file) in the session"]
    snapshot = SessionSnapshot.take(session)
    as_curriculum(session, "import os; open('curriculum/plot.png', 'wb'); os.mkfifo('curriculum/q2')")
    assert snapshot.violations(declared_assets=["curriculum"]) == [
        "curriculum/q2: new fifo (a special file) in the session"
    ], "not even inside a declared asset folder"


def test_a_deleted_or_changed_fifo_is_put_back(session: Path) -> None:
    os.mkfifo(session / "events.pipe", 0o640)
    before = tree_state(session)
    error = guard_and_check(session, lambda: as_curriculum(session, "import os; os.chmod('events.pipe', 0o666)"))
    assert error is not None and error.violations == ["events.pipe: mode 0640 -> 0666"]
    assert tree_state(session) == before
    error = guard_and_check(session, lambda: as_curriculum(session, "import os; os.unlink('events.pipe')"))
    assert error is not None and error.violations == ["events.pipe: deleted"] and error.restored == ["events.pipe"]
    assert tree_state(session) == before


# -- 4. big sessions: the fast path reads each file once and keeps every promise ---------------------------


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "M2_s1"
    rng = __import__("random").Random(3)
    for i in range(1200):
        folder = root / f"block_{i // 40:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"e{i:04d}.csv").write_bytes(rng.randbytes(rng.randint(1, 3000)))
    return root


def test_each_file_is_read_once_to_snapshot_and_preserve_and_once_to_check(
    many_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).startswith(str(many_files) + "/"):
            opened.append(str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", counting_open)
    with preserve_session(many_files) as preserved:
        assert len(opened) == 1200 and len(set(opened)) == 1200, "snapshot and pack: one read per file"
        assert preserved.summary()["packed"] == 1200
        preserved.snapshot.check(preserved=preserved)
    assert len(opened) == 2400 and len(set(opened)) == 1200, "and one more to check"


def test_a_pack_changed_during_the_run_is_not_trusted_for_the_comparison(many_files: Path) -> None:
    """Bytes compared with the pack only while it is as sealed: a run (root) that edits a file and its
    packed copy alike is still caught, by the hash, and the copy is not restored."""
    with preserve_session(many_files) as preserved:
        offset, size = preserved.packed["block_00/e0000.csv"]
        assert preserved.pack is not None and size > 0
        forged = b"~" * size
        (many_files / "block_00" / "e0000.csv").write_bytes(forged)
        with open(preserved.pack, "r+b") as pack:  # root ignores the read-only mode
            pack.seek(offset)
            pack.write(forged)
        with pytest.raises(SessionDataViolation) as caught:
            preserved.snapshot.check(preserved=preserved)
    assert caught.value.violations == ["block_00/e0000.csv: modified: content changed"]
    assert caught.value.not_restored == ["block_00/e0000.csv: its preserved copy changed too"]


def test_damage_spread_over_a_big_session_is_found_exactly_and_undone(many_files: Path) -> None:
    before = tree_state(many_files)
    damage = (
        "import os\n"
        "os.unlink('block_03/e0125.csv')\n"
        "st = os.stat('block_17/e0690.csv')\n"
        "with open('block_17/e0690.csv', 'r+b') as f: f.write(b'~')\n"
        "os.utime('block_17/e0690.csv', ns=(st.st_atime_ns, st.st_mtime_ns))\n"
        "open('block_29/e1199.csv', 'w').close()\n"
    )
    error = guard_and_check(many_files, lambda: as_curriculum(many_files, damage))
    assert error is not None
    size = len(before["block_29/e1199.csv"]) and (many_files / "block_29").exists()
    assert error.violations[0] == "block_03/e0125.csv: deleted"
    assert error.violations[1] == "block_17/e0690.csv: modified: content changed"
    assert error.violations[2].startswith("block_29/e1199.csv: modified: size ") and size
    assert error.restored == ["block_03/e0125.csv", "block_17/e0690.csv", "block_29/e1199.csv"]
    assert tree_state(many_files) == before


# -- 5. a launcher killed outright: the preserve folder it leaves is used -----------------------------------

HOLD_PRESERVED = """
import sys, time
from curriculum_contract.launcher_adapter._preserve import Preserved
Preserved.take(sys.argv[1], full_hash_limit=4096, block_size=64)
print("preserved", flush=True)
time.sleep(600)
"""


def preserving_launcher(session: Path) -> subprocess.Popen[str]:
    """A process that preserves the session as a launch does, then waits (to be killed, as a crash)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_PRESERVED, str(session)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    if child.stdout.readline() != "preserved\n":
        child.kill()
        _, stderr = child.communicate(timeout=DEFAULT_TIMEOUT_S)
        pytest.fail(f"the preserving process failed: {stderr}")
    return child


def kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL, as a crash: nothing of the process runs after it (no cleanup, no ``finally``)."""
    child.send_signal(signal.SIGKILL)
    child.wait(DEFAULT_TIMEOUT_S)
    for stream in (child.stdout, child.stderr):
        assert stream is not None
        stream.close()


def leftovers(session: Path) -> list[Path]:
    return [p for p in session.parent.iterdir() if p.name.startswith(f".{session.name}{PRESERVE_INFIX}")]


def test_a_killed_launchers_folder_restores_the_session_and_goes(session: Path) -> None:
    (session / "video.avi").write_bytes(os.urandom(10_000))  # above the child's 4 KiB limit: hard-linked
    before = tree_state(session)
    kill(preserving_launcher(session))
    [folder] = leftovers(session)
    assert (folder / MANIFEST_NAME).is_file(), "the snapshot was written before the run"
    damage = (
        "import os, shutil\n"
        "os.unlink('trials.csv'); os.unlink('video.avi'); os.chmod('session.json', 0o600)\n"
        "open('behavior/events.bin', 'r+b').write(b'X')\n"
        "open('curriculum-output.txt', 'w').write('left by the crashed run')\n"
    )
    as_curriculum(session, damage)
    report = recover_session(session)
    assert report.found == [folder] and report.removed == [folder] and report.kept == []
    assert report.restored == ["behavior/events.bin", "session.json", "trials.csv", "video.avi"]
    assert "curriculum-output.txt: new file that is not a declared asset" in report.violations
    assert report.not_restored == [] and not report.clean
    assert "restored behavior/events.bin, session.json, trials.csv (and 1 more)" in report.summary()
    after = tree_state(session)
    assert after.pop("curriculum-output.txt")[0] == "file", "what the run wrote is left"
    assert after == before and leftovers(session) == []
    assert recover_session(session).summary() == f"nothing to recover for {session}"


def test_a_folder_a_live_launch_holds_is_left_alone(session: Path) -> None:
    child = preserving_launcher(session)
    try:
        (session / "trials.csv").unlink()
        report = recover_session(session)
        assert report.kept == [f"{report.found[0]}: in use by a running launch"] and report.restored == []
        assert not (session / "trials.csv").exists()
    finally:
        kill(child)
    assert recover_session(session).restored == ["trials.csv"]


def test_a_folder_without_a_snapshot_is_removed_untouched(session: Path) -> None:
    before = tree_state(session)
    folder = session.parent / f".{session.name}{PRESERVE_INFIX}deadbeef"
    folder.mkdir()
    (folder / "small-files.pack").write_bytes(b"partial")  # killed while packing: no run had started
    report = recover_session(session)
    assert report.removed == [folder] and report.clean and tree_state(session) == before


def test_two_leftovers_restore_the_oldest_state(session: Path) -> None:
    """A second crashed launch snapshotted a session the first had damaged: the older snapshot wins."""
    before = tree_state(session)
    Preserved.take(session).release()  # crash 1: the folder stays
    (session / "trials.csv").write_text("damaged by the first run\n")
    Preserved.take(session).release()  # crash 2: snapshots the damage
    (session / "trials.csv").unlink()
    report = recover_session(session)
    assert len(report.found) == 2 and len(report.removed) == 2
    assert tree_state(session) == before


def test_a_session_the_crashed_run_deleted_whole_comes_back(session: Path) -> None:
    os.symlink("trials.csv", session / "latest.csv")
    os.mkfifo(session / "events.pipe", 0o600)
    os.chmod(session / "behavior", 0o750)
    before = tree_state(session)
    Preserved.take(session).release()  # the crash
    as_curriculum(session.parent, f"import shutil; shutil.rmtree({str(session)!r})")
    report = recover_session(session)
    assert report.violations[0] == "the session directory itself was deleted or replaced"
    assert report.restored == ["behavior/events.bin", "events.pipe", "latest.csv", "session.json", "trials.csv"]
    assert tree_state(session) == before and leftovers(session) == []
