"""``write_sample_sessions``: a curriculum repo's samples and golden replay manifest, from a simulated subject."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ibl_2afc.curriculum import SPEC

from curriculum_contract.sdk.testing import GoldenReplay
from curriculum_contract.simulate import SESSION_FILE, TwoAfcSubject, get_profile, write_sample_sessions

SESSIONS = 2
IBL_SOURCE = Path(__file__).resolve().parents[2] / "examples" / "ibl_2afc" / "src"
#: Writes the samples into argv[1] (in a fresh process: string hashing and addresses differ between runs).
WRITE = """
import sys
from ibl_2afc.curriculum import SPEC
from curriculum_contract.simulate import TwoAfcSubject, get_profile, write_sample_sessions
subject = TwoAfcSubject("sim-1", get_profile("fast_learner").scaled(3.0), seed=1)
write_sample_sessions(SPEC, subject, sys.argv[1], sessions=int(sys.argv[2]), description="samples")
"""


def write(data: Path) -> list:
    subject = TwoAfcSubject("sim-1", get_profile("fast_learner").scaled(3.0), seed=1)
    return write_sample_sessions(SPEC, subject, data, sessions=SESSIONS, description="three samples")


def digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_samples_pass_their_golden_replay(tmp_path: Path) -> None:
    steps = write(tmp_path / "data")
    manifest = json.loads((tmp_path / "data" / "replay.json").read_text(encoding="utf-8"))
    assert manifest["description"] == "three samples" and manifest["curriculum_version"] == SPEC.package_version
    recorded = [(e["session"], e["stage"], e["stage_after"]) for e in manifest["sessions"]]
    assert recorded == [(s.directory.name, s.stage, s.next_stage) for s in steps]
    assert all(entry["decision"]["rules"] and entry["metrics"]["n_trials"] > 0 for entry in manifest["sessions"])
    golden = GoldenReplay.load(tmp_path / "data", regenerate="make samples")
    replayed = golden.run(SPEC)
    golden.assert_progresses_as_recorded(replayed)
    golden.assert_metrics_as_recorded(replayed)
    golden.assert_inputs_as_fed(replayed)


def test_regenerating_replaces_only_the_listed_simulated_sessions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data)
    before = digests(data)
    handmade = data / "handmade-session"
    handmade.mkdir()
    (handmade / "trials.csv").write_text("choice\n1\n", encoding="utf-8")
    write(data)
    assert digests(data) == {**before, "handmade-session/trials.csv": digests(handmade)["trials.csv"]}


def test_a_manifest_naming_a_folder_elsewhere_removes_nothing(tmp_path: Path) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    outside.mkdir()
    (outside / SESSION_FILE).write_text("{}", encoding="utf-8")
    data.mkdir()
    (data / "replay.json").write_text(
        json.dumps({"sessions": [{"session": "../outside", "stage_after": "in_training"}]}), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="not a folder name"):
        write(data)
    assert (outside / SESSION_FILE).is_file()


@pytest.mark.e2e
def test_processes_write_byte_identical_samples(tmp_path: Path) -> None:
    """Without pinning the hash seed: the SDK orders the active policies (a set in the DSL) itself.
    Two policies in a set come out in either order, so four processes would most likely catch a regression."""
    folders = [tmp_path / f"seed-{seed}" for seed in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITE, str(folder), str(SESSIONS)],
            env={**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(IBL_SOURCE)},
        )
        for seed, folder in enumerate(folders)
    ]
    assert [process.wait(timeout=300) for process in processes] == [0] * len(processes)
    written = [digests(folder) for folder in folders]
    assert all(w == written[0] for w in written[1:])
    assert len(written[0]) == 1 + 4 * SESSIONS  # the manifest; trials, session.json and two inputs each
