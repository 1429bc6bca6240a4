"""A curriculum repository's sample sessions, written by a simulated subject in closed loop.

``tests/data`` of a curriculum repo holds sample sessions and ``replay.json``, what the curriculum
decided after each: the golden replay test (``curriculum_contract.sdk.testing.GoldenReplay``) checks
that the curriculum still decides so. ``write_sample_sessions`` regenerates all of it, after a change
that is meant to change the suggestions.
"""

import json
import os
import shutil
from pathlib import Path

from .._files import write_text_atomic
from ..sdk._golden_manifest import MANIFEST_FILE, manifest_entry, read_manifest
from ..sdk._spec import CurriculumSpec
from ._loop import Subject, TrainingStep, run_training
from ._sessions import SESSION_FILE


def write_sample_sessions(
    spec: CurriculumSpec,
    subject: Subject,
    data_dir: str | os.PathLike[str],
    *,
    sessions: int,
    description: str,
) -> list[TrainingStep]:
    """Train ``subject`` for ``sessions`` sessions into ``data_dir`` and record them in its ``replay.json``.

    The simulated sessions the previous ``replay.json`` lists are removed first, and nothing else in
    ``data_dir``: hand-made samples next to them stay. ``description`` says in the manifest how the
    sessions were made and how to regenerate them.
    """
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    _clear_samples(data)
    steps = run_training(spec, subject, data, sessions=sessions)
    manifest = {
        "description": description,
        "curriculum_version": spec.package_version,
        "sessions": [manifest_entry(s.directory.name, s.stage, s.suggestion) for s in steps],
    }
    write_text_atomic(data / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    return steps


def _clear_samples(data: Path) -> None:
    """Remove the simulated sessions (folders with a ``session.json``) that ``data``'s manifest lists."""
    if not (data / MANIFEST_FILE).is_file():
        return
    for entry in read_manifest(data):  # every name checked before anything is removed
        folder = data / entry.session
        if (folder / SESSION_FILE).is_file():
            shutil.rmtree(folder)
