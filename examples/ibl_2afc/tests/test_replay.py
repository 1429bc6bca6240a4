"""The golden replay: the simulated mouse of ``tests/data`` must go from in_training to trained_1b as recorded.

``scripts/make_sample_sessions.py`` trained it in closed loop; here its sessions are replayed from enrollment, as
a launcher would run them, so a change that silently stops subjects from advancing fails in CI.
"""

from pathlib import Path

import pytest
from curriculum_contract.sdk import ReplayStep
from curriculum_contract.sdk.testing import GoldenReplay

from ibl_2afc.curriculum import SPEC

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


def test_the_replay_reaches_trained_1b(replayed: list[ReplayStep]) -> None:
    stages = [step.suggestion.trainer_state.stage.name for step in replayed]
    assert stages[0] == "in_training" and stages[-1] == "trained_1b"


def test_policies_shrink_the_reward_and_widen_the_contrasts(replayed: list[ReplayStep]) -> None:
    states = [step.suggestion.trainer_state for step in replayed]
    in_training = [s.stage.task.task_parameters for s in states if s.stage.name == "in_training"]
    phases = [p.training_phase for p in in_training]
    assert phases == sorted(phases) and phases[-1] > phases[0]
    assert min(p.reward_volume_ul for p in in_training) < 3.0
