"""SessionSnapshot: what a run did to the session directory, detected by comparing before and after."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from curriculum_contract.launcher_adapter._errors import SessionDataViolation
from curriculum_contract.launcher_adapter._guard import SessionSnapshot, sample_offsets
from curriculum_contract.launcher_adapter._process import run_process

VANDAL = Path(__file__).parent / "misbehaving" / "vandal.py"


@pytest.fixture
def session(tmp_path: Path) -> Path:
    """A session directory inside a data root: small files, a nested one, a symlink that was always there."""
    root = tmp_path / "data" / "mouse-1_2024-05-01"
    (root / "behavior" / "harp").mkdir(parents=True)
    (root / "trials.csv").write_text("trial,outcome\n" + "".join(f"{i},{i % 2}\n" for i in range(50)))
    (root / "session.json").write_text('{"subject": "mouse-1"}\n')
    (root / "behavior" / "harp" / "device.bin").write_bytes(bytes(range(256)) * 40)
    os.symlink("/etc/hostname", root / "rig_name")  # pre-existing: not the run's doing
    return root


def vandalise(session: Path, how: str) -> None:
    result = run_process([sys.executable, str(VANDAL), str(session), how], cwd=session, timeout_s=20)
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
