"""The toy curricula under ``curricula/`` are importable modules; their sample sessions live in ``data/``."""

import sys
from pathlib import Path

from curriculum_contract.sdk.testing import CurriculumProgram

CURRICULA = Path(__file__).parent / "curricula"
DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(CURRICULA))


def program(module: str) -> CurriculumProgram:
    """A curriculum module started as a real process, as its console script would be."""
    return CurriculumProgram(argv=(sys.executable, "-m", module), env={"PYTHONPATH": str(CURRICULA)})
