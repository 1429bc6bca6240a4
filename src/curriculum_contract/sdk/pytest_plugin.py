"""The SDK's pytest plugin (entry point ``pytest11``): configuration and fixtures for ``ContractSuite``.

ini options (``[tool.pytest.ini_options]``): ``curriculum_spec`` (``module:ATTRIBUTE`` of a
``CurriculumSpec``), ``curriculum_sessions`` (folder of sample sessions, one sub-folder each) and
``curriculum_migrations`` (the stage migrations file, default ``migrations.toml``, which the
``curriculum_migration_problems`` fixture checks).
Nothing happens in a test run that does not use these fixtures.
"""

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ._errors import InputError
from ._layout import trainer_state_path
from ._migrations_file import MIGRATIONS_FILE, Migrations, read_migrations
from ._spec import CurriculumSpec

if TYPE_CHECKING:
    from .testing import CurriculumProgram, SampleRun


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("curriculum_spec", "module:ATTRIBUTE of the repository's CurriculumSpec", default="")
    parser.addini("curriculum_sessions", "folder of sample session data directories", default="tests/data")
    parser.addini("curriculum_migrations", "the stage migrations file (docs/launcher.md)", default=MIGRATIONS_FILE)


def _sessions(config: pytest.Config) -> list[Path]:
    folder = Path(config.rootpath, config.getini("curriculum_sessions"))
    return sorted(p for p in folder.iterdir() if trainer_state_path(p).is_file()) if folder.is_dir() else []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "curriculum_session" in metafunc.fixturenames:
        sessions = _sessions(metafunc.config)
        if not sessions:
            folder = metafunc.config.getini("curriculum_sessions")
            raise pytest.UsageError(f"no sample session with curriculum/trainer_state.json under {folder}")
        metafunc.parametrize("curriculum_session", sessions, ids=[p.name for p in sessions])


@pytest.fixture(scope="session")
def curriculum_spec(pytestconfig: pytest.Config) -> CurriculumSpec:
    """The repository's ``CurriculumSpec``, from the ``curriculum_spec`` ini option."""
    target = pytestconfig.getini("curriculum_spec")
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise pytest.UsageError('set curriculum_spec = "package.module:SPEC" in [tool.pytest.ini_options]')
    spec = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(spec, CurriculumSpec):
        raise pytest.UsageError(f"{target} is a {type(spec).__name__}, not a CurriculumSpec")
    return spec


@pytest.fixture(scope="session")
def curriculum_program() -> "CurriculumProgram":
    """The repository's installed ``curriculum`` program; override to start it another way."""
    from .testing import CurriculumProgram

    return CurriculumProgram.installed()


@pytest.fixture(scope="session")
def curriculum_sessions(pytestconfig: pytest.Config) -> list[Path]:
    """Every sample session (a folder holding ``curriculum/trainer_state.json``)."""
    return _sessions(pytestconfig)


@pytest.fixture(scope="session")
def curriculum_sample_runs(
    curriculum_program: "CurriculumProgram", curriculum_sessions: list[Path]
) -> dict[Path, "SampleRun"]:
    """``curriculum run`` on every sample session, as real processes started a few at a time."""
    from .testing import run_samples

    return run_samples(curriculum_program, curriculum_sessions)


@pytest.fixture(scope="session")
def curriculum_migrations(pytestconfig: pytest.Config) -> Migrations:
    """The repository's stage migrations file, read as the launcher's ``migrate`` reads it (empty if absent)."""
    try:
        return read_migrations(Path(pytestconfig.rootpath, pytestconfig.getini("curriculum_migrations")))
    except InputError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def curriculum_migration_problems(curriculum_spec: CurriculumSpec, curriculum_migrations: Migrations) -> list[str]:
    """What is wrong with the migrations file for this version: a new major version must map every old stage
    onto a stage it has, or retire it. Empty when all is well (assert it in a test)."""
    curriculum = curriculum_spec.trainer.curriculum
    return curriculum_migrations.problems(curriculum.version, [stage.name for stage in curriculum.see_stages()])
