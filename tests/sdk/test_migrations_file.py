"""The stage migrations file (``migrations.toml``): read, checked against a curriculum, and the plugin's check.

The plugin's fixture runs in a nested pytest of a small repository, as a curriculum's own CI runs it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from curriculum_contract.sdk._errors import InputError
from curriculum_contract.sdk._migrations_file import read_migrations

GOOD = '[2]\nfrom = 1\n[2.stages]\nold_warmup = "warmup"\nold_main = "main"\nold_extra = "retired"\n'


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "migrations.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_maps_and_retires(tmp_path: Path) -> None:
    migrations = read_migrations(written(tmp_path, GOOD))
    assert migrations.problems("2.0.0", ["warmup", "main"]) == []
    assert migrations.route(1, "old_main", 2) == ("main", [2])
    assert migrations.route(1, "old_extra", 2) == (None, [2])


def test_tables_chain_across_majors(tmp_path: Path) -> None:
    text = GOOD + '[3]\nfrom = 2\n[3.stages]\nwarmup = "w3"\nmain = "m3"\n'
    migrations = read_migrations(written(tmp_path, text))
    assert migrations.route(1, "old_main", 3) == ("m3", [2, 3])
    assert migrations.problems("3.1.0", ["w3", "m3"]) == []


@pytest.mark.parametrize(
    ("text", "version", "expected"),
    [
        (GOOD, "2.0.0", "[2].stages.old_main = 'main' is not a stage of this version"),
        ("", "2.0.0", "no [2] table mapping major 1's stages"),
        (GOOD + '[3]\n[3.stages]\nwarmup = "x"\n', "2.0.0", "[3] is for a major version after this one"),
        (GOOD + '[3]\n[3.stages]\nwarmup = "x"\n', "3.0.0", "[2].stages.old_main -> 'main', which [3] does not map"),
    ],
)
def test_bad_files_name_the_field(tmp_path: Path, text: str, version: str, expected: str) -> None:
    problems = read_migrations(written(tmp_path, text)).problems(version, ["warmup"])
    assert any(expected in line for line in problems), problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[two]\n", r"\[two\]: expected a table per major version"),
        ("[2]\nfrom = 2\nstages = {}\n", r"\[2\]\.from: expected a major version below 2, got 2"),
        ("[2]\nstages = {a = 3}\n", r"\[2\]\.stages\.a: expected a stage name or \"retired\", got 3"),
        ("[2]\nmapping = {}\n", r"\[2\]: unknown key 'mapping'"),
        ("[2\n", "not valid TOML"),
    ],
)
def test_an_unreadable_file_is_an_input_error(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        read_migrations(written(tmp_path, text))


CURRICULUM = """
from typing import Literal
from aind_behavior_curriculum import Metrics, Stage, Task, TaskParameters, Trainer, create_curriculum
from curriculum_contract.sdk import CurriculumSpec

class P(TaskParameters):
    x: float = 1.0

class T(Task):
    name: Literal["T"] = "T"
    task_parameters: P

def metrics(data) -> Metrics:
    return Metrics()

C = create_curriculum("Mig", "2.0.0", (T,))()
C.add_stage(Stage(name="warmup", task=T(task_parameters=P())))
C.add_stage(Stage(name="main", task=T(task_parameters=P(x=2.0))))
SPEC = CurriculumSpec(trainer=Trainer(C), metrics=metrics, version="2.0.0")
"""

TEST = """
def test_stage_migrations(curriculum_migration_problems):
    assert curriculum_migration_problems == [], "\\\\n".join(curriculum_migration_problems)
"""


@pytest.mark.parametrize(("mapping", "passes"), [(GOOD, True), (GOOD.replace('"main"', '"mian"'), False)])
def test_the_plugin_checks_the_repository_file(tmp_path: Path, mapping: str, passes: bool) -> None:
    (tmp_path / "mig_curriculum.py").write_text(textwrap.dedent(CURRICULUM), encoding="utf-8")
    (tmp_path / "test_mig.py").write_text(TEST, encoding="utf-8")
    (tmp_path / "migrations.toml").write_text(mapping, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ncurriculum_spec = "mig_curriculum:SPEC"\npythonpath = ["."]\n', encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mig.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode == 0) is passes, done.stdout + done.stderr
    if not passes:
        assert "[2].stages.old_main = 'mian' is not a stage of this version" in done.stdout
