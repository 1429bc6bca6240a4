"""The SDK's ``curriculum`` program (``curriculum_contract.sdk:main``) as real processes.

The curriculum package is written to a tmp dir with the ``.dist-info`` an installer would write next to it, so
``importlib.metadata`` finds its spec entry point as it would in an installed environment. Its modules write
to stdout at import time every way they can (``print``, ``os.write`` to fd 1, buffered C ``printf``) and its
metrics function does again while running.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sdk_support import CURRICULA, DATA

from curriculum_contract.sdk import ExitCode
from curriculum_contract.sdk.testing import CurriculumProgram, assert_one_document

IMPORT_NOISE = [
    "print() at import of noisy_pkg.metrics",
    "os.write to fd 1 at import of noisy_pkg.metrics",
    "printf at import, buffered, no newline",
]
RUN_NOISE = ["print() from the metrics function", "os.write to fd 1 from the metrics function"]
SPEC_ENTRY_POINT = "noisy = noisy_pkg.curriculum:SPEC"

MODULES = {
    "__init__.py": "",
    "metrics.py": """
        import ctypes
        import os

        from toy_curriculum import compute_metrics

        print("print() at import of noisy_pkg.metrics")
        os.write(1, b"os.write to fd 1 at import of noisy_pkg.metrics\\n")
        ctypes.CDLL(None).printf(b"printf at import, buffered, no newline")


        def noisy_metrics(data_directory, **opts):
            print("print() from the metrics function")
            os.write(1, b"os.write to fd 1 from the metrics function\\n")
            return compute_metrics(data_directory, **opts)
        """,
    "curriculum.py": """
        from toy_curriculum import TRAINER

        from curriculum_contract.sdk import CurriculumSpec, build_cli

        from .metrics import noisy_metrics

        SPEC = CurriculumSpec(trainer=TRAINER, metrics=noisy_metrics, version="1.2.0")
        main = build_cli(SPEC)  # the older console script, for comparison
        """,
    "other.py": """
        from aind_behavior_curriculum import Stage, Trainer, create_curriculum
        from toy_curriculum import ToyParameters, ToyTask, compute_metrics

        from curriculum_contract.sdk import CurriculumSpec

        CURRICULUM = create_curriculum("OtherCurriculum", "0.3.0", (ToyTask,))()
        CURRICULUM.add_stage(Stage(name="only", task=ToyTask(task_parameters=ToyParameters())))
        SPEC = CurriculumSpec(trainer=Trainer(CURRICULUM), metrics=compute_metrics)
        """,
    "broken.py": """
        print("print() before the import fails")
        SPEC = 1 / 0
        """,
    "quietly_broken.py": "SPEC = 1 / 0\n",
    "wrong.py": "SPEC = {'not': 'a CurriculumSpec'}\n",
}


def write_modules(site: Path) -> Path:
    """The ``noisy_pkg`` import package under ``site``."""
    package = site / "noisy_pkg"
    package.mkdir(parents=True)
    for name, text in MODULES.items():
        (package / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return site


def write_package(site: Path, *entry_points: str) -> Path:
    """``noisy_pkg`` and its distribution metadata, declaring ``entry_points`` in the specs group."""
    write_modules(site)
    dist_info = site / "noisy_pkg-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: noisy-pkg\nVersion: 0.1.0\n", encoding="utf-8")
    lines = ["[console_scripts]", "curriculum = curriculum_contract.sdk:main", ""]
    if entry_points:
        lines += ["[curriculum_contract.specs]", *entry_points]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return site


def sdk_program(site: Path) -> CurriculumProgram:
    """What the installed console script does: import the SDK's ``main`` and exit with it."""
    code = "import sys; from curriculum_contract.sdk import main; sys.exit(main())"
    return CurriculumProgram(argv=(sys.executable, "-c", code), env={"PYTHONPATH": f"{site}{os.pathsep}{CURRICULA}"})


@pytest.fixture
def noisy(tmp_path: Path) -> CurriculumProgram:
    return sdk_program(write_package(tmp_path / "site", SPEC_ENTRY_POINT))


def text(stream: bytes) -> str:
    return stream.decode(errors="replace")


def test_run_prints_only_the_document_whatever_the_package_prints(noisy: CurriculumProgram) -> None:
    completed = noisy.run("run", "--path", str(DATA / "advances"))
    suggestion = assert_one_document(completed)
    assert suggestion.trainer_state.stage.name == "stage_b"
    for noise in IMPORT_NOISE + RUN_NOISE:
        assert noise in text(completed.stderr)


