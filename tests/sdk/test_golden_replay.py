"""``replay_steps`` and ``GoldenReplay``: a curriculum repo's golden replay, on the toy curriculum's samples."""

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sdk_support import DATA
from toy_curriculum import SPEC

from curriculum_contract.sdk import History, ReplayStep, history_path, replay, replay_steps, trainer_state_path
from curriculum_contract.sdk.testing import DEFAULT_TOLERANCE, GoldenReplay, Tolerance

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
    golden.assert_metrics_as_recorded(steps)
    golden.assert_inputs_as_fed(steps)
    assert golden.refresh_inputs(steps) == []
    assert golden.expected_stages == [stage for _name, _source, stage in RECORDED]


def test_a_stages_only_manifest_compares_stages(golden: GoldenReplay) -> None:
    """A manifest of an older repository records stages only: decisions and metrics are not compared."""
    assert all(entry.decision is None and entry.metrics is None for entry in golden.recorded)
    assert golden.progress_changes(golden.run(SPEC)) == [] and golden.metric_drifts(golden.run(SPEC)) == []


def test_a_changed_progression_names_the_sessions_and_the_command_that_accepts_it(tmp_path: Path) -> None:
    recorded = [*RECORDED[:2], ("s3", "advances", "stage_a")]
    golden = GoldenReplay.load(write_samples(tmp_path / "data", recorded), regenerate=REGENERATE)
    with pytest.raises(AssertionError) as failure:
        golden.assert_progresses_as_recorded(golden.run(SPEC))
    lines = str(failure.value).splitlines()
    assert lines[0].startswith("progress changed: the subject no longer progresses as recorded in ")
    assert lines[1].startswith("  s3: expected stage_a, got stage_b (advance stage_a -> stage_b")
    assert lines[-1].endswith(f"`{REGENERATE} --accept`") and len(lines) == 3
    written = golden.accept_replay(golden.run(SPEC))
    assert golden.data / "replay.json" in written
    accepted = GoldenReplay.load(golden.data, regenerate=REGENERATE)
    steps = accepted.run(SPEC)
    accepted.assert_progresses_as_recorded(steps)
    accepted.assert_metrics_as_recorded(steps)
    accepted.assert_inputs_as_fed(steps)
    assert accepted.accept_replay(steps) == [], "accepting the same replay again must change nothing"


def _accepted(golden: GoldenReplay) -> tuple[GoldenReplay, dict[str, Any]]:
    """``golden`` with a full manifest (decisions and metrics), and that manifest."""
    golden.accept_replay(golden.run(SPEC))
    manifest = json.loads((golden.data / "replay.json").read_text(encoding="utf-8"))
    return GoldenReplay.load(golden.data, regenerate=REGENERATE), manifest


def _rewrite(golden: GoldenReplay, manifest: dict[str, Any], **options: Any) -> GoldenReplay:
    (golden.data / "replay.json").write_text(json.dumps(manifest), encoding="utf-8")
    return GoldenReplay.load(golden.data, regenerate=REGENERATE, **options)


def test_a_decision_that_changed_without_a_stage_change_is_progress_changed(golden: GoldenReplay) -> None:
    golden, manifest = _accepted(golden)
    rules = manifest["sessions"][1]["decision"]["rules"]
    rule = next(r for r in rules if r["rule"] == "to_stage_b")
    rule["conditions"] = [not held for held in rule["conditions"]]
    manifest["sessions"][1]["decision"]["policies"] = []
    changed = _rewrite(golden, manifest)
    with pytest.raises(AssertionError, match="progress changed") as failure:
        changed.assert_progresses_as_recorded(changed.run(SPEC))
    message = str(failure.value)
    assert "s2: to_stage_b conditions held" in message and "policies applied ['shrink_reward'] (recorded [])" in message


def test_numbers_within_tolerance_pass_beyond_fail_and_undefined_are_skipped(golden: GoldenReplay) -> None:
    golden, manifest = _accepted(golden)
    metrics = manifest["sessions"][2]["metrics"]
    recorded = metrics["performance"]
    metrics["performance"] = recorded * (1 + DEFAULT_TOLERANCE.rel / 10)
    within = _rewrite(golden, manifest)
    within.assert_metrics_as_recorded(within.run(SPEC))
    assert within.accept_replay(within.run(SPEC)) == [], "a drift within tolerance is kept, not rewritten"
    metrics["performance"] = recorded * (1 + DEFAULT_TOLERANCE.rel * 10)
    beyond = _rewrite(golden, manifest)
    with pytest.raises(AssertionError) as failure:
        beyond.assert_metrics_as_recorded(beyond.run(SPEC))
    lines = str(failure.value).splitlines()
    assert lines[0].startswith("numbers drifted beyond tolerance from ")
    assert lines[1].startswith(f"  s3: performance: recorded {metrics['performance']!r}, got {recorded!r}")
    assert f"(tolerance {DEFAULT_TOLERANCE})" in lines[1] and "--accept" in lines[-1]
    beyond.assert_progresses_as_recorded(beyond.run(SPEC))  # numbers, not progress
    looser = _rewrite(golden, manifest, tolerances={"performance": Tolerance(rel=1e-2)})
    looser.assert_metrics_as_recorded(looser.run(SPEC))
    metrics["performance"] = None
    undefined = _rewrite(golden, manifest)
    undefined.assert_metrics_as_recorded(undefined.run(SPEC))
    metrics["n_trials"] = 7
    with pytest.raises(AssertionError, match="n_trials: recorded 7"):
        _rewrite(golden, manifest).assert_metrics_as_recorded(golden.run(SPEC))


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
    within the default tolerance, and an undefined one not at all."""
    path = history_path(golden.data / "s3")
    history = json.loads(path.read_text(encoding="utf-8"))
    history["subject_id"] = "mouse-1"
    history["sessions"][0]["date"] = "2024-01-08T09:00:00Z"
    metrics = history["sessions"][0]["metrics"]
    name = next(k for k, v in metrics.items() if isinstance(v, float) and v)
    value = metrics[name]
    metrics[name] = value * (1 + DEFAULT_TOLERANCE.rel / 10)
    path.write_text(json.dumps(history), encoding="utf-8")
    golden.assert_inputs_as_fed(golden.run(SPEC))
    metrics[name] = None
    path.write_text(json.dumps(history), encoding="utf-8")
    golden.assert_inputs_as_fed(golden.run(SPEC))
    metrics[name] = value * 1.01
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
