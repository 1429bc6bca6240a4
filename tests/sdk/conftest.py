"""The toy curricula under ``curricula/`` are importable modules; their sample sessions live in ``data/``."""

import sys
from pathlib import Path

import pytest

from curriculum_contract.sdk import CurriculumSpec
from curriculum_contract.sdk.testing import CurriculumProgram

CURRICULA = Path(__file__).parent / "curricula"
DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(CURRICULA))


def program(module: str) -> CurriculumProgram:
    """A curriculum module started as a real process, as its console script would be."""
    return CurriculumProgram(argv=(sys.executable, "-m", module), env={"PYTHONPATH": str(CURRICULA)})


@pytest.fixture(scope="session")
def curriculum_spec() -> CurriculumSpec:
    from toy_curriculum import SPEC

    return SPEC


@pytest.fixture(scope="session")
def curriculum_program() -> CurriculumProgram:
    return program("toy_curriculum")


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    """A writable copy of the sample sessions."""
    import shutil

    return Path(shutil.copytree(DATA, tmp_path / "data"))
