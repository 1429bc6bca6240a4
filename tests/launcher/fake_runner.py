"""Fakes of the two runners ``launch``/``enroll`` take (``runner=``, ``git=``): no process, no clock.

``FakeRunner(answer)`` records each call and returns (or raises) what ``answer(call)`` gives: a
``ProcessResult`` built with :func:`finished`, or a ``TimedOut``/``ProcessFailed`` to raise. ``FakeGit``
answers git's questions from a table. The real runners are covered by their own tests with real processes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fake_curriculum import suggest

from curriculum_contract.launcher_adapter._errors import TimedOut
from curriculum_contract.launcher_adapter._git import GitResult
from curriculum_contract.launcher_adapter._process import ProcessResult

#: The duration every fake program reports: a number no machine's speed changes.
FAKE_DURATION_S = 0.25


@dataclass(frozen=True)
class Call:
    """One call of the runner, as the adapter made it."""

    argv: list[str]
    cwd: Path
    timeout_s: float
    env: dict[str, str]

    def option(self, name: str) -> str | None:
        """The value after ``name`` on the command line, if it is there."""
        return self.argv[self.argv.index(name) + 1] if name in self.argv else None


class FakeRunner:
    """Stands in for ``run_process``: records each call; returns or raises what ``answer(call)`` gives."""

    def __init__(self, answer: Callable[[Call], ProcessResult | BaseException]) -> None:
        self.answer = answer
        self.calls: list[Call] = []

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout_s: float,
        env: Mapping[str, str] | None,
        hold_fds: Sequence[int] = (),
    ) -> ProcessResult:
        call = Call([str(part) for part in argv], Path(cwd), timeout_s, dict(env or {}))
        self.calls.append(call)
        outcome = self.answer(call)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def finished(
    call: Call, *, exit_code: int = 0, stdout: bytes = b"", stderr: bytes = b"", stdout_truncated: bool = False
) -> ProcessResult:
    """What ``run_process`` returns for a program that ended this way."""
    return ProcessResult(
        argv=call.argv,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        stdout_truncated=stdout_truncated,
        stderr_truncated=False,
        duration_s=FAKE_DURATION_S,
    )


def timed_out(call: Call) -> TimedOut:
    """What ``run_process`` raises when the program outlives ``call.timeout_s`` (its message included)."""
    return TimedOut(
        f"{call.argv[0]} did not finish within {call.timeout_s:g} s; its process group was killed "
        "(last stderr line: waiting for something that never comes)",
        timeout_s=call.timeout_s,
        argv=call.argv,
        stderr_tail="waiting for something that never comes\n",
    )


def suggests(call: Call) -> ProcessResult:
    """The fake curriculum's valid document for the session on the command line, computed in this process."""
    session = Path(call.option("--path") or call.option("--data-directory") or "")
    state_file = Path(call.option("--input-trainer-state") or session / "curriculum" / "trainer_state.json")
    return finished(call, stdout=json.dumps(suggest(session, state_file, legacy=False)).encode() + b"\n")


class FakeGit:
    """Stands in for ``run_git``: answers ``args`` from ``answers`` (stdout, or a full ``GitResult``).

    Questions it has no answer for fail like git outside a repository (exit 128); ``installed=False``
    raises ``FileNotFoundError`` as ``run_git`` does without git.
    """

    def __init__(self, answers: Mapping[tuple[str, ...], str | GitResult] | None = None, *, installed: bool = True):
        self.answers = dict(answers or {})
        self.installed = installed
        self.calls: list[tuple[tuple[str, ...], Path]] = []

    def __call__(self, args: Sequence[str], *, cwd: Path) -> GitResult:
        key = tuple(args)
        self.calls.append((key, Path(cwd)))
        if not self.installed:
            raise FileNotFoundError(2, "git is not installed (on PATH)", "git")
        answer = self.answers.get(key)
        if answer is None:
            return GitResult(key, 128, "", "fatal: not a git repository (or any of the parent directories): .git\n")
        if isinstance(answer, GitResult):
            return answer
        return GitResult(key, 0, answer, "")
