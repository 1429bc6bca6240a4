"""Run a curriculum program: argv list, contained, capped output, timeout, clean environment.

The program is someone else's code. On POSIX it runs under our supervisor (``_supervisor``: a child
subreaper that dies with the launcher), in a new session (its own process group): when the program
exits, times out, or the launcher dies (even by SIGKILL), everything it spawned is killed, daemons
that double-forked out of the group included. Nothing of the curriculum outlives its run, or touches
the session afterwards. stdout and stderr are drained concurrently into capped buffers so a chatty
program never blocks on a full pipe; the environment holds only what a program needs to start, never
the launcher's ``VIRTUAL_ENV``/``PYTHONPATH``.

Windows runs the program in a new process group and ends it with ``taskkill /T`` on timeout; a job
object with ``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`` (what containment needs there) is not written yet.

The command line and environment are built in ``_command_line``, the pipes drained in ``_capture``, the
group waited for and killed in ``_process_group``; their names stay importable from here.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ._capture import (
    _READ_CHUNK,  # noqa: F401
    _Drain,
)
from ._command_line import (
    _ESSENTIAL_VARS,  # noqa: F401
    _FORCED_VARS,  # noqa: F401
    Dialect,
    _abs,  # noqa: F401
    build_init_argv,
    build_run_argv,
    clean_environment,
)
from ._errors import ProcessFailed, TimedOut, last_line, tail_text
from ._process_group import (
    SUPERVISOR_MARGIN_S,
    _exited,  # noqa: F401
    _group_alive,  # noqa: F401
    _group_has_live_members,  # noqa: F401
    _kill_leftovers,
    _pidfd_open,  # noqa: F401
    _signal_group,
    _terminate_group,
    _wait_exit,
)

__all__ = [
    "SUPERVISOR",
    "SUPERVISOR_MARGIN_S",
    "Dialect",
    "ProcessResult",
    "Runner",
    "build_init_argv",
    "build_run_argv",
    "clean_environment",
    "run_process",
]

#: The supervisor script (standard library only: started with ``python -I -S``).
SUPERVISOR = Path(__file__).with_name("_supervisor.py")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessResult:
    """A finished program. A negative ``exit_code`` is the signal that killed it (POSIX)."""

    argv: list[str]
    exit_code: int
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    duration_s: float


class Runner(Protocol):
    """What runs a curriculum program, with :func:`run_process`'s signature; a test passes a fake.

    Returns the finished program (a non-zero exit included), raises ``TimedOut`` past ``timeout_s``
    and ``ProcessFailed`` when the program cannot be started.
    """

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout_s: float,
        env: Mapping[str, str] | None,
        hold_fds: Sequence[int] = (),
    ) -> ProcessResult: ...


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    max_output_bytes: int = 64 * 2**20,
    kill_grace_s: float = 2.0,
    contain: bool = True,
    hold_fds: Sequence[int] = (),
) -> ProcessResult:
    """Run ``argv`` to completion or timeout. Raises ``TimedOut``; a non-zero exit is returned, not raised.

    A program that cannot be started at all raises ``ProcessFailed`` (exit code 127 or 126).

    On timeout the whole process group gets SIGTERM, then SIGKILL after ``kill_grace_s``. ``contain``
    (POSIX) runs the program under the supervisor, which also kills what left the group and ends the
    program with the launcher. ``hold_fds`` (lock descriptors) stay open in the supervisor, never in the
    program, until it has killed everything: a launcher killed mid-run leaves its locks held until nothing
    of the run is left, so the next launch or ``recover`` never meets a live curriculum.
    """
    argv = [str(a) for a in argv]
    posix = os.name == "posix"
    status_r, status_w, command = -1, -1, argv
    if posix and contain and sys.executable:
        status_r, status_w = os.pipe()
        command = [
            sys.executable, "-I", "-S", str(SUPERVISOR), "--parent", str(os.getpid()),
            "--grace", f"{kill_grace_s / 2:g}", "--status", str(status_w), "--hold", ",".join(map(str, hold_fds)),
            "--", *argv,
        ]  # fmt: skip
    elif posix and contain:
        logger.warning("no Python interpreter to supervise %s: run without containment", argv[0])
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env) if env is not None else clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=posix,
            pass_fds=(status_w, *hold_fds) if status_r >= 0 else (),
            creationflags=0 if posix else subprocess.CREATE_NEW_PROCESS_GROUP,  # type: ignore[attr-defined]
        )
    except OSError as exc:
        if status_r >= 0:
            os.close(status_r)
            os.close(status_w)
        # The shell's conventions: 127 not found, 126 found but not runnable.
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        where = f" (in {cwd})" if isinstance(exc, FileNotFoundError) and not Path(cwd).is_dir() else ""
        raise ProcessFailed(
            f"cannot start {argv[0]}{where}: {exc.strerror or exc}", argv=argv, child_exit_code=code
        ) from None
    started: list[_Drain] = []
    try:  # from here on, an interruption (Ctrl-C) at any point still ends the process and reaps it
        if status_r >= 0:
            os.close(status_w)
        assert proc.stdout is not None and proc.stderr is not None
        out = _Drain(proc.stdout, max_output_bytes, "head")
        err = _Drain(proc.stderr, max_output_bytes, "tail")
        for drain in (out, err):
            drain.start()
            started.append(drain)
        deadline = start + timeout_s
        exited = _wait_exit(proc, deadline)
        if not exited:
            _terminate_group(proc, kill_grace_s, supervised=status_r >= 0)
        else:
            _kill_leftovers(proc)
        exit_code = proc.wait()
        duration = time.monotonic() - start
        # Every writer of the pipes is gone (or escaped the group): the drains reach EOF promptly.
        for drain in (out, err):
            drain.join(timeout=max(0.5, min(2.0, deadline - time.monotonic())))
    finally:
        start_failure = None
        if proc.poll() is None:  # only when interrupted above (e.g. KeyboardInterrupt): leave nothing running
            if posix:
                _signal_group(proc, signal.SIGKILL)
            proc.kill()
            proc.wait()
            for stream in (proc.stdout, proc.stderr):  # a drain closes its own stream at EOF
                if stream is not None and not any(drain.stream is stream for drain in started):
                    stream.close()
        if status_r >= 0:
            start_failure = _read_status(status_r)
    if start_failure is not None:
        raise start_failure
    stdout, stdout_truncated = out.result()
    stderr, stderr_truncated = err.result()
    if not exited:
        stderr_tail = tail_text(stderr)
        message = f"{argv[0]} did not finish within {timeout_s:g} s; its process group was killed"
        if line := last_line(stderr_tail):
            message += f" (last stderr line: {line[:200]})"
        raise TimedOut(message, timeout_s=timeout_s, argv=argv, stderr_tail=stderr_tail)
    return ProcessResult(
        argv=argv,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        stdout_truncated=stdout_truncated,
        stderr_truncated=stderr_truncated,
        duration_s=duration,
    )


def _read_status(fd: int) -> ProcessFailed | None:
    """The supervisor's report of a program it could not start (one JSON line), else None."""
    try:
        data = os.read(fd, 65536)
    except OSError:
        data = b""
    finally:
        os.close(fd)
    if not data:
        return None
    try:
        report = json.loads(data)
    except ValueError:
        return None
    program = str(report.get("filename"))
    code = 127 if report.get("errno") == 2 else 126
    return ProcessFailed(f"cannot start {program}: {report.get('strerror')}", argv=[program], child_exit_code=code)
