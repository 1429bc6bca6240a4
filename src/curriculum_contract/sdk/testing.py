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

The sample sessions' ``curriculum run`` and ``curriculum init`` run as real processes of the repo's
own ``curriculum`` program, because stdout discipline only shows in a real process; the bad-input
checks call the same command in-process, which is much faster and maps errors the same way.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner, Result

from ._app import build_cli
from ._contract import LegacySuggestion, Suggestion
from ._errors import ExitCode
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
    "DEFAULT_TOLERANCE",
    "MANIFEST_FILE",
    "ContractSuite",
    "CurriculumProgram",
    "GoldenReplay",
    "RecordedSession",
    "SampleRun",
    "Tolerance",
    "assert_fails_cleanly",
    "assert_one_document",
    "decision_record",
    "fingerprint",
    "manifest_entry",
    "read_manifest",
    "run_samples",
]


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


def run_samples(program: CurriculumProgram, sessions: Sequence[Path]) -> dict[Path, SampleRun]:
    """Run the program on every sample session, a few at a time (each run is mostly start-up)."""
    from concurrent.futures import ThreadPoolExecutor

    before = {session: fingerprint(session) for session in sessions}
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        runs = dict(zip(sessions, pool.map(lambda s: program.run("run", "--path", str(s)), sessions), strict=True))
    return {session: SampleRun(runs[session], before[session]) for session in sessions}


