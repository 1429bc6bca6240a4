"""Regenerate the sample sessions under tests/data with curriculum-contract's simulated subject.

A fast-learning simulated mouse (seed 2) is trained in closed loop: each session runs the task
parameters the curriculum suggested after the previous one, and each session folder gets the inputs a
launcher would have placed, so ``curriculum run --path tests/data/<session>`` works on it as is.
``tests/data/replay.json`` records the stage the curriculum suggested after each session: the golden
replay test checks it.

    python scripts/make_sample_sessions.py

Run it after a change that is meant to change the suggestions, review the diff of replay.json, and
commit both. ``--accept`` keeps the sessions and only records what the curriculum now decides on them
(``replay.json`` and the sessions' inputs; numbers within the replay's tolerance are kept as recorded).
"""

import sys
from pathlib import Path

from curriculum_contract.sdk.testing import GoldenReplay
from curriculum_contract.simulate import ChangeDetectionSubject, get_profile, write_sample_sessions

ROOT = Path(__file__).resolve().parents[1]
SESSIONS, SEED, LEARNING_SPEED = 6, 2, 2.0


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))  # a bare checkout works too
    from visual_behavior.curriculum import SPEC

    data = ROOT / "tests" / "data"
    if sys.argv[1:] == ["--accept"]:
        golden = GoldenReplay.load(data, regenerate="python scripts/make_sample_sessions.py")
        for path in golden.accept_replay(golden.run(SPEC)):
            print(f"rewrote {path.relative_to(data).as_posix()}")
        return

    subject = ChangeDetectionSubject("sim-vb-001", get_profile("fast_learner").scaled(LEARNING_SPEED), seed=SEED)
    description = (
        "A simulated subject (curriculum_contract.simulate.ChangeDetectionSubject, fast_learner x2, seed 2), "
        "session after session, and what the curriculum decided after each. "
        "Regenerate with scripts/make_sample_sessions.py."
    )
    steps = write_sample_sessions(SPEC, subject, data, sessions=SESSIONS, description=description)
    for step in steps:
        print(f"{step.directory.name}: {step.stage} -> {step.next_stage}  ({step.suggestion.decision.summary})")


if __name__ == "__main__":
    main()
