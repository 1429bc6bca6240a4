"""``regenerate_samples``: a data folder made exactly one seeded learner's closed-loop run, rewriting only changes."""

import hashlib
import json
from pathlib import Path

import pytest
from tiny_curriculum import spec

from curriculum_contract import ContractError
from curriculum_contract.sdk.testing import GoldenReplay
from curriculum_contract.simulate import Experiment, SamplesNotOwned, regenerate_samples

SEED = 3


def regenerate(data: Path, threshold: float = 0.8, **options: object):
    return regenerate_samples(spec(threshold), data, description="tiny samples", seed=SEED, **options)  # type: ignore[arg-type]


def digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_samples_are_the_run_to_the_last_stage_and_pass_their_golden_replay(tmp_path: Path) -> None:
    changes = regenerate(tmp_path / "data")
    assert changes.reached_final_stage and changes.final_stage == "trained"
    stages = [(step.stage, step.next_stage) for step in changes.steps]
    assert stages[-1] == ("training", "trained") and all(after == "training" for _, after in stages[:-1])
    assert len(stages) >= 2, "a run this short shows no failed criterion"
    golden = GoldenReplay.load(tmp_path / "data", regenerate="regenerate")
    replayed = golden.run(spec(0.8))
    golden.assert_progresses_as_recorded(replayed)
    golden.assert_metrics_as_recorded(replayed)
    golden.assert_inputs_as_fed(replayed)
    manifest = json.loads((tmp_path / "data" / "replay.json").read_text(encoding="utf-8"))
    assert manifest["simulated"] == {
        "learner": "two_afc",
        "parameters": manifest["simulated"]["parameters"],
        "seed": SEED,
        "subject": "sim-001",
        "max_sessions": 30,
    }
    assert {path.name for path in (tmp_path / "data").iterdir()} == {
        "replay.json",
        *(s.directory.name for s in changes.steps),
    }


def test_the_subject_is_the_first_of_curriculum_simulate_with_the_same_seed(tmp_path: Path) -> None:
    changes = regenerate(tmp_path / "data")
    records = Experiment(spec(0.8), subjects=1, sessions=len(changes.steps), seed=SEED, workers=1).run().records
    assert [(r.stage, r.next_stage) for r in records] == [(s.stage, s.next_stage) for s in changes.steps]
    assert [r.metrics for r in records] == [s.suggestion.metrics.model_dump(mode="json") for s in changes.steps]


def test_running_it_again_rewrites_nothing(tmp_path: Path) -> None:
    regenerate(tmp_path / "data")
    before = digests(tmp_path / "data")
    again = regenerate(tmp_path / "data")
    assert not again.changed and again.progress == [] and again.written == []
    assert digests(tmp_path / "data") == before


def test_a_stricter_criterion_rewrites_the_samples_and_says_what_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    lenient = regenerate(data)
    strict = regenerate(data, threshold=0.95)
    assert len(strict.steps) > len(lenient.steps), "at 0.95 the subject needs more sessions"
    assert data / "replay.json" in strict.written
    changed = lenient.steps[-1].directory.name
    assert any(
        line.startswith(f"  {changed}: training -> training (recorded training -> trained)") for line in strict.progress
    )
    assert any(line.endswith("new (training -> trained)") for line in strict.progress)
    back = regenerate(data)  # and back: the sessions the lenient run no longer has are removed
    assert sorted(path.name for path in back.removed) == [s.directory.name for s in strict.steps[len(lenient.steps) :]]
    assert sorted(path.name for path in data.iterdir()) == sorted(
        ["replay.json", *(s.directory.name for s in lenient.steps)]
    )


def test_numbers_within_the_tolerance_are_kept_as_recorded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    regenerate(data)
    manifest = json.loads((data / "replay.json").read_text(encoding="utf-8"))
    recorded = manifest["sessions"][0]["metrics"]["fraction_correct_easy"]
    manifest["sessions"][0]["metrics"]["fraction_correct_easy"] = recorded * (1 + 1e-7)  # another machine's digits
    (data / "replay.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    kept = (data / "replay.json").read_text(encoding="utf-8")
    assert not regenerate(data).changed
    assert (data / "replay.json").read_text(encoding="utf-8") == kept
    manifest["sessions"][0]["metrics"]["fraction_correct_easy"] = recorded * (1 + 1e-3)  # beyond rel 1e-4
    (data / "replay.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    assert regenerate(data).written == [data / "replay.json"]
    restored = json.loads((data / "replay.json").read_text(encoding="utf-8"))
    assert restored["sessions"][0]["metrics"]["fraction_correct_easy"] == pytest.approx(recorded, rel=1e-12)


def test_folders_it_did_not_write_are_left_alone_or_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    changes = regenerate(data)
    handmade = data / "handmade-session"
    handmade.mkdir()
    (handmade / "trials.csv").write_text("x\n", encoding="utf-8")
    assert not regenerate(data).changed and (handmade / "trials.csv").is_file()
    listed = changes.steps[-1].directory
    (listed / "notes.txt").write_text("mine\n", encoding="utf-8")
    with pytest.raises(SamplesNotOwned, match=rf"{listed.name}: holds notes.txt, not written by the sample writer"):
        regenerate(data, threshold=0.95)
    assert issubclass(SamplesNotOwned, ContractError)
    assert (listed / "notes.txt").is_file() and json.loads((data / "replay.json").read_text())["sessions"]


def test_a_subject_that_never_reaches_the_last_stage_is_reported(tmp_path: Path) -> None:
    changes = regenerate(tmp_path / "data", max_sessions=1)
    assert len(changes.steps) == 1 and not changes.reached_final_stage
    with pytest.raises(ValueError, match="max_sessions must be >= 1, got 0"):
        regenerate(tmp_path / "other", max_sessions=0)
