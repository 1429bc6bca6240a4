"""``ContractSuite`` fails a curriculum that breaks the contract, on the check and with the message that say why.

Each test writes a small curriculum repository with one defect switched on (the toy curriculum wrapped the
way a lab might wrap it, started as its console script would be) and runs its contract checks in a nested
pytest; the same repository with no defect passes, so the suite tells the two apart.
"""

import shutil
import textwrap
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sdk_support import CURRICULA, DATA

from curriculum_contract.sdk.testing import BAD_INPUTS

pytest_plugins = ["pytester"]

SESSIONS = sorted(p.name for p in DATA.iterdir() if p.is_dir())
RUNS = tuple(f"test_run_prints_one_valid_document[{session}]" for session in SESSIONS)
BAD = tuple(f"test_bad_input_fails_cleanly[{name}]" for name in BAD_INPUTS)
INIT = ("test_init_prints_one_trainer_state",)


@dataclass(frozen=True)
class Defect:
    """Code a lab might put in its curriculum package, and the checks that must then fail with which phrase."""

    fails: dict[str, str] = field(default_factory=dict)
    at_import: str = ""
    in_metrics: str = ""
    main: str = "cli()"


DEFECTS = {
    "none": Defect(),
    "prints-at-import": Defect(
        {
            **dict.fromkeys(RUNS, "the first: 'lab_curriculum: loading the stages'"),
            **dict.fromkeys(INIT, "init must print exactly one trainer state"),
            **dict.fromkeys(BAD, "stdout must be empty on failure"),
        },
        at_import='print("lab_curriculum: loading the stages")',
    ),
    "swallows-the-exit-code": Defect(
        dict.fromkeys(BAD, "exit 0, expected"),
        main="""\
        try:
            cli()
        except SystemExit as exit:  # reported, then dropped: the process exits 0
            if exit.code:
                print(f"the curriculum failed ({exit.code})", file=sys.stderr)
        """,
    ),
    "exits-1-on-any-failure": Defect(
        dict.fromkeys(BAD, "exit 1, expected"),
        main="""\
        try:
            cli()
        except SystemExit as exit:
            sys.exit(1 if exit.code else 0)
        """,
    ),
    "reports-failures-its-own-way": Defect(
        dict.fromkeys(BAD, "stderr has no line starting 'curriculum: error: '<reason>"),
        main="""\
        captured = io.StringIO()
        try:
            with contextlib.redirect_stderr(captured):  # the SDK's reason line replaced by the lab's own
                cli()
        except SystemExit as exit:
            if exit.code:
                print("ERROR", captured.getvalue().splitlines()[0].split(": ")[-1], file=sys.stderr)
            sys.exit(exit.code)
        """,
    ),
    "modifies-the-trials": Defect(
        dict.fromkeys(RUNS, "exit 6; stderr:\ncurriculum: error: the curriculum changed data directory"),
        in_metrics="""\
        with open(data_directory / "trials.csv", "a", encoding="utf-8") as trials:
            trials.write("\\n")
        """,
    ),
    "creates-an-undeclared-file": Defect(
        dict.fromkeys(RUNS, "metrics-cache.json is new but not declared"),
        in_metrics='(data_directory / "metrics-cache.json").write_text("{}")',
    ),
    "writes-into-the-session-at-exit": Defect(  # after the SDK's own check: only the suite's fingerprint sees it
        dict.fromkeys(RUNS, "the run changed the session's data: metrics-cache.json is new and not declared"),
        in_metrics='atexit.register((data_directory / "metrics-cache.json").write_text, "{}")',
    ),
    "init-prints-a-banner": Defect(
        dict.fromkeys(INIT, "the first: 'Enrolling a new subject'"),
        main='if sys.argv[1:2] == ["init"]:\n    print("Enrolling a new subject")\ncli()',
    ),
    "init-prints-the-parameters": Defect(
        dict.fromkeys(INIT, "init printed a document that is not a trainer state"),
        main="""\
        if sys.argv[1:2] == ["init"]:  # its own init: the first stage's parameters, not a trainer state
            print(STAGE_A.task.task_parameters.model_dump_json())
        else:
            cli()
        """,
    ),
}

