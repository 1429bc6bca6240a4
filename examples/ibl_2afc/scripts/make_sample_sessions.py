"""Regenerate the sample sessions under tests/data with curriculum-contract's simulated subject.

A very fast-learning simulated mouse (seed 1) is trained in closed loop: each session runs the task
parameters the curriculum suggested after the previous one, and each session folder gets the inputs a
launcher would have placed (``curriculum/trainer_state.json``, ``curriculum/history.json``), so
``curriculum run --path tests/data/<session>`` works on it as is. ``tests/data/replay.json`` records
the stage the curriculum suggested after each session: the golden replay test checks it.

    python scripts/make_sample_sessions.py

Run it after a change that is meant to change the suggestions, review the diff of replay.json, and
commit both.
"""

import json
import os
import shutil
import sys
from pathlib import Path

from curriculum_contract.sdk import CurriculumSpec
from curriculum_contract.simulate import TwoAfcSubject, get_profile, run_training

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SESSIONS, SEED, LEARNING_SPEED = 9, 1, 3.0


def _curriculum_spec() -> CurriculumSpec:
    """This package's spec, from the environment or, in a bare checkout, from src/."""
    try:
        from ibl_2afc.curriculum import SPEC
    except ModuleNotFoundError:
        sys.path.insert(0, str(ROOT / "src"))
        from ibl_2afc.curriculum import SPEC
    return SPEC


def _clear_samples() -> None:
    """Remove the samples this script made last time: the folders its replay.json lists, nothing else."""
    manifest = DATA / "replay.json"
    if not manifest.is_file():
        return
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["sessions"]:
        folder = DATA / entry["session"]
        if folder.parent == DATA and (folder / "session.json").is_file():
            shutil.rmtree(folder)


def main() -> None:
    spec = _curriculum_spec()
    DATA.mkdir(parents=True, exist_ok=True)
    _clear_samples()
    profile = get_profile("fast_learner").scaled(LEARNING_SPEED)
    subject = TwoAfcSubject("sim-ibl-001", profile, seed=SEED)
    steps = run_training(spec, subject, DATA, sessions=SESSIONS)
    manifest = {
        "description": (
            "A simulated subject (curriculum_contract.simulate.TwoAfcSubject, fast_learner x3, seed 1), "
            "session after session, and the stage the curriculum suggested after each. "
            "Regenerate with scripts/make_sample_sessions.py."
        ),
        "curriculum_version": spec.package_version,
        "sessions": [{"session": s.directory.name, "stage": s.stage, "stage_after": s.next_stage} for s in steps],
    }
    (DATA / "replay.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for step in steps:
        print(f"{step.directory.name}: {step.stage} -> {step.next_stage}  ({step.suggestion.decision.summary})")


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":
        # The DSL keeps a trainer state's active policies in a set, whose order follows string hashing:
        # pin the hash seed so that regenerating the samples gives byte-identical files.
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], {**os.environ, "PYTHONHASHSEED": "0"})
    main()
