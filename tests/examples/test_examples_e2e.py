"""Each example's ``curriculum run --path <sample session>`` as a real process prints one valid document."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curriculum_contract.sdk.testing import assert_one_document, fingerprint

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_SOURCES = {name: EXAMPLES / name / "src" for name in ("ibl_2afc", "visual_behavior")}


#: The SDK's ``curriculum`` program, started on a spec named in the source tree (the examples are not installed).
PROGRAM = "from curriculum_contract.sdk import main"


@pytest.mark.e2e
@pytest.mark.parametrize("example", sorted(EXAMPLE_SOURCES))
def test_run_on_a_sample_session_prints_one_suggestion(example: str) -> None:
    manifest = json.loads((EXAMPLES / example / "tests" / "data" / "replay.json").read_text(encoding="utf-8"))
    last = manifest["sessions"][-1]
    session = EXAMPLES / example / "tests" / "data" / last["session"]
    before = fingerprint(session)
    completed = subprocess.run(
        [sys.executable, "-c", f"{PROGRAM}; main(specs=['{example}.curriculum:SPEC'])", "run", "--path", str(session)],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(EXAMPLE_SOURCES[example])},
    )
    suggestion = assert_one_document(completed)
    assert suggestion.trainer_state.stage.name == last["stage_after"]
    assert suggestion.data_directory == str(session.resolve())
    assert fingerprint(session) == before
