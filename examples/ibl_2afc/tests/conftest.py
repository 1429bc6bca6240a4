"""Start this package's own ``curriculum`` program, whether or not the test environment installed it.

The SDK's plugin starts the ``curriculum`` script found next to the running Python; an environment that
holds several curriculum packages (or none installed) would start the wrong one, so the contract checks
run the SDK's program on ``ibl_2afc.curriculum:SPEC`` with ``src/`` on ``PYTHONPATH`` instead.
"""

import os
import sys
from pathlib import Path

import pytest
from curriculum_contract.sdk.testing import CurriculumProgram

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="session")
def curriculum_program() -> CurriculumProgram:
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    return CurriculumProgram(
        argv=(
            sys.executable,
            "-c",
            "from curriculum_contract.sdk import main; main(specs=['ibl_2afc.curriculum:SPEC'])",
        ),
        env={"PYTHONPATH": path},
    )
