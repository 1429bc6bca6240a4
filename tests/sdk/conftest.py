"""Fixtures of the SDK's tests: the toy curriculum as the ``ContractSuite``'s subject."""

import shutil
from pathlib import Path

import pytest
from sdk_support import DATA, program

from curriculum_contract.sdk import CurriculumSpec
from curriculum_contract.sdk.testing import CurriculumProgram


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
    return Path(shutil.copytree(DATA, tmp_path / "data"))
