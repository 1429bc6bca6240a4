"""Regenerate the sample sessions under tests/data with curriculum-contract's simulated subject.

A fast-learning simulated mouse (seed 2) is trained in closed loop: each session runs the task
parameters the curriculum suggested after the previous one, and each session folder gets the inputs a
launcher would have placed, so ``curriculum run --path tests/data/<session>`` works on it as is.
``tests/data/replay.json`` records the stage the curriculum suggested after each session: the golden
replay test checks it.

    python scripts/make_sample_sessions.py

Run it after a change that is meant to change the suggestions, review the diff of replay.json, and
commit both.
"""

import sys
from pathlib import Path

from curriculum_contract.simulate import ChangeDetectionSubject, get_profile, write_sample_sessions

ROOT = Path(__file__).resolve().parents[1]
SESSIONS, SEED, LEARNING_SPEED = 6, 2, 2.0


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))  # a bare checkout works too
    from visual_behavior.curriculum import SPEC

    subject = ChangeDetectionSubject("sim-vb-001", get_profile("fast_learner").scaled(LEARNING_SPEED), seed=SEED)
    description = (
        "A simulated subject (curriculum_contract.simulate.ChangeDetectionSubject, fast_learner x2, seed 2), "
        "session after session, and the stage the curriculum suggested after each. "
        "Regenerate with scripts/make_sample_sessions.py."
    )
    steps = write_sample_sessions(SPEC, subject, ROOT / "tests" / "data", sessions=SESSIONS, description=description)
    for step in steps:
        print(f"{step.directory.name}: {step.stage} -> {step.next_stage}  ({step.suggestion.decision.summary})")


if __name__ == "__main__":
    main()
