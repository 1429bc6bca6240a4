"""The golden replay: the recorded subject must progress through the stages exactly as recorded.

The sample sessions (``scripts/make_sample_sessions.py``) are replayed from enrollment, as a launcher
would run them one after another; a change that silently stops subjects from advancing fails here.
"""

import json
from pathlib import Path

import pytest
from curriculum_contract.sdk import Suggestion, replay, run_session, trainer_state_path

from visual_behavior.curriculum import SPEC

DATA = Path(__file__).parent / "data"
MANIFEST = json.loads((DATA / "replay.json").read_text(encoding="utf-8"))
SESSIONS = [DATA / entry["session"] for entry in MANIFEST["sessions"]]


@pytest.fixture(scope="module")
def replayed() -> list[Suggestion]:
    return replay(SPEC, SESSIONS)


def test_subject_progresses_as_recorded(replayed: list[Suggestion]) -> None:
    got = [s.trainer_state.stage.name for s in replayed]
    expected = [entry["stage_after"] for entry in MANIFEST["sessions"]]
    table = "\n".join(
        f"  {entry['session']}: expected {entry['stage_after']}, got {stage}; {s.decision.summary}"
        for entry, stage, s in zip(MANIFEST["sessions"], got, replayed, strict=True)
    )
    assert got == expected, f"the subject no longer progresses as recorded:\n{table}"


def test_the_replay_leaves_the_first_two_stages(replayed: list[Suggestion]) -> None:
    stages = [s.trainer_state.stage.name for s in replayed]
    assert stages.index("TRAINING_1_gratings") < stages.index("TRAINING_2_gratings_flashed")


def test_each_session_holds_the_inputs_a_launcher_would_place(replayed: list[Suggestion]) -> None:
    """``curriculum run --path`` on each sample, from its own inputs, suggests what the replay does."""
    for directory, from_replay in zip(SESSIONS, replayed, strict=True):
        alone = run_session(SPEC, directory)
        assert canonical(alone.trainer_state.model_dump(mode="json")) == canonical(
            from_replay.trainer_state.model_dump(mode="json")
        )
        assert alone.metrics.model_dump(mode="json") == from_replay.metrics.model_dump(mode="json")
        assert alone.decision.transitions == from_replay.decision.transitions
        assert alone.decision.summary == from_replay.decision.summary
    for before, after in zip(replayed, SESSIONS[1:], strict=False):
        recorded = json.loads(trainer_state_path(after).read_text(encoding="utf-8"))
        expected = before.trainer_state.model_dump(mode="json")
        assert canonical(recorded) == canonical(expected), f"{after.name}: stale trainer state"


def canonical(state: dict) -> dict:
    """The DSL keeps active policies in a set's order, which changes between processes: compare them as a
    set (this regimen has no policies, so the list is empty anyway)."""
    return {**state, "active_policies": sorted(state["active_policies"] or [])}
