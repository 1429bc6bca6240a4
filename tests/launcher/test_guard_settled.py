"""Settled files: packed without a hash, and not read again when their change time says they were not written.

A file whose change time lies ``SETTLED_NS`` before the snapshot is trusted by its change time, which no
process can set: each test makes its files, waits past a short ``SETTLED_NS`` (far above a clock tick),
and damages the session the way a curriculum would, in a real process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_guard_faults import as_curriculum, tree_state

from curriculum_contract.launcher_adapter._errors import SessionDataViolation
from curriculum_contract.launcher_adapter._fingerprint import PACKED
from curriculum_contract.launcher_adapter._guard import SessionSnapshot
from curriculum_contract.launcher_adapter._preserve import PRESERVE_INFIX, SEAL_NAME, preserve_session
from curriculum_contract.launcher_adapter._recover import recover_session

SETTLE_NS = 50_000_000  # 50 ms: many clock ticks


@pytest.fixture
def settled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A session of small files, all changed more than ``SETTLE_NS`` before the test goes on."""
    monkeypatch.setattr("curriculum_contract.launcher_adapter._fingerprint.SETTLED_NS", SETTLE_NS)
    session = tmp_path / "data" / "M1_s1"
    (session / "behavior").mkdir(parents=True)
    for i in range(40):
        (session / "behavior" / f"events_{i:02d}.csv").write_bytes(f"{i},".encode() * (50 + i))
    (session / "session.json").write_text('{"subject_id": "M1"}\n')
    time.sleep(3 * SETTLE_NS / 1e9)
    return session


EDIT_KEEPING_MTIME = (
    "import os\n"
    "st = os.stat('behavior/events_07.csv')\n"
    "with open('behavior/events_07.csv', 'r+b') as f: f.write(b'~')\n"
    "os.utime('behavior/events_07.csv', ns=(st.st_atime_ns, st.st_mtime_ns))\n"
)


def test_settled_files_are_packed_unhashed_and_an_edit_that_restores_the_mtime_is_caught_and_undone(
    settled: Path,
) -> None:
    before = tree_state(settled)
    with preserve_session(settled) as preserved:
        assert all(entry.digest.startswith(PACKED) for entry in preserved.snapshot.entries.values())
        assert len(preserved.packed) == 41
        as_curriculum(settled, EDIT_KEEPING_MTIME)
        with pytest.raises(SessionDataViolation) as caught:
            preserved.snapshot.check(preserved=preserved)
    assert caught.value.violations == ["behavior/events_07.csv: modified: content changed"]
    assert caught.value.restored == ["behavior/events_07.csv"]
    assert tree_state(settled) == before


def test_a_settled_file_touched_but_unchanged_is_no_violation(settled: Path) -> None:
    touch = (
        "import os\n"
        "st = os.stat('session.json')\n"
        "os.utime('session.json', ns=(st.st_atime_ns, st.st_mtime_ns))\n"  # same times: only ctime moves
        "os.chmod('behavior/events_00.csv', 0o600); os.chmod('behavior/events_00.csv', st.st_mode & 0o777)\n"
    )
    with preserve_session(settled) as preserved:
        as_curriculum(settled, touch)
        assert os.lstat(settled / "session.json").st_ctime_ns != preserved.snapshot.entries["session.json"].ctime_ns
        preserved.snapshot.check(preserved=preserved)


def test_a_file_changed_just_before_the_snapshot_is_hashed(settled: Path) -> None:
    (settled / "trials.csv").write_text("trial,choice\n1,1\n")  # newer than SETTLED_NS: its ctime cannot tell
    with preserve_session(settled) as preserved:
        entries = preserved.snapshot.entries
        assert not entries["trials.csv"].digest.startswith(PACKED) and entries["session.json"].digest.startswith(PACKED)
        assert SessionSnapshot.take(settled).entries["trials.csv"].digest == entries["trials.csv"].digest


