"""The golden replay: the recorded subject must progress through the stages exactly as recorded.

A refactor that silently stops subjects from advancing (a renamed metric, a threshold typo, a transition
added in the wrong order) fails here, in CI, instead of weeks later on the rigs.
"""

import json

from curriculum_contract.sdk import history_path, trainer_state_path
from sample_sessions import DATA, expected_inputs, manifest, replay_sessions, same


def test_subject_progresses_as_recorded() -> None:
    suggestions = replay_sessions()
    got = [suggestion.trainer_state.stage.name for suggestion in suggestions]
    expected = [entry["stage_after"] for entry in manifest()]
    table = "\n".join(
        f"  {entry['session']}: expected {entry['stage_after']}, got {stage}; {suggestion.decision.summary}"
        for entry, stage, suggestion in zip(manifest(), got, suggestions, strict=True)
    )
    assert got == expected, f"the subject no longer progresses as recorded:\n{table}"


def test_the_replay_changes_stage() -> None:
    stages = [entry["stage_after"] for entry in manifest()]
    assert len(set(stages)) > 1, "replay.json must record at least one stage change"


def test_sample_inputs_are_what_a_launcher_would_place() -> None:
    for name, (state, history) in expected_inputs(replay_sessions()).items():
        for path, document in ((trainer_state_path(DATA / name), state), (history_path(DATA / name), history)):
            recorded = json.loads(path.read_text(encoding="utf-8"))
            assert same(recorded, document), (
                f"{path} is out of date with the curriculum; run `uv run python tests/sample_sessions.py`"
            )
