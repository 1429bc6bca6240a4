"""The repository's ``curriculum`` program as a launcher sees it: a process, its exit code, its two streams.

What ``ContractSuite`` asserts about a run (one document on stdout; a clean failure's exit code and reason
line; the session's files untouched), usable on its own in a curriculum's tests.
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

from aind_behavior_curriculum import TrainerState
from click.testing import Result

from ._contract import LegacySuggestion, Suggestion
from ._errors import ExitCode, InputError
from ._inputs import read_trainer_state
from ._spec import CurriculumSpec

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


def run_all(program: CurriculumProgram, commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[bytes]]:
    """Each command line as its own process, a few at a time (each run is mostly start-up)."""
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda args: program.run(*args), commands))


def run_samples(program: CurriculumProgram, sessions: Sequence[Path]) -> dict[Path, SampleRun]:
    """Run the program on every sample session, a few at a time."""
    before = {session: fingerprint(session) for session in sessions}
    runs = run_all(program, [("run", "--path", str(session)) for session in sessions])
    return {session: SampleRun(run, before[session]) for session, run in zip(sessions, runs, strict=True)}


def fingerprint(directory: Path) -> dict[str, str]:
    """Content hash of every file below ``directory``: proof the run changed nothing."""
    return {
        path.relative_to(directory).as_posix(): hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def file_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
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