def test_init_prints_only_the_trainer_state(noisy: CurriculumProgram) -> None:
    completed = noisy.run("init")
    assert completed.returncode == 0, text(completed.stderr)
    assert completed.stdout.endswith(b"\n") and completed.stdout.count(b"\n") == 1, completed.stdout[:300]
    state = json.loads(completed.stdout)
    assert (state["curriculum"]["name"], state["stage"]["name"]) == ("ToyCurriculum", "stage_a")
    for noise in IMPORT_NOISE:
        assert noise in text(completed.stderr)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["version"], "1.2.0\n"),
        (["list"], "ToyCurriculum\n"),
        (["describe", "--format", "mermaid"], "flowchart"),
        (["--help"], "Usage: curriculum [OPTIONS] COMMAND [ARGS]..."),
        (["run", "--help"], "Usage: curriculum run [OPTIONS]"),
    ],
)
def test_text_commands_reach_stdout_cleanly(noisy: CurriculumProgram, args: list[str], expected: str) -> None:
    completed = noisy.run(*args)
    assert completed.returncode == 0, text(completed.stderr)
    assert text(completed.stdout).startswith(expected)
    assert not [noise for noise in IMPORT_NOISE + RUN_NOISE if noise in text(completed.stdout)]


def test_schema_is_the_committed_schema(noisy: CurriculumProgram) -> None:
    from curriculum_contract.sdk._schema import committed_schema_text

    completed = noisy.run("schema")
    assert completed.returncode == 0, text(completed.stderr)
    assert text(completed.stdout) == committed_schema_text("suggestion")


def test_several_entry_points_make_one_program(tmp_path: Path) -> None:
    program = sdk_program(write_package(tmp_path / "site", SPEC_ENTRY_POINT, "other = noisy_pkg.other:SPEC"))
    listed = program.run("list")
    assert listed.returncode == 0, text(listed.stderr)
    assert text(listed.stdout) == "ToyCurriculum\nOtherCurriculum\n"
    enrolled = program.run("init", "--curriculum", "OtherCurriculum")
    assert json.loads(enrolled.stdout)["stage"]["name"] == "only"
    suggestion = assert_one_document(program.run("run", "--path", str(DATA / "advances")))  # the state names it
    assert suggestion.curriculum_name == "ToyCurriculum"


@pytest.mark.parametrize(
    ("entry_points", "reason"),
    [
        (
            ["noisy = noisy_pkg.quietly_broken:SPEC"],
            "cannot load entry point noisy = 'noisy_pkg.quietly_broken:SPEC' (group curriculum_contract.specs, "
            "distribution noisy-pkg 0.1.0): ZeroDivisionError: division by zero",
        ),
        (
            ["noisy = noisy_pkg.missing:SPEC"],
            "cannot load entry point noisy = 'noisy_pkg.missing:SPEC' (group curriculum_contract.specs, "
            "distribution noisy-pkg 0.1.0): ModuleNotFoundError: No module named 'noisy_pkg.missing'",
        ),
        (
            ["noisy = noisy_pkg.wrong:SPEC"],
            "entry point noisy = 'noisy_pkg.wrong:SPEC' (group curriculum_contract.specs, distribution noisy-pkg "
            "0.1.0) names a dict, not a CurriculumSpec",
        ),
        ([], "no curriculum is installed: no entry point in group curriculum_contract.specs"),
    ],
    ids=["import-raises", "module-missing", "not-a-spec", "no-entry-point"],
)
def test_a_spec_that_cannot_load_is_exit_7_with_one_line(tmp_path: Path, entry_points: list[str], reason: str) -> None:
    program = sdk_program(write_package(tmp_path / "site", *entry_points))
    for args in (["run", "--path", str(DATA / "advances")], ["init"], ["version"]):
        completed = program.run(*args)
        assert completed.returncode == ExitCode.LOAD == 7, text(completed.stderr)
        assert completed.stdout == b""
        first, *details = text(completed.stderr).splitlines()
        assert first.startswith(f"curriculum: error: {reason}"), first
    if entry_points and "wrong" not in entry_points[0]:
        assert details[0] == "Traceback (most recent call last):"


def test_what_a_failing_import_printed_stays_on_stderr(tmp_path: Path) -> None:
    program = sdk_program(write_package(tmp_path / "site", "noisy = noisy_pkg.broken:SPEC"))
    completed = program.run("run", "--path", str(DATA / "advances"))
    assert completed.returncode == 7 and completed.stdout == b""
    lines = text(completed.stderr).splitlines()
    assert lines[0] == "print() before the import fails"
    assert lines[1].startswith("curriculum: error: cannot load entry point noisy = 'noisy_pkg.broken:SPEC'")


