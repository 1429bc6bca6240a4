"""SessionSnapshot: what a run did to the session directory, detected by comparing before and after."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from launcher_support import tree_digest

from curriculum_contract.launcher_adapter._errors import SessionDataViolation
from curriculum_contract.launcher_adapter._guard import SessionSnapshot, sample_offsets
from curriculum_contract.launcher_adapter._launch import DEFAULT_TIMEOUT_S
from curriculum_contract.launcher_adapter._preserve import MANIFEST_NAME, PACK_NAME, SEAL_NAME, Preserved, preserve
from curriculum_contract.launcher_adapter._process import run_process

VANDAL = Path(__file__).parent / "misbehaving" / "vandal.py"


@pytest.fixture
def session(tmp_path: Path) -> Path:
    """A session directory inside a data root: small files, a nested one, a symlink that was always there.

    The symlink stays inside the session: one leading outside is refused unless guarded (test_guard_faults.py).
    """
    root = tmp_path / "data" / "mouse-1_2024-05-01"
    (root / "behavior" / "harp").mkdir(parents=True)
    (root / "trials.csv").write_text("trial,outcome\n" + "".join(f"{i},{i % 2}\n" for i in range(50)))
    (root / "session.json").write_text('{"subject": "mouse-1"}\n')
    (root / "behavior" / "harp" / "device.bin").write_bytes(bytes(range(256)) * 40)
    os.symlink("session.json", root / "rig_name")  # pre-existing: not the run's doing
    return root


def vandalise(session: Path, how: str) -> None:
    result = run_process([sys.executable, str(VANDAL), str(session), how], cwd=session, timeout_s=DEFAULT_TIMEOUT_S)
    assert result.exit_code == 0, result.stderr


def test_untouched_session_has_no_violations(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    (session / "trials.csv").touch()  # a new mtime with the same content is not a loss
    assert snapshot.violations() == []
    snapshot.check()


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("delete", "trials.csv: deleted"),
        ("edit", "trials.csv: modified: content changed"),
        ("outside", "../escaped.txt: new entry next to the session directory (written outside it?)"),
        ("symlink", "link_out: new symlink to /etc/hostname, outside the session"),
        ("undeclared", "cache.bin: new file that is not a declared asset"),
    ],
)
def test_a_misbehaving_run_is_caught(session: Path, how: str, expected: str) -> None:
    snapshot = SessionSnapshot.take(session)
    vandalise(session, how)
    assert snapshot.violations() == [expected]
    with pytest.raises(SessionDataViolation) as caught:
        snapshot.check()
    assert caught.value.violations == [expected]
    assert str(caught.value) == f"session data violated in {session.resolve()}: {expected}"


def test_one_byte_edit_with_restored_mtime_is_caught(session: Path) -> None:
    path = session / "behavior" / "harp" / "device.bin"
    snapshot = SessionSnapshot.take(session)
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[5000] ^= 1
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert snapshot.violations() == ["behavior/harp/device.bin: modified: content changed"]


def test_declared_assets_and_allowed_outputs(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    (session / "curriculum" / "figures").mkdir(parents=True)
    (session / "curriculum" / "figures" / "perf.png").write_bytes(b"png")
    (session / "curriculum" / "report.html").write_text("<p>")
    (session / "curriculum" / "suggestion.json").write_text("{}")
    assert (
        snapshot.violations(
            declared_assets=["curriculum/figures", "curriculum/report.html"], allowed_new=["curriculum/suggestion.json"]
        )
        == []
    )
    assert snapshot.violations(declared_assets=["curriculum/report.html"]) == [
        "curriculum/figures/perf.png: new file that is not a declared asset",
        "curriculum/suggestion.json: new file that is not a declared asset",
    ]


def test_declared_assets_that_are_missing_or_outside(session: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "plot.png").write_bytes(b"png")
    snapshot = SessionSnapshot.take(session, watch_parent=False)
    os.symlink(outside, session / "out_dir")
    assert snapshot.violations(declared_assets=["missing.png", "../x.png", "/abs.png", "out_dir/plot.png"]) == [
        "missing.png: declared asset does not exist",
        "../x.png: declared asset outside the session directory",
        "/abs.png: declared asset outside the session directory",
        "out_dir/plot.png: declared asset resolves outside the session directory",
        f"out_dir: new symlink to {outside}, outside the session",
    ]


def test_replacing_a_file_by_a_symlink_or_a_directory(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    (session / "session.json").unlink()
    os.symlink("trials.csv", session / "session.json")
    os.unlink(session / "rig_name")
    (session / "rig_name").mkdir()
    assert snapshot.violations() == [
        "rig_name: replaced: was a symlink, now a directory",
        "session.json: replaced: was a file, now a symlink",
    ]


def test_new_file_in_a_new_directory_outside_declared_ones(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    (session / "tmp" / "deep").mkdir(parents=True)
    (session / "tmp" / "deep" / "x.parquet").write_bytes(b"x")
    assert snapshot.violations() == ["tmp/deep/x.parquet: new file that is not a declared asset"]


def test_sibling_sessions_appearing_meanwhile_are_not_violations(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    (session.parent / "mouse-2_2024-05-01").mkdir()  # another rig writing its own session
    assert snapshot.violations() == []


class TestLargeFiles:
    """Above the full-hash limit a file is sampled; shrunk limits keep the test files tiny."""

    LIMIT, BLOCK, BLOCKS = 4096, 64, 11

    @pytest.fixture
    def video(self, tmp_path: Path) -> Path:
        session = tmp_path / "s"
        session.mkdir()
        path = session / "video.avi"
        path.write_bytes(os.urandom(100_000))
        return path

    def take(self, video: Path) -> SessionSnapshot:
        return SessionSnapshot.take(
            video.parent, full_hash_limit=self.LIMIT, block_size=self.BLOCK, sample_blocks=self.BLOCKS
        )

    def edit(self, path: Path, offset: int, *, keep_mtime: bool) -> None:
        before = path.stat()
        with open(path, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0xFF]))
        if keep_mtime:
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    def test_middle_block_is_sampled(self, video: Path) -> None:
        offsets = sample_offsets(video.stat().st_size, self.BLOCKS, self.BLOCK)
        middle = (video.stat().st_size - self.BLOCK) // 2
        assert len(offsets) == self.BLOCKS and offsets[0] == 0 and middle in offsets
        assert offsets[-1] == video.stat().st_size - self.BLOCK

    def test_edit_inside_a_sampled_block_is_caught_even_with_mtime_restored(self, video: Path) -> None:
        snapshot = self.take(video)
        middle = (video.stat().st_size - self.BLOCK) // 2
        self.edit(video, middle + self.BLOCK // 2, keep_mtime=True)
        assert snapshot.violations() == ["video.avi: modified: content changed"]

    def test_ordinary_write_outside_the_samples_is_caught_by_mtime(self, video: Path) -> None:
        os.utime(video, ns=(0, 1_000_000_000))  # an old mtime; the write below sets a new one
        snapshot = self.take(video)
        self.edit(video, 3000, keep_mtime=False)
        assert snapshot.violations() == ["video.avi: modified: rewritten (mtime or inode changed)"]

    def test_documented_residual_risk_unsampled_edit_with_restored_mtime(self, video: Path) -> None:
        """The guard's docstring states this blind spot; this pins it so a change to it is deliberate."""
        snapshot = self.take(video)
        assert not any(o <= 3000 < o + self.BLOCK for o in sample_offsets(100_000, self.BLOCKS, self.BLOCK))
        self.edit(video, 3000, keep_mtime=True)
        assert snapshot.violations() == []

    def test_size_change_is_caught(self, video: Path) -> None:
        snapshot = self.take(video)
        with open(video, "ab") as f:
            f.write(b"tail")
        assert snapshot.violations() == ["video.avi: modified: size 100000 -> 100004 bytes"]


