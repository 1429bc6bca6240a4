"""Writes the template's sample sessions (template/tests/data): run it after changing the template's curriculum.

    python tests/template/make_template_samples.py [--simulate]

``--simulate`` also rewrites the trials tables, from a simulated subject with fixed seeds, and starts
``replay.json`` afresh. Then the template is rendered with sentinel answers, the rendered repository's own
``tests/sample_sessions.py --accept`` replays the sessions and writes ``replay.json`` (stages, decisions,
metrics; numbers within tolerance of the committed ones are kept) and each session's inputs (trainer state,
history), and those are copied back into the template, the inputs as ``.jinja`` files with the sentinels
replaced by the answers' variables. It fails if a session no longer ends in the stage ``SESSIONS`` intends.
``test_render.py`` checks the committed files against a fresh replay of every rendered answer set.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "template" / "tests" / "data"
#: Sentinel answers, and the template variable each stands for (longest first: they nest).
SENTINELS = {
    "sentinel_curriculum_zq": "{{ package_name }}",
    "sentinel-curriculum-zq": "{{ curriculum_name }}",
    "SentinelTaskZq": "{{ task_name }}",
}
EASY = (1.0, 0.5)
ALL = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.0)


@dataclass(frozen=True)
class Subject:
    """A simulated session: the psychometric curve the subject answers with (IBL's model, percent contrast)."""

    trials: int
    contrasts: tuple[float, ...]
    bias: float
    threshold: float
    lapse: float
    no_go: float
    seed: int


#: One subject learning the task; the stage the curriculum must suggest after each session.
SESSIONS = {
    "01-first-session": (Subject(260, EASY, 15.0, 120.0, 0.2, 0.04, 11), "easy_contrasts"),
    "02-good-session": (Subject(300, EASY, 4.0, 20.0, 0.05, 0.02, 12), "easy_contrasts"),
    "03-advances-to-all-contrasts": (Subject(320, EASY, 3.0, 18.0, 0.04, 0.02, 13), "all_contrasts"),
    "04-threshold-too-high": (Subject(420, ALL, 4.0, 40.0, 0.04, 0.02, 14), "all_contrasts"),
    "05-trained": (Subject(450, ALL, 2.0, 9.0, 0.04, 0.01, 15), "trained"),
}


def simulate(subject: Subject) -> pd.DataFrame:
    """A trials table (see curriculum_contract.sdk.metrics) drawn from the subject's psychometric curve."""
    rng = np.random.default_rng(subject.seed)
    n = subject.trials
    side = rng.choice([-1.0, 1.0], size=n)
    contrast = side * rng.choice(subject.contrasts, size=n)
    z = (contrast * 100.0 - subject.bias) / subject.threshold
    erf = np.array([math.erf(v) for v in z])
    p_right = subject.lapse + (1.0 - 2.0 * subject.lapse) * (1.0 + erf) / 2.0
    choice = np.where(rng.random(n) < p_right, 1, -1)
    choice[rng.random(n) < subject.no_go] = 0
    reaction = np.where(choice == 0, np.nan, np.round(rng.lognormal(-0.6, 0.5, n), 3))
    duration = np.where(choice == 0, 60.0, reaction) + 1.0 + rng.exponential(0.5, n)
    start = np.round(np.concatenate([[0.0], np.cumsum(duration)[:-1]]), 3)
    end = np.round(start + duration - 1.0, 3)
    return pd.DataFrame(
        {
            "signed_contrast": contrast,
            "choice": choice,
            "reaction_time": reaction,
            "start_time": start,
            "end_time": end,
        }
    )


def write_trials() -> None:
    for name, (subject, _stage) in SESSIONS.items():
        (DATA / name).mkdir(parents=True, exist_ok=True)
        simulate(subject).to_csv(DATA / name / "trials.csv", index=False)


def write_manifest() -> None:
    manifest = {
        "description": (
            "One simulated subject, session after session (oldest first), and what the curriculum decided after "
            "each. tests/test_replay.py replays them from enrollment; tests/sample_sessions.py rewrites each "
            "session's inputs from that replay, and with --accept this file too."
        ),
        "sessions": [{"session": name, "stage_after": stage} for name, (_subject, stage) in SESSIONS.items()],
    }
    (DATA / "replay.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def render(destination: Path) -> None:
    """The template with the sentinel answers, rendered from a plain copy (no git, no cache)."""
    import copier

    plain = destination.parent / "template-copy"
    shutil.copytree(ROOT / "template", plain / "template")
    shutil.copy2(ROOT / "copier.yml", plain / "copier.yml")
    data = {
        "curriculum_name": "sentinel-curriculum-zq",
        "package_name": "sentinel_curriculum_zq",
        "task_name": "SentinelTaskZq",
        "sdk_requirement": str(ROOT),
    }
    copier.run_copy(str(plain), destination, data=data, defaults=True, quiet=True, unsafe=False)


def to_jinja(text: str) -> str:
    for marker in ("{{", "{%", "{#"):
        if marker in text:
            raise ValueError(f"generated JSON contains {marker!r}: escape it before templating")
    for sentinel, variable in SENTINELS.items():
        text = text.replace(sentinel, variable)
    if "entinel" in text:
        raise ValueError("a sentinel answer was left in the generated JSON")
    return text


def write_inputs() -> None:
    with tempfile.TemporaryDirectory(prefix="template-samples-") as scratch:
        project = Path(scratch) / "project"
        render(project)
        for session in SESSIONS:  # regenerate from scratch: no stale inputs
            shutil.rmtree(project / "tests" / "data" / session / "curriculum", ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project / "tests")])}
        subprocess.run([sys.executable, "tests/sample_sessions.py", "--accept"], cwd=project, env=env, check=True)
        manifest = (project / "tests" / "data" / "replay.json").read_text(encoding="utf-8")
        got = {entry["session"]: entry["stage_after"] for entry in json.loads(manifest)["sessions"]}
        intended = {name: stage for name, (_subject, stage) in SESSIONS.items()}
        if got != intended:
            raise SystemExit(f"the template's curriculum no longer decides as SESSIONS intends: {got} != {intended}")
        (DATA / "replay.json").write_text(to_jinja(manifest), encoding="utf-8")
        for session in SESSIONS:
            for name in ("trainer_state.json", "history.json"):
                text = (project / "tests" / "data" / session / "curriculum" / name).read_text(encoding="utf-8")
                target = DATA / session / "curriculum" / f"{name}.jinja"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(to_jinja(text), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulate", action="store_true", help="also rewrite the trials tables")
    arguments = parser.parse_args()
    if arguments.simulate or not (DATA / "replay.json").is_file():
        if arguments.simulate:
            write_trials()
        write_manifest()
    write_inputs()


if __name__ == "__main__":
    main()
