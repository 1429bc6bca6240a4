"""Contract checks a curriculum repository runs against itself (with the SDK's pytest plugin).

In the repository's ``pyproject.toml``::

    [tool.pytest.ini_options]
    curriculum_spec = "my_curriculum.curriculum:SPEC"
    curriculum_sessions = "tests/data"

and in ``tests/test_contract.py``::

    from curriculum_contract.sdk.testing import ContractSuite

    class TestContract(ContractSuite):
        '''The SDK's contract checks against this repository.'''

and in ``tests/test_replay.py``, the golden replay (``GoldenReplay``) of the sample sessions that
``tests/data/replay.json`` lists.

``curriculum run`` on the sample sessions and on the bad inputs, and ``curriculum init``, run as real
processes of the repo's own ``curriculum`` program: a launcher only ever sees the process, so only a
process shows what the curriculum's modules print at import time and which exit code its console script
really returns. They are started a few at a time, each once per test class. Enrollment and ``describe``
are checked in-process.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aind_behavior_curriculum import TrainerState
from click.testing import CliRunner, Result

from ._app import build_cli
from ._contract import LegacySuggestion, Suggestion
from ._errors import ExitCode, InputError
from ._golden import (
    DEFAULT_TOLERANCE,
    MANIFEST_FILE,
    GoldenReplay,
    RecordedSession,
    Tolerance,
    decision_record,
    manifest_entry,
    read_manifest,
)
from ._inputs import read_trainer_state
from ._layout import trainer_state_path
from ._spec import CurriculumSpec

__all__ = [
    "BAD_INPUTS",
    "DEFAULT_TOLERANCE",
    "MANIFEST_FILE",
    "REASON_PREFIX",
    "BadInput",
    "ContractSuite",
    "CurriculumProgram",
    "GoldenReplay",
    "RecordedSession",
    "SampleRun",
    "Tolerance",
    "assert_fails_cleanly",
    "assert_one_document",
    "assert_one_trainer_state",
    "bad_inputs",
    "decision_record",
    "fingerprint",
    "manifest_entry",
    "read_manifest",
    "run_samples",
]

#: What the reason's line on stderr starts with on every failure (docs/contract.md, section 4); what the
#: curriculum's own code printed may come before it.
REASON_PREFIX = "curriculum: error: "


@dataclass(frozen=True)
class CurriculumProgram:
    """How to start the repository's ``curriculum`` program as a process."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def installed(cls) -> "CurriculumProgram":
        """The ``curriculum`` script of the environment running the tests."""
        script = Path(sys.executable).parent / ("curriculum.exe" if os.name == "nt" else "curriculum")
        found = str(script) if script.exists() else shutil.which("curriculum")
        if found is None:
            raise FileNotFoundError(f"no `curriculum` program next to {sys.executable} or on PATH")
        return cls(argv=(found,))

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*self.argv, *args],
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **self.env},
            check=False,
        )


@dataclass(frozen=True)
class SampleRun:
    """A real ``curriculum run`` on one sample session, with the session's files before it."""

    completed: subprocess.CompletedProcess[bytes]
    before: dict[str, str]


def _run_all(program: CurriculumProgram, commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[bytes]]:
    """Each command line as its own process, a few at a time (each run is mostly start-up)."""
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda args: program.run(*args), commands))


def run_samples(program: CurriculumProgram, sessions: Sequence[Path]) -> dict[Path, SampleRun]:
    """Run the program on every sample session, a few at a time."""
    before = {session: fingerprint(session) for session in sessions}
    runs = _run_all(program, [("run", "--path", str(session)) for session in sessions])
    return {session: SampleRun(run, before[session]) for session, run in zip(sessions, runs, strict=True)}