def test_write_protected_makes_files_read_only_then_restores(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    trials = session / "trials.csv"
    mode = stat.S_IMODE(trials.stat().st_mode)
    with snapshot.write_protected():
        assert stat.S_IMODE(trials.stat().st_mode) == mode & ~0o222
        if os.geteuid() != 0:  # root ignores permission bits
            with pytest.raises(PermissionError):
                trials.write_text("overwritten")
    assert stat.S_IMODE(trials.stat().st_mode) == mode
    assert snapshot.violations() == []


def test_take_requires_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SessionSnapshot.take(tmp_path / "missing")


# -- preserving the session's files during the run, restoring what it lost ----------------------------------


def hidden_siblings(session: Path) -> list[str]:
    return sorted(p.name for p in session.parent.iterdir() if p.name.startswith("."))


def test_a_lost_small_file_is_restored_byte_for_byte_and_the_copies_removed(session: Path) -> None:
    before = tree_digest(session)
    snapshot = SessionSnapshot.take(session)
    with preserve(snapshot) as preserved:
        sizes = 254 + 23 + 10_240
        assert preserved.summary() == {"packed": 3, "packed_bytes": sizes, "linked": 0, "unpreserved": 0}
        assert sorted(p.name for p in preserved.directory.iterdir()) == sorted([PACK_NAME, SEAL_NAME, MANIFEST_NAME])
        assert preserved.pack.stat().st_size == sizes
        assert preserved.warnings == [] and hidden_siblings(session) == [preserved.directory.name]
        assert preserved.directory.name.startswith(f".{session.name}.curriculum-preserve-")
        assert stat.S_IMODE(preserved.directory.stat().st_mode) == 0o500, "sealed during the run"
        vandalise(session, "edit")
        (session / "session.json").unlink()
        with pytest.raises(SessionDataViolation) as caught:
            snapshot.check(preserved=preserved)
    assert caught.value.restored == ["session.json", "trials.csv"] and caught.value.not_restored == []
    assert str(caught.value).endswith("session.json: deleted (and 1 more); restored session.json, trials.csv")
    assert tree_digest(session) == before and snapshot.violations() == []
    assert hidden_siblings(session) == []


def test_a_deleted_tree_and_symlink_come_back(session: Path) -> None:
    """The whole session removed: directories, files and the symlink it held are recreated."""
    before = tree_digest(session)
    snapshot = SessionSnapshot.take(session)
    with preserve(snapshot) as preserved:
        shutil.rmtree(session)
        with pytest.raises(SessionDataViolation, match="the session directory itself was deleted") as caught:
            snapshot.check(preserved=preserved)
    assert caught.value.restored == ["behavior/harp/device.bin", "rig_name", "session.json", "trials.csv"]
    assert tree_digest(session) == before and os.readlink(session / "rig_name") == "session.json"
    assert snapshot.violations() == []


def test_what_cannot_be_restored_is_said_and_nothing_is_written_through_a_symlink(
    session: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    snapshot = SessionSnapshot.take(session)
    with preserve(snapshot) as preserved:
        shutil.rmtree(session / "behavior")
        os.symlink(outside, session / "behavior")  # a restore must not follow it
        os.unlink(session / "rig_name")
        (session / "rig_name").mkdir()
        (session / "rig_name" / "notes.txt").write_text("the curriculum's")
        with pytest.raises(SessionDataViolation) as caught:
            snapshot.check(preserved=preserved)
    assert caught.value.not_restored == [
        "behavior/harp/device.bin: behavior was replaced by a symlink",
        "rig_name: replaced by a directory (left as the curriculum made it)",
    ]
    assert list(outside.iterdir()) == [] and (session / "rig_name" / "notes.txt").is_file()
    assert "; NOT restored: behavior/harp/device.bin: behavior was replaced by a symlink (and 1 more)" in str(
        caught.value
    )


def test_a_tampered_preserved_copy_is_not_restored(session: Path) -> None:
    snapshot = SessionSnapshot.take(session)
    with preserve(snapshot) as preserved:
        (session / "trials.csv").unlink()
        offset, _ = preserved.packed["trials.csv"]
        with open(preserved.pack, "r+b") as pack:  # root ignores the sealed directory
            pack.seek(offset)
            pack.write(b"forged")
        with pytest.raises(SessionDataViolation) as caught:
            snapshot.check(preserved=preserved)
    assert caught.value.not_restored == ["trials.csv: its preserved copy changed too"]
    assert not (session / "trials.csv").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_the_sealed_copies_cannot_be_deleted_by_the_run(session: Path) -> None:
    with preserve(SessionSnapshot.take(session)) as preserved, pytest.raises(PermissionError):
        preserved.pack.unlink()


def test_removal_never_follows_a_replaced_directory(session: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A run that swaps the preserve directory for a symlink to the session cannot make removal delete it."""
    before = tree_digest(session)
    preserved = Preserved.create(SessionSnapshot.take(session))
    directory = preserved.directory
    for folder in [directory, *directory.rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o700)
    shutil.rmtree(directory)
    os.symlink(session, directory)
    preserved.remove()
    assert "no longer the directory the adapter made" in caplog.text
    assert tree_digest(session) == before
    directory.unlink()


class TestLargeFilesArePreservedByHardLinks:
    LIMIT = 4096

    @pytest.fixture
    def video(self, session: Path) -> Path:
        path = session / "video.avi"
        path.write_bytes(os.urandom(100_000))
        return path

    def take(self, session: Path) -> SessionSnapshot:
        return SessionSnapshot.take(session, full_hash_limit=self.LIMIT, block_size=64)

    def test_replaced_by_a_new_file_then_restored(self, session: Path, video: Path) -> None:
        inode, before = video.stat().st_ino, video.read_bytes()
        snapshot = self.take(session)
        with preserve(snapshot) as preserved:
            assert preserved.linked["video.avi"].stat().st_ino == inode and len(preserved.linked) == 2
            assert preserved.linked["video.avi"] == preserved.directory / "linked" / "video.avi"
            (session / "video.tmp").write_bytes(b"re-encoded")
            os.replace(session / "video.tmp", video)
            with pytest.raises(SessionDataViolation, match=r"restored video\.avi$"):
                snapshot.check(preserved=preserved)
        assert video.read_bytes() == before and video.stat().st_ino == inode and video.stat().st_nlink == 1

    def test_without_hard_links_large_files_are_not_preserved_and_the_record_says_so(
        self, session: Path, video: Path
    ) -> None:
        def no_links(source: Path, target: Path) -> None:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

        snapshot = self.take(session)
        with preserve(snapshot, link=no_links) as preserved:
            assert preserved.summary()["linked"] == 0 and preserved.summary()["packed"] == 2
            assert preserved.warnings == [
                "2 session file(s) not preserved during the run, a loss of them cannot be undone: "
                f"behavior/harp/device.bin (hard link failed: {os.strerror(errno.EXDEV)}) and 1 more"
            ]
            video.unlink()
            with pytest.raises(SessionDataViolation) as caught:
                snapshot.check(preserved=preserved)
        assert caught.value.not_restored == [f"video.avi: hard link failed: {os.strerror(errno.EXDEV)}"]

    def test_small_files_beyond_the_copy_budget_are_linked_and_an_in_place_edit_is_not_undone(
        self, session: Path
    ) -> None:
        snapshot = SessionSnapshot.take(session)
        with preserve(snapshot, copy_budget=100) as preserved:
            assert preserved.summary() == {"packed": 1, "packed_bytes": 23, "linked": 2, "unpreserved": 0}
            assert preserved.warnings[0].startswith("2 small session file(s) beyond the copy budget were hard-linked")
            vandalise(session, "edit")  # trials.csv, written in place
            with pytest.raises(SessionDataViolation) as caught:
                snapshot.check(preserved=preserved)
        assert caught.value.not_restored == ["trials.csv: written in place: its preserved hard link is the same file"]


def test_one_pass_over_many_batches_records_what_two_steps_record_and_restores(tmp_path: Path) -> None:
    """More than a batch of small files, just written (so hashed: their change times cannot tell): every
    entry equals what a plain snapshot records, and an edit deep in the pack, a deletion and a tampered copy
    are each caught, restored or refused."""
    from curriculum_contract.launcher_adapter._batches import BATCH_BYTES
    from curriculum_contract.launcher_adapter._preserve import preserve_session

    root = tmp_path / "data" / "big-session"
    (root / "logs").mkdir(parents=True)
    count = 3 * BATCH_BYTES // (256 * 2**10) + 7  # over three batches of bytes
    for i in range(count):
        (root / "logs" / f"chunk_{i:03d}.bin").write_bytes(bytes([i % 251]) * (256 * 2**10 - i))
    before = tree_digest(root)
    plain = SessionSnapshot.take(root)
    with preserve_session(root) as preserved:
        assert preserved.snapshot.entries == plain.entries
        assert preserved.summary()["packed"] == count
        middle, last = f"logs/chunk_{count // 2:03d}.bin", f"logs/chunk_{count - 1:03d}.bin"
        with open(root / middle, "r+b") as handle:
            handle.seek(1000)
            handle.write(b"\xff")
        (root / last).unlink()
        (root / "logs" / "chunk_000.bin").unlink()
        offset, _ = preserved.packed["logs/chunk_000.bin"]
        with open(preserved.pack, "r+b") as pack:  # root ignores the sealed directory
            pack.seek(offset)
            pack.write(b"forged")
        with pytest.raises(SessionDataViolation) as caught:
            preserved.snapshot.check(preserved=preserved)
    assert caught.value.restored == sorted([last, middle])
    assert caught.value.not_restored == ["logs/chunk_000.bin: its preserved copy changed too"]
    del before["logs/chunk_000.bin"]
    assert tree_digest(root) == before