def test_a_settled_edit_with_a_forged_pack_cannot_be_told_and_is_not_restored(settled: Path) -> None:
    """The pack is the only reference of a settled file: once it changed (root), an edit is reported, not undone."""
    with preserve_session(settled) as preserved:
        offset, _ = preserved.packed["behavior/events_07.csv"]
        assert preserved.pack is not None
        as_curriculum(settled, EDIT_KEEPING_MTIME)
        with open(preserved.pack, "r+b") as pack:  # root ignores the read-only mode
            pack.seek(offset)
            pack.write(b"~")
        with pytest.raises(SessionDataViolation) as caught:
            preserved.snapshot.check(preserved=preserved)
    (line,) = caught.value.violations
    assert line == (
        "behavior/events_07.csv: changed since the snapshot, and its preserved copy too: "
        "cannot tell whether its content did"
    )
    assert caught.value.not_restored == ["behavior/events_07.csv: its preserved copy changed too"]


HOLD_PRESERVED = (
    "import sys, time\n"
    "from curriculum_contract.launcher_adapter import _fingerprint\n"
    "from curriculum_contract.launcher_adapter._preserve import preserve_session\n"
    f"_fingerprint.SETTLED_NS = {SETTLE_NS}\n"
    "with preserve_session(sys.argv[1]) as preserved:\n"
    "    assert preserved.snapshot.entries['session.json'].digest.startswith(_fingerprint.PACKED)\n"
    "    print('sealed', flush=True)\n"
    "    time.sleep(600)\n"
)


def test_a_launcher_killed_while_holding_settled_copies_is_recovered_from_its_sealed_pack(settled: Path) -> None:
    """A real ``kill -9`` of a process holding the preserved copies, damage, then recovery from the folder."""
    before = tree_state(settled)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_PRESERVED, str(settled)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "sealed\n"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    (folder,) = [p for p in settled.parent.iterdir() if PRESERVE_INFIX in p.name]
    as_curriculum(settled, EDIT_KEEPING_MTIME + "os.unlink('session.json')\n")
    report = recover_session(settled)
    assert report.violations == ["behavior/events_07.csv: modified: content changed", "session.json: deleted"]
    assert sorted(report.restored) == ["behavior/events_07.csv", "session.json"], report
    assert not report.not_restored and not folder.exists()
    assert tree_state(settled) == before


def test_a_pack_whose_bytes_never_reached_the_disk_is_not_restored_from(settled: Path) -> None:
    """After a power loss the pack's metadata may be there and its bytes not: the CRC of each settled
    file tells, and such a copy is reported, never written over the session (the seal re-taken here
    stands for the metadata that survived)."""
    with preserve_session(settled) as preserved:
        offset, size = preserved.packed["behavior/events_07.csv"]
        assert preserved.workspace is not None and preserved.pack is not None
        os.chmod(preserved.pack, 0o600)
        with open(preserved.pack, "r+b") as pack:
            pack.seek(offset)
            pack.write(bytes(size))  # zeros: what never reached the disk
        os.chmod(preserved.pack, 0o400)
        seal = preserved.directory / SEAL_NAME
        os.chmod(preserved.directory, 0o700)
        os.chmod(seal, 0o600)
        st = os.lstat(preserved.pack)
        seal.write_text(f"{st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}")
        preserved.workspace._adopt_seal()
        as_curriculum(settled, EDIT_KEEPING_MTIME)
        with pytest.raises(SessionDataViolation) as caught:
            preserved.snapshot.check(preserved=preserved)
    assert caught.value.violations == ["behavior/events_07.csv: modified: content changed"]
    assert caught.value.not_restored == ["behavior/events_07.csv: its preserved copy changed too"]
    assert (settled / "behavior" / "events_07.csv").read_bytes().startswith(b"~")  # left, not zeroed


def test_a_pack_touched_but_unchanged_still_restores_a_deleted_settled_file(settled: Path) -> None:
    """A chmod of the pack (its ctime moves, its bytes do not) costs the byte comparison, not the copies:
    each one is checked by its own CRC-32 before it is written back."""
    before = tree_state(settled)
    with preserve_session(settled) as preserved:
        assert preserved.pack is not None
        as_curriculum(
            settled,
            f"import os; os.chmod({str(preserved.pack)!r}, 0o600); os.chmod({str(preserved.pack)!r}, 0o400)\n"
            "os.unlink('behavior/events_03.csv')\n",
        )
        with pytest.raises(SessionDataViolation) as caught:
            preserved.snapshot.check(preserved=preserved)
    assert caught.value.violations == ["behavior/events_03.csv: deleted"]
    assert caught.value.restored == ["behavior/events_03.csv"] and not caught.value.not_restored
    assert tree_state(settled) == before