def fingerprint(directory: Path) -> dict[str, str]:
    """Content hash of every file below ``directory``: proof the run changed nothing."""
    return {
        path.relative_to(directory).as_posix(): hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs between two fingerprints, one phrase per file."""
    changes = [f"{path} was deleted" for path in before if path not in after]
    changes += [f"{path} was modified" for path in before if path in after and after[path] != before[path]]
    changes += [f"{path} is new and not declared as an asset" for path in after if path not in before]
    return changes


def _stdout_lines(stdout: str) -> str:
    lines = stdout.splitlines()
    first = repr(lines[0][:200]) if lines else "nothing"
    return f"{len(lines)} line(s), the first: {first}"


def assert_one_document(completed: subprocess.CompletedProcess[bytes]) -> Suggestion:
    """Exit 0 and exactly one JSON document and a newline on stdout, valid for both contract shapes."""
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 0, f"exit {completed.returncode}; stderr:\n{stderr[-3000:]}"
    stdout = completed.stdout.decode(errors="replace")
    assert stdout.endswith("\n") and stdout.count("\n") == 1, (
        f"stdout must hold only the document and a newline, it holds {_stdout_lines(stdout)} "
        "(something printed to stdout besides the document, e.g. a module at import time)"
    )
    LegacySuggestion.model_validate_json(stdout)  # the shape the AIND launcher parses
    return Suggestion.model_validate_json(stdout)


def assert_one_trainer_state(
    completed: subprocess.CompletedProcess[bytes], spec: CurriculumSpec, scratch: Path
) -> TrainerState:
    """Exit 0 and exactly one JSON document on stdout that is a trainer state of ``spec`` (``curriculum init``);
    the document is read back through ``scratch/init-stdout.json``, as a launcher would store it."""
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 0, f"exit {completed.returncode}; stderr:\n{stderr[-3000:]}"
    stdout = completed.stdout.decode(errors="replace")
    try:
        json.loads(stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(
            f"init must print exactly one trainer state (one JSON document) on stdout: {error.msg} at line "
            f"{error.lineno}; stdout holds {_stdout_lines(stdout)}"
        ) from None
    path = scratch / "init-stdout.json"
    path.write_text(stdout, encoding="utf-8")
    try:
        state, _warnings = read_trainer_state(spec, path)
    except InputError as error:
        raise AssertionError(f"init printed a document that is not a trainer state: {error.reason}") from None
    return state


def _outcome(result: Result | subprocess.CompletedProcess[bytes]) -> tuple[int, str, str]:
    if isinstance(result, subprocess.CompletedProcess):
        return result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    return result.exit_code, result.stdout, result.stderr


def assert_fails_cleanly(result: Result | subprocess.CompletedProcess[bytes], code: ExitCode, *mentions: str) -> None:
    """The documented exit code, an empty stdout and a reason line on stderr naming what is wrong (an in-process
    click ``Result`` or a finished process)."""
    found, stdout, stderr = _outcome(result)
    assert found == code, f"exit {found}, expected {int(code)} ({code.name}); stderr:\n{stderr[-3000:]}"
    assert stdout == "", f"stdout must be empty on failure, it holds {_stdout_lines(stdout)}"
    reasons = [line for line in stderr.splitlines() if line.startswith(REASON_PREFIX)]
    assert reasons, f"stderr has no line starting {REASON_PREFIX!r}<reason>; it ends:\n{stderr[-1000:]}"
    for mention in mentions:
        assert mention in reasons[0], f"{mention!r} not in the reason: {reasons[0]}"


@dataclass(frozen=True)
class BadInput:
    """A ``curriculum`` command line the contract says must fail, and how."""

    args: tuple[str, ...]
    code: ExitCode
    mentions: tuple[str, ...] = ()
    """What the reason (stderr's ``curriculum: error:`` line) must name: the path, the bad value."""


#: The bad inputs ``bad_inputs`` prepares, by name.
BAD_INPUTS = (
    "missing-directory",
    "path-is-a-file",
    "missing-trainer-state",
    "corrupt-trainer-state",
    "other-curriculum",
    "other-major-version",
    "wrong-curriculum-name",
    "malformed-opt",
)


def _edit_curriculum(session: Path, **curriculum: str) -> None:
    path = trainer_state_path(session)
    state = json.loads(path.read_text(encoding="utf-8"))
    state["curriculum"].update(curriculum)
    path.write_text(json.dumps(state), encoding="utf-8")


def bad_inputs(spec: CurriculumSpec, session: Path, scratch: Path) -> dict[str, BadInput]:
    """Every one of ``BAD_INPUTS``, each prepared in its own copy of the sample ``session`` under ``scratch``."""
    scratch = scratch.resolve()

    def copy(name: str) -> Path:
        return Path(shutil.copytree(session, scratch / name / session.name))

    missing, a_file = scratch / "no-such-session", scratch / "a-file"
    a_file.write_text("not a session", encoding="utf-8")
    no_state = copy("missing-trainer-state")
    trainer_state_path(no_state).unlink()
    corrupt = copy("corrupt-trainer-state")
    trainer_state_path(corrupt).write_text('{"curriculum": {"name": ', encoding="utf-8")
    other = copy("other-curriculum")
    _edit_curriculum(other, name="SomeOtherCurriculum")
    newer = copy("other-major-version")
    _edit_curriculum(newer, version=f"{int(spec.trainer.curriculum.version.split('.')[0]) + 1}.0.0")
    run = ("run", "--path")
    return {
        "missing-directory": BadInput((*run, str(missing)), ExitCode.INPUT, (str(missing),)),
        "path-is-a-file": BadInput((*run, str(a_file)), ExitCode.INPUT, (str(a_file), "not a directory")),
        "missing-trainer-state": BadInput((*run, str(no_state)), ExitCode.INPUT, (str(trainer_state_path(no_state)),)),
        "corrupt-trainer-state": BadInput((*run, str(corrupt)), ExitCode.INPUT, ("not valid JSON",)),
        "other-curriculum": BadInput((*run, str(other)), ExitCode.INPUT, ("SomeOtherCurriculum",)),
        "other-major-version": BadInput((*run, str(newer)), ExitCode.INPUT, ("migration",)),
        "wrong-curriculum-name": BadInput((*run, str(session), "--curriculum", "nope"), ExitCode.USAGE, ("nope",)),
        "malformed-opt": BadInput((*run, str(session), "--opt", "novalue"), ExitCode.USAGE, ("KEY=VALUE",)),
    }


class ContractSuite:
    """The contract checks; fixtures ``curriculum_spec``, ``curriculum_program``, ``curriculum_session``,
    ``curriculum_sessions`` and ``curriculum_sample_runs`` come from the SDK's pytest plugin."""

    def invoke(self, spec: CurriculumSpec, args: Sequence[str]) -> Result:
        return CliRunner().invoke(build_cli(spec), list(args))

    @pytest.fixture(scope="class")
    def curriculum_bad_runs(
        self,
        curriculum_spec: CurriculumSpec,
        curriculum_program: CurriculumProgram,
        curriculum_sessions: list[Path],
        tmp_path_factory: pytest.TempPathFactory,
    ) -> dict[str, tuple[BadInput, subprocess.CompletedProcess[bytes]]]:
        """Every bad input, run by the real program on copies of the first sample session."""
        if not curriculum_sessions:
            raise pytest.UsageError("no sample session to derive the bad inputs from (see curriculum_sessions)")
        cases = bad_inputs(curriculum_spec, curriculum_sessions[0], tmp_path_factory.mktemp("bad-inputs"))
        runs = _run_all(curriculum_program, [case.args for case in cases.values()])
        return {name: (case, run) for (name, case), run in zip(cases.items(), runs, strict=True)}

    def test_enrollment_round_trips(self, curriculum_spec: CurriculumSpec, tmp_path: Path) -> None:
        for stage in [None, *(s.name for s in curriculum_spec.trainer.curriculum.see_stages())]:
            state = curriculum_spec.enroll(stage)
            path = tmp_path / "state.json"
            path.write_text(state.model_dump_json(), encoding="utf-8")
            loaded, warnings = read_trainer_state(curriculum_spec, path)
            assert loaded.stage.name == state.stage.name and warnings == []
            assert loaded.model_dump(mode="json") == state.model_dump(mode="json")

    def test_init_prints_one_trainer_state(
        self, curriculum_spec: CurriculumSpec, curriculum_program: CurriculumProgram, tmp_path: Path
    ) -> None:
        state = assert_one_trainer_state(curriculum_program.run("init"), curriculum_spec, tmp_path)
        first = curriculum_spec.enroll().stage.name
        assert state.stage.name == first, f"init enrolled at stage {state.stage.name!r}, the first is {first!r}"

    def test_run_prints_one_valid_document(
        self, curriculum_spec: CurriculumSpec, curriculum_sample_runs: dict[Path, SampleRun], curriculum_session: Path
    ) -> None:
        run = curriculum_sample_runs[curriculum_session]
        suggestion = assert_one_document(run.completed)
        assert suggestion.curriculum_name == curriculum_spec.name
        created = set(suggestion.assets)
        after = {path: digest for path, digest in fingerprint(curriculum_session).items() if path not in created}
        changes = _changes(run.before, after)
        assert not changes, f"the run changed the session's data: {'; '.join(changes)}"

    @pytest.mark.parametrize("bad_input", BAD_INPUTS)
    def test_bad_input_fails_cleanly(
        self, bad_input: str, curriculum_bad_runs: dict[str, tuple[BadInput, subprocess.CompletedProcess[bytes]]]
    ) -> None:
        case, completed = curriculum_bad_runs[bad_input]
        assert_fails_cleanly(completed, case.code, *case.mentions)

    def test_describe_names_every_stage(self, curriculum_spec: CurriculumSpec) -> None:
        text = self.invoke(curriculum_spec, ["describe"])
        mermaid = self.invoke(curriculum_spec, ["describe", "--format", "mermaid"])
        assert text.exit_code == 0 and mermaid.exit_code == 0, text.stderr + mermaid.stderr
        assert mermaid.stdout.startswith("flowchart")
        for stage in curriculum_spec.trainer.curriculum.see_stages():
            assert stage.name in text.stdout and stage.name in mermaid.stdout
