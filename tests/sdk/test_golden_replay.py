"""``replay_steps`` and ``GoldenReplay``: a curriculum repo's golden replay, on the toy curriculum's samples."""

import itertools
import json
import shutil
from pathlib import Path

import pytest
from sdk_support import DATA
from toy_curriculum import SPEC

from curriculum_contract.sdk import History, ReplayStep, history_path, replay, replay_steps, trainer_state_path
from curriculum_contract.sdk.testing import GoldenReplay

#: Three sessions of the toy curriculum: stage_b needs two sessions in a row with >= 100 trials.
RECORDED = [("s1", "first_session", "stage_a"), ("s2", "advances", "stage_a"), ("s3", "advances", "stage_b")]
REGENERATE = "python make_samples.py"


def write_samples(folder: Path, recorded: list[tuple[str, str, str]] = RECORDED) -> Path:
    """Sample sessions (trials only) and their manifest; the inputs come from ``refresh_inputs``."""
    folder.mkdir()
    for name, source, _stage in recorded:
        shutil.copytree(DATA / source, folder / name, ignore=shutil.ignore_patterns("curriculum"))
    sessions = [{"session": name, "stage_after": stage} for name, _source, stage in recorded]
    (folder / "replay.json").write_text(json.dumps({"sessions": sessions}), encoding="utf-8")
    return folder


@pytest.fixture
def golden(tmp_path: Path) -> GoldenReplay:
    golden = GoldenReplay.load(write_samples(tmp_path / "data"), regenerate=REGENERATE)
    written = golden.refresh_inputs(golden.run(SPEC))
    assert len(written) == 2 * len(RECORDED)
    return golden


def test_replay_steps_keep_what_each_session_was_fed(tmp_path: Path) -> None:
    sessions = [DATA / "first_session", DATA / "advances", DATA / "advances"]
    steps = list(replay_steps(SPEC, sessions))
    assert all(isinstance(step, ReplayStep) for step in steps)
    assert [step.directory for step in steps] == sessions
    assert steps[0].trainer_state == SPEC.enroll() and steps[0].history == History.first(curriculum_name=SPEC.name)
    for before, after in itertools.pairwise(steps):
        assert after.trainer_state == before.suggestion.trainer_state
        assert after.history.sessions[:-1] == before.history.sessions
        assert after.history.sessions[-1].suggested_stage == before.suggestion.trainer_state.stage.name
    assert [s.model_dump() for s in replay(SPEC, sessions)] == [step.suggestion.model_dump() for step in steps]


def test_a_faithful_replay_passes_and_a_refresh_changes_nothing(golden: GoldenReplay) -> None:
    steps = golden.run(SPEC)
    golden.assert_progresses_as_recorded(steps)
    golden.assert_inputs_as_fed(steps)
    assert golden.refresh_inputs(steps) == []
    assert golden.expected_stages == [stage for _name, _source, stage in RECORDED]


def test_a_changed_progression_fails_with_a_table_of_every_session(tmp_path: Path) -> None:
    recorded = [*RECORDED[:2], ("s3", "advances", "stage_a")]
    golden = GoldenReplay.load(write_samples(tmp_path / "data", recorded), regenerate=REGENERATE)
    with pytest.raises(AssertionError) as failure:
        golden.assert_progresses_as_recorded(golden.run(SPEC))
    lines = str(failure.value).splitlines()
    assert lines[0] == "the subject no longer progresses as recorded:"
    assert lines[1].startswith("  s1: expected stage_a, got stage_a; stay in stage_a")
    assert lines[3].startswith("  s3: expected stage_a, got stage_b; advance stage_a -> stage_b")


def test_a_stale_input_names_the_file_the_field_and_the_command(golden: GoldenReplay) -> None:
    path = trainer_state_path(golden.data / "s2")
    state = json.loads(path.read_text(encoding="utf-8"))
    state["stage"]["task"]["task_parameters"]["reward_ul"] = 9.0
    path.write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(AssertionError) as failure:
        golden.assert_inputs_as_fed(golden.run(SPEC))
    message = str(failure.value)
    assert f"run `{REGENERATE}`" in message and str(path) in message
    assert "stage.task.task_parameters.reward_ul: recorded 9.0, fed 2.5" in message
    assert golden.refresh_inputs(golden.run(SPEC)) == [path]
    golden.assert_inputs_as_fed(golden.run(SPEC))


def test_a_missing_input_is_stale(golden: GoldenReplay) -> None:
    history_path(golden.data / "s1").unlink()
    with pytest.raises(AssertionError, match=r"history\.json: unreadable"):
        golden.assert_inputs_as_fed(golden.run(SPEC))


def test_launcher_bookkeeping_is_not_compared_but_metrics_are(golden: GoldenReplay) -> None:
    """A launcher records the subject and the dates, which a replay cannot know; a metric is compared
    to 1e-6 (numerical fits differ in their last digits between platforms)."""
    path = history_path(golden.data / "s3")
    history = json.loads(path.read_text(encoding="utf-8"))
    history["subject_id"] = "mouse-1"
    history["sessions"][0]["date"] = "2024-01-08T09:00:00Z"
    metrics = history["sessions"][0]["metrics"]
    name = next(k for k, v in metrics.items() if isinstance(v, float) and v)
    metrics[name] *= 1 + 1e-9
    path.write_text(json.dumps(history), encoding="utf-8")
    golden.assert_inputs_as_fed(golden.run(SPEC))
    metrics[name] *= 1.001
    path.write_text(json.dumps(history), encoding="utf-8")
    with pytest.raises(AssertionError, match=rf"sessions\[0\]\.metrics\.{name}: recorded"):
        golden.assert_inputs_as_fed(golden.run(SPEC))


@pytest.mark.parametrize(
    ("manifest", "mention"),
    [
        ('{"sessions": [{"session": "../elsewhere", "stage_after": "stage_a"}]}', "not a folder name"),
        ('{"sessions": [{"session": "s1"}]}', "stage_after"),
        ('{"session": []}', "sessions"),
        ("{", "JSONDecodeError"),
    ],
)
def test_a_malformed_manifest_names_itself(tmp_path: Path, manifest: str, mention: str) -> None:
    (tmp_path / "replay.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(ValueError, match=mention) as failure:
        GoldenReplay.load(tmp_path, regenerate=REGENERATE)
    assert str(tmp_path / "replay.json") in str(failure.value)