CURRICULUM = '''\
"""The toy curriculum as a lab's package: defect {defect!r}."""

import atexit
import contextlib
import io
import sys
from pathlib import Path

from toy_curriculum import STAGE_A, TRAINER, ToyMetrics, __version__, compute_metrics

from curriculum_contract.sdk import CurriculumSpec, build_cli

{at_import}


def metrics(data_directory: Path) -> ToyMetrics:
    result = compute_metrics(data_directory)
{in_metrics}
    return result


SPEC = CurriculumSpec(trainer=TRAINER, metrics=metrics, version=__version__)
cli = build_cli(SPEC)


def main() -> None:
    """The console script: ``[project.scripts] curriculum = "lab_curriculum.curriculum:main"``."""
{main_body}
'''

CONFTEST = '''\
import sys
from pathlib import Path

import pytest

from curriculum_contract.sdk.testing import CurriculumProgram

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="session")
def curriculum_program() -> CurriculumProgram:
    """What the installer's console script does: import ``main``, exit with what it returns."""
    script = "import sys; from lab_curriculum.curriculum import main; sys.exit(main())"
    return CurriculumProgram(argv=(sys.executable, "-c", script), env={"PYTHONPATH": str(SRC)})
'''

PYPROJECT = """\
[project]
name = "lab-curriculum"
version = "1.2.0"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
addopts = ["--strict-markers", "-ra"]
xfail_strict = true
filterwarnings = ["error", "ignore::DeprecationWarning"]
curriculum_spec = "lab_curriculum.curriculum:SPEC"
curriculum_sessions = "tests/data"
"""


def _block(code: str, indent: str) -> str:
    return textwrap.indent(textwrap.dedent(code), indent).rstrip("\n") if code else ""


def write_repository(root: Path, defect: str) -> None:
    """A curriculum repository as the template lays it out, its package carrying ``defect``."""
    chosen = DEFECTS[defect]
    package = root / "src" / "lab_curriculum"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    source = CURRICULUM.format(
        defect=defect,
        at_import=chosen.at_import,
        in_metrics=_block(chosen.in_metrics, " " * 4),
        main_body=_block(chosen.main, " " * 4),
    )
    (package / "curriculum.py").write_text(source)
    shutil.copy2(CURRICULA / "toy_curriculum.py", root / "src" / "toy_curriculum.py")
    (root / "pyproject.toml").write_text(PYPROJECT)
    tests = root / "tests"
    shutil.copytree(DATA, tests / "data")
    (tests / "conftest.py").write_text(CONFTEST)
    (tests / "test_contract.py").write_text(
        "from curriculum_contract.sdk.testing import ContractSuite\n\n\nclass TestContract(ContractSuite):\n    pass\n"
    )


def _outcomes(report: Path) -> tuple[set[str], dict[str, str]]:
    """Names of the tests that ran, and each failure's message, from a JUnit XML report."""
    ran, failed = set(), {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        ran.add(case.attrib["name"])
        for problem in [*case.iter("failure"), *case.iter("error")]:
            failed[case.attrib["name"]] = problem.attrib.get("message", "") + (problem.text or "")
    return ran, failed


@pytest.mark.e2e
@pytest.mark.parametrize("defect", list(DEFECTS))
def test_the_suite_fails_exactly_the_broken_checks(pytester: pytest.Pytester, defect: str) -> None:
    write_repository(pytester.path, defect)
    report = pytester.path / "report.xml"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--junitxml={report}", timeout=600)
    ran, failed = _outcomes(report)
    expected = DEFECTS[defect].fails
    assert {*RUNS, *BAD, *INIT, "test_enrollment_round_trips", "test_describe_names_every_stage"} <= ran
    assert set(failed) == set(expected), "\n".join(result.outlines[-40:])
    for name, phrase in expected.items():
        assert phrase in failed[name], f"{name}: {phrase!r} not in:\n{failed[name][:2000]}"
    assert result.ret == (0 if not expected else 1)
