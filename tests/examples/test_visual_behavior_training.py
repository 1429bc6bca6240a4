"""The regimen-driven change-detection curriculum driven by simulated subjects, in process."""

import itertools

import pytest
from visual_behavior.curriculum import SPEC
from visual_behavior.regimen import packaged_regimen

from curriculum_contract.sdk import replay
from curriculum_contract.simulate import ChangeDetectionSubject, TrainingStep, run_training, stage_changes

pytestmark = pytest.mark.e2e  # closed-loop simulations: subjects trained session after session

ORDER = [stage.name for stage in packaged_regimen().stages]


def train(tmp_path_factory: pytest.TempPathFactory, profile: str, sessions: int, seed: int = 1) -> list[TrainingStep]:
    root = tmp_path_factory.mktemp(profile)
    return run_training(SPEC, ChangeDetectionSubject(f"vb-{profile}", profile, seed=seed), root, sessions=sessions)


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> list[TrainingStep]:
    return train(tmp_path_factory, "fast_learner", 15)


def test_a_fast_learner_reaches_every_stage_in_order(fast: list[TrainingStep]) -> None:
    changes = stage_changes(fast)
    assert [(before, after) for _, before, after in changes] == list(itertools.pairwise(ORDER))
    indices = [index for index, _, _ in changes]
    assert indices[2] - indices[1] >= 2, "flashed_gratings_learned needs two flashed sessions"
    assert indices[3] - indices[2] >= 3, "images_learned_and_engaged needs three sessions on images_A"
    assert fast[-1].next_stage == ORDER[-1]


def test_each_stage_runs_its_regimen_parameters(fast: list[TrainingStep]) -> None:
    regimen = packaged_regimen()
    expected = {s.name: {**regimen.defaults, **s.parameters} for s in regimen.stages}
    for step in fast:
        ran = step.session.parameters
        assert {k: ran[k] for k in expected[step.stage]} == expected[step.stage]
        assert step.suggestion.metrics.stimulus == ran["stimulus"]


def test_replaying_the_written_sessions_reproduces_the_closed_loop(fast: list[TrainingStep]) -> None:
    replayed = replay(SPEC, [step.directory for step in fast])
    assert [s.trainer_state.stage.name for s in replayed] == [step.next_stage for step in fast]


def test_a_non_learner_stays_in_the_first_stage(tmp_path_factory: pytest.TempPathFactory) -> None:
    steps = train(tmp_path_factory, "non_learner", 14, seed=2)
    assert {step.next_stage for step in steps} == {ORDER[0]}


def test_a_subject_that_degrades_never_goes_back(tmp_path_factory: pytest.TempPathFactory) -> None:
    steps = train(tmp_path_factory, "learns_then_degrades", 20)
    ranks = [ORDER.index(step.next_stage) for step in steps]
    assert ranks == sorted(ranks) and ranks[-1] >= 3
    assert (steps[-1].suggestion.metrics.d_prime_engaged or 0.0) < 2.0
