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
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol

from ._errors import ProcessFailed, TimedOut, last_line, tail_text

Dialect = Literal["contract", "aind"]

#: Variables a program needs to start and find its locale, temp dir and home, on POSIX and Windows.
_ESSENTIAL_VARS = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE", "APPDATA",
    "LOCALAPPDATA", "PROGRAMDATA", "HOMEDRIVE", "HOMEPATH", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE",
)  # fmt: skip
_FORCED_VARS = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
_READ_CHUNK = 1 << 16
#: The supervisor script (standard library only: started with ``python -I -S``).
SUPERVISOR = Path(__file__).with_name("_supervisor.py")
#: How long past the kill grace the launcher waits for the supervisor to finish killing everything.
SUPERVISOR_MARGIN_S = 10.0

logger = logging.getLogger(__name__)


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a curriculum runs with: essentials of ours, UTF-8 unbuffered output, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k in _ESSENTIAL_VARS or k.startswith("LC_")}
    env.update(_FORCED_VARS)
    if extra:
        env.update(extra)
    return env


def build_run_argv(
    executable: Path,
    dialect: Dialect,
    session_dir: Path,
    *,
    input_trainer_state: Path | None = None,
    curriculum_name: str | None = None,
    opts: Mapping[str, str] = {},
) -> list[str]:
    """The ``curriculum run`` command line in a dialect; paths are made absolute.

    The AIND dialect requires an input trainer state and has no ``--opt``: passing opts to it raises
    ``ValueError`` rather than silently dropping them (AIND programs reject unknown options).
    """
    argv = [str(executable), "run"]
    if dialect == "contract":
        argv += ["--path", _abs(session_dir)]
        if input_trainer_state is not None:
            argv += ["--input-trainer-state", _abs(input_trainer_state)]
        if curriculum_name:
            argv += ["--curriculum", curriculum_name]
        for key, value in opts.items():
            if not key or "=" in key or key != key.strip():
                raise ValueError(f"--opt key {key!r} must be non-empty without '=' or surrounding spaces")
            argv += ["--opt", f"{key}={value}"]
    elif dialect == "aind":
        if input_trainer_state is None:
            raise ValueError("the AIND dialect requires an input trainer state (--input-trainer-state)")
        if opts:
            raise ValueError(f"the AIND dialect has no --opt; cannot pass {', '.join(sorted(opts))}")
        argv += ["--data-directory", _abs(session_dir), "--input-trainer-state", _abs(input_trainer_state)]
        if curriculum_name:
            argv += ["--curriculum", curriculum_name]
    else:
        raise ValueError(f"unknown dialect {dialect!r}: expected 'contract' or 'aind'")
    return argv


def build_init_argv(
    executable: Path, dialect: Dialect, *, stage: str | None = None, curriculum_name: str | None = None
) -> list[str]:
    """The ``curriculum init`` command line; AIND programs require ``--curriculum NAME``."""
    argv = [str(executable), "init"]
    if dialect == "aind":
        if not curriculum_name:
            raise ValueError("the AIND dialect's init requires a curriculum name (--curriculum NAME)")
    elif dialect != "contract":
        raise ValueError(f"unknown dialect {dialect!r}: expected 'contract' or 'aind'")
    if curriculum_name:
        argv += ["--curriculum", curriculum_name]
    if stage:
        argv += ["--stage", stage]
    return argv


def _abs(path: Path) -> str:
    return os.path.abspath(path)


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


class _Drain(threading.Thread):
    """Reads a pipe to EOF into a capped buffer; past the cap it keeps reading and discards.

    ``keep="head"`` keeps the first bytes (stdout: a document that does not fit is rejected anyway);
    ``keep="tail"`` keeps the last ones (stderr: a traceback ends the stream).
    """

    def __init__(self, stream: IO[bytes], cap: int, keep: Literal["head", "tail"]) -> None:
        super().__init__(daemon=True)
        self.fd = stream.fileno()
        self.stream = stream
        self.cap = cap
        self.keep = keep
        self.buffer = bytearray()
        self.total = 0

    def run(self) -> None:
        # The thread owns the stream and closes it at EOF: closing it from outside while a read is
        # pending could let the descriptor number be reused under that read.
        try:
            while chunk := os.read(self.fd, _READ_CHUNK):
                self.total += len(chunk)
                if self.keep == "head":
                    room = self.cap - len(self.buffer)
                    if room > 0:
                        self.buffer += chunk[:room]
                else:
                    self.buffer += chunk
                    if len(self.buffer) > 2 * self.cap:
                        del self.buffer[: len(self.buffer) - self.cap]
        except OSError:
            pass
        finally:
            self.stream.close()

    def result(self) -> tuple[bytes, bool]:
        data = bytes(self.buffer if self.keep == "head" else self.buffer[-self.cap :] if self.cap else b"")
        return data, self.total > self.cap


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


def _wait_exit(proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait until the child exits or the deadline passes, WITHOUT reaping it on POSIX.

    Leaving the child a zombie keeps its pid (= the group id) reserved, so signalling the group
    afterwards cannot hit an unrelated process that reused the number.
    """
    if os.name != "posix":
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        return True
    pidfd = _pidfd_open(proc.pid)
    if pidfd is not None:
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _exited(proc)
                ready, _, _ = select.select([pidfd], [], [], remaining)
                if ready:
                    return True
        finally:
            os.close(pidfd)
    delay = 0.001
    while not _exited(proc):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
    return True


def _pidfd_open(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except OSError:
        return None


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the child exited; where ``waitid`` exists it stays unreaped (a zombie holding its id)."""
    if hasattr(os, "waitid"):
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    return proc.poll() is not None  # reaps: the group id may then be reused, a narrow window


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_leftovers(proc: subprocess.Popen[bytes]) -> None:
    """The program exited: kill what it left running in its group (the zombie still holds the id)."""
    if os.name == "posix":
        _signal_group(proc, signal.SIGKILL)


def _terminate_group(proc: subprocess.Popen[bytes], grace_s: float, *, supervised: bool = False) -> None:
    """SIGTERM the group, wait up to ``grace_s`` for all of it to go, then SIGKILL the group.

    A supervisor gives the program half the grace, then kills every descendant itself: it is waited
    for longer (``SUPERVISOR_MARGIN_S``), since a SIGKILL to it mid-cleanup would let a daemon escape.
    """
    if os.name != "posix":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
        return
    _signal_group(proc, signal.SIGTERM)
    end = time.monotonic() + grace_s + (SUPERVISOR_MARGIN_S if supervised else 0.0)
    while time.monotonic() < end:
        # The leader stays a zombie (unreaped), so the group exists until every member is gone.
        if _exited(proc) and not _group_has_live_members(proc.pid):
            break
        time.sleep(0.02)
    _signal_group(proc, signal.SIGKILL)


def _group_has_live_members(pgid: int) -> bool:
    """Whether a process other than a zombie remains in the group (Linux: read /proc; else assume so)."""
    if not sys.platform.startswith("linux"):
        return _group_alive(pgid)
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return _group_alive(pgid)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp ...
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False