def fingerprint(directory: Path) -> dict[str, str]:
    """Content hash of every file below ``directory``: proof the run changed nothing."""
    return {
        path.relative_to(directory).as_posix(): hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def assert_one_document(completed: subprocess.CompletedProcess[bytes]) -> Suggestion:
    """Exit 0 and exactly one JSON document and a newline on stdout, valid for both contract shapes."""
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 0, f"exit {completed.returncode}; stderr:\n{stderr}"
    stdout = completed.stdout.decode()
    assert stdout.endswith("\n") and stdout.count("\n") == 1, f"stdout is not one line of JSON:\n{stdout[:500]}"
    LegacySuggestion.model_validate_json(stdout)  # the shape the AIND launcher parses
    return Suggestion.model_validate_json(stdout)


def assert_fails_cleanly(result: Result, code: ExitCode, *mentions: str) -> None:
    """The documented exit code, an empty stdout and a one-line reason naming what is wrong."""
    assert result.exit_code == code, f"exit {result.exit_code}, expected {code}; stderr:\n{result.stderr}"
    assert result.stdout == "", f"stdout must be empty on failure, got:\n{result.stdout[:500]}"
    first = result.stderr.splitlines()[0]
    assert first.startswith("curriculum: error: "), first
    for mention in mentions:
        assert mention in first, f"{mention!r} not in the reason: {first}"


def _copy_session(session: Path, destination: Path) -> Path:
    return Path(shutil.copytree(session, destination / session.name))


class ContractSuite:
    """The contract checks; fixtures ``curriculum_spec``, ``curriculum_program``, ``curriculum_session``
    and ``curriculum_sample_runs`` come from the SDK's pytest plugin."""

    def invoke(self, spec: CurriculumSpec, args: Sequence[str]) -> Result:
        return CliRunner().invoke(build_cli(spec), list(args))

    def test_enrollment_round_trips(self, curriculum_spec: CurriculumSpec, tmp_path: Path) -> None:
        for stage in [None, *(s.name for s in curriculum_spec.trainer.curriculum.see_stages())]:
            state = curriculum_spec.enroll(stage)
            path = tmp_path / "state.json"
            path.write_text(state.model_dump_json(), encoding="utf-8")
            loaded, warnings = read_trainer_state(curriculum_spec, path)
            assert loaded.stage.name == state.stage.name and warnings == []
            assert loaded.model_dump(mode="json") == state.model_dump(mode="json")

    def test_init_prints_a_trainer_state(
        self, curriculum_spec: CurriculumSpec, curriculum_program: CurriculumProgram, tmp_path: Path
    ) -> None:
        completed = curriculum_program.run("init")
        assert completed.returncode == 0, completed.stderr.decode(errors="replace")
        path = tmp_path / "enrolled.json"
        path.write_bytes(completed.stdout)
        state, _ = read_trainer_state(curriculum_spec, path)
        assert state.stage.name == curriculum_spec.enroll().stage.name

    def test_run_prints_one_valid_document(
        self, curriculum_spec: CurriculumSpec, curriculum_sample_runs: dict[Path, SampleRun], curriculum_session: Path
    ) -> None:
        run = curriculum_sample_runs[curriculum_session]
        before = run.before
        suggestion = assert_one_document(run.completed)
        assert suggestion.curriculum_name == curriculum_spec.name
        created = set(suggestion.assets)
        after = {path: digest for path, digest in fingerprint(curriculum_session).items() if path not in created}
        assert after == before, "the run modified the session's data"

    def test_missing_directory_is_an_input_error(self, curriculum_spec: CurriculumSpec, tmp_path: Path) -> None:
        missing = tmp_path / "no-such-session"
        assert_fails_cleanly(
            self.invoke(curriculum_spec, ["run", "--path", str(missing)]), ExitCode.INPUT, str(missing)
        )

    def test_path_that_is_a_file_is_an_input_error(self, curriculum_spec: CurriculumSpec, tmp_path: Path) -> None:
        file = tmp_path / "a-file"
        file.write_text("not a session")
        result = self.invoke(curriculum_spec, ["run", "--path", str(file)])
        assert_fails_cleanly(result, ExitCode.INPUT, str(file), "not a directory")

    def test_missing_trainer_state_is_an_input_error(
        self, curriculum_spec: CurriculumSpec, curriculum_session: Path, tmp_path: Path
    ) -> None:
        session = _copy_session(curriculum_session, tmp_path)
        trainer_state_path(session).unlink()
        result = self.invoke(curriculum_spec, ["run", "--path", str(session)])
        assert_fails_cleanly(result, ExitCode.INPUT, str(trainer_state_path(session)))

    def test_corrupt_trainer_state_is_an_input_error(
        self, curriculum_spec: CurriculumSpec, curriculum_session: Path, tmp_path: Path
    ) -> None:
        session = _copy_session(curriculum_session, tmp_path)
        trainer_state_path(session).write_text('{"curriculum": {"name": ', encoding="utf-8")
        result = self.invoke(curriculum_spec, ["run", "--path", str(session)])
        assert_fails_cleanly(result, ExitCode.INPUT, "not valid JSON")

    def _edited_state(self, session: Path, **curriculum: str) -> None:
        path = trainer_state_path(session)
        state = json.loads(path.read_text(encoding="utf-8"))
        state["curriculum"].update(curriculum)
        path.write_text(json.dumps(state), encoding="utf-8")

    def test_other_curriculum_is_an_input_error(
        self, curriculum_spec: CurriculumSpec, curriculum_session: Path, tmp_path: Path
    ) -> None:
        session = _copy_session(curriculum_session, tmp_path)
        self._edited_state(session, name="SomeOtherCurriculum")
        result = self.invoke(curriculum_spec, ["run", "--path", str(session)])
        assert_fails_cleanly(result, ExitCode.INPUT, "SomeOtherCurriculum")

    def test_other_major_version_requires_a_migration(
        self, curriculum_spec: CurriculumSpec, curriculum_session: Path, tmp_path: Path
    ) -> None:
        session = _copy_session(curriculum_session, tmp_path)
        major = int(curriculum_spec.trainer.curriculum.version.split(".")[0])
        self._edited_state(session, version=f"{major + 1}.0.0")
        result = self.invoke(curriculum_spec, ["run", "--path", str(session)])
        assert_fails_cleanly(result, ExitCode.INPUT, "migration")

    def test_wrong_curriculum_name_is_a_usage_error(
        self, curriculum_spec: CurriculumSpec, curriculum_session: Path
    ) -> None:
        result = self.invoke(curriculum_spec, ["run", "--path", str(curriculum_session), "--curriculum", "nope"])
        assert_fails_cleanly(result, ExitCode.USAGE, "nope")

    def test_malformed_opt_is_a_usage_error(self, curriculum_spec: CurriculumSpec, curriculum_session: Path) -> None:
        result = self.invoke(curriculum_spec, ["run", "--path", str(curriculum_session), "--opt", "novalue"])
        assert_fails_cleanly(result, ExitCode.USAGE, "KEY=VALUE")

    def test_describe_names_every_stage(self, curriculum_spec: CurriculumSpec) -> None:
        text = self.invoke(curriculum_spec, ["describe"])
        mermaid = self.invoke(curriculum_spec, ["describe", "--format", "mermaid"])
        assert text.exit_code == 0 and mermaid.exit_code == 0, text.stderr + mermaid.stderr
        assert mermaid.stdout.startswith("flowchart")
        for stage in curriculum_spec.trainer.curriculum.see_stages():
            assert stage.name in text.stdout and stage.name in mermaid.stdout
