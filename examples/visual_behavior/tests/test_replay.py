"""The golden replay: the simulated mouse of ``tests/data`` must leave static gratings for flashed ones as recorded.

Its sessions (written by ``scripts/make_sample_sessions.py``) are replayed from enrollment, one after another as
a launcher would run them: a regimen edit that silently changes when subjects advance fails here.
"""

from pathlib import Path

import pytest
from curriculum_contract.sdk import ReplayStep
from curriculum_contract.sdk.testing import GoldenReplay

from visual_behavior.curriculum import SPEC

GOLDEN = GoldenReplay.load(Path(__file__).parent / "data", regenerate="python scripts/make_sample_sessions.py")


@pytest.fixture(scope="module")
def replayed() -> list[ReplayStep]:
    return GOLDEN.run(SPEC)


def test_subject_progresses_as_recorded(replayed: list[ReplayStep]) -> None:
    GOLDEN.assert_progresses_as_recorded(replayed)


def test_metrics_are_as_recorded(replayed: list[ReplayStep]) -> None:
    GOLDEN.assert_metrics_as_recorded(replayed)


def test_each_session_holds_the_inputs_a_launcher_would_place(replayed: list[ReplayStep]) -> None:
    """So ``curriculum run --path`` on one sample suggests what the replay does."""
    GOLDEN.assert_inputs_as_fed(replayed)


def test_the_replay_leaves_the_first_two_stages(replayed: list[ReplayStep]) -> None:
    stages = [step.suggestion.trainer_state.stage.name for step in replayed]
    assert stages.index("TRAINING_1_gratings_static") < stages.index("TRAINING_2_gratings_flashed")