def test_help_and_schema_need_no_curriculum(tmp_path: Path) -> None:
    program = sdk_program(write_package(tmp_path / "site", "noisy = noisy_pkg.broken:SPEC"))
    for args in (["--help"], ["schema", "--history"], ["dsl-version"]):
        completed = program.run(*args)
        assert completed.returncode == 0, text(completed.stderr)
        assert "print() before the import fails" not in text(completed.stdout + completed.stderr)


def test_explicit_specs_load_the_same_way(tmp_path: Path) -> None:
    """``main(specs=[...])``: a source tree that is not installed (no entry point at all)."""
    site = write_package(tmp_path / "site")
    code = "import sys; from curriculum_contract.sdk import main; sys.exit(main(specs=['noisy_pkg.curriculum:SPEC']))"
    program = CurriculumProgram(argv=(sys.executable, "-c", code), env=sdk_program(site).env)
    assert_one_document(program.run("run", "--path", str(DATA / "advances")))
    broken = CurriculumProgram(
        argv=(sys.executable, "-c", code.replace("curriculum:SPEC", "quietly_broken:SPEC")), env=program.env
    )
    completed = broken.run("init")
    assert completed.returncode == 7 and completed.stdout == b""
    assert text(completed.stderr).startswith("curriculum: error: cannot load curriculum spec 'noisy_pkg.quietly_")


def test_the_older_build_cli_script_leaks_import_noise_onto_stdout(noisy: CurriculumProgram, tmp_path: Path) -> None:
    """The checker can fail: the same package through ``main = build_cli(SPEC)`` breaks the contract."""
    older = CurriculumProgram(
        argv=(sys.executable, "-c", "from noisy_pkg.curriculum import main; main()"), env=noisy.env
    )
    for args in (["run", "--path", str(DATA / "advances")], ["init"]):
        completed = older.run(*args)
        assert completed.returncode == 0, text(completed.stderr)
        assert text(completed.stdout).startswith(IMPORT_NOISE[0])
        with pytest.raises(AssertionError):  # the contract check rejects it
            assert_one_document(completed)
    run = older.run("run", "--path", str(DATA / "advances"))
    assert not [noise for noise in RUN_NOISE if noise in text(run.stdout)]  # noise while running is still guarded


@pytest.mark.e2e
def test_an_installed_console_script(tmp_path: Path) -> None:
    """uv installs this checkout and a package whose `curriculum` script is the SDK's; the script runs clean."""
    from curriculum_contract.scaffold._process import uv_executable

    root = Path(__file__).resolve().parents[2]
    project = tmp_path / "noisy-pkg"
    write_modules(project / "src")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["hatchling>=1.25"]
            build-backend = "hatchling.build"

            [project]
            name = "noisy-pkg"
            version = "0.1.0"
            dependencies = ["curriculum-contract"]

            [project.scripts]
            curriculum = "curriculum_contract.sdk:main"

            [project.entry-points."curriculum_contract.specs"]
            noisy = "noisy_pkg.curriculum:SPEC"

            [tool.hatch.build.targets.wheel]
            packages = ["src/noisy_pkg"]
            """
        ),
        encoding="utf-8",
    )
    venv = tmp_path / "venv"
    uv = uv_executable()
    for argv in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(root), str(project)],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
        assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stderr}"
    script = venv / ("Scripts" if os.name == "nt" else "bin") / "curriculum"
    program = CurriculumProgram(argv=(str(script),), env={"PYTHONPATH": str(CURRICULA)})
    completed = program.run("run", "--path", str(DATA / "advances"))
    assert_one_document(completed)
    for noise in IMPORT_NOISE + RUN_NOISE:
        assert noise in text(completed.stderr)
    enrolled = program.run("init")
    assert enrolled.returncode == 0 and json.loads(enrolled.stdout)["stage"]["name"] == "stage_a"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["run", "--bogus"], "No such option '--bogus'"),
        (["run"], "Missing option '--path'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["--bogus"], "No such option '--bogus'"),
        (["simulate", "--out", "x", "--subjects", "0"], "Invalid value for '--subjects': 0 is not in the range x>=1"),
    ],
)
def test_a_usage_error_of_click_has_the_contract_error_line(
    noisy: CurriculumProgram, args: list[str], reason: str
) -> None:
    """contract.md section 4: exit 2, stdout empty, and `curriculum: error: <reason>` for the launcher to show."""
    completed = noisy.run(*args)
    assert completed.returncode == ExitCode.USAGE == 2 and completed.stdout == b""
    errors = [line for line in text(completed.stderr).splitlines() if line.startswith("curriculum: error: ")]
    assert errors and errors[0].startswith(f"curriculum: error: {reason}"), text(completed.stderr)
    assert "Usage: curriculum" in text(completed.stderr)  # click's usage stays under it, as details
