"""Create or refresh a curriculum's own environment with ``uv sync --frozen``, only when needed.

The environment lives at ``<env_root>/.venv`` (the curriculum project, or the uv workspace root for a
workspace member). After a successful sync a stamp in the ``.venv`` records a hash of the lockfile and
pyproject(s); while it matches and the ``curriculum`` executable exists, nothing runs — the launcher
then calls that executable directly instead of paying for ``uv run`` on every session.
``--frozen`` means the lockfile is used as committed: the rig never re-resolves.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .. import _tools
from ._errors import BootstrapFailed, tail_text
from ._locate import CurriculumLocation

#: Name of the stamp file inside the ``.venv``.
STAMP_FILE = ".curriculum-contract-stamp.json"
_STAMP_FORMAT = 1
# Variables that would make uv sync into some other environment or re-lock.
# A source excerpt's gutter in uv's diagnostics: "|", "1 | version = 1", "^".
_GUTTER = re.compile(r"^(\d+\s*)?[|^]")
# A Python exception line in a build backend's traceback.
_EXCEPTION = re.compile(r"^[\w.]+(Error|Exception|Exit)\b")
_UV_UNSET = ("UV_PROJECT_ENVIRONMENT", "VIRTUAL_ENV", "UV_LOCKED", "UV_NO_SYNC", "UV_FROZEN", "CONDA_PREFIX")


def venv_dir(location: CurriculumLocation) -> Path:
    """The environment uv syncs for this curriculum."""
    return location.env_root / ".venv"


def curriculum_executable(location: CurriculumLocation) -> Path:
    """Path of the environment's ``curriculum`` console script (it may not exist yet)."""
    if sys.platform == "win32":
        return venv_dir(location) / "Scripts" / "curriculum.exe"
    return venv_dir(location) / "bin" / "curriculum"


def _interpreter(location: CurriculumLocation) -> Path:
    if sys.platform == "win32":
        return venv_dir(location) / "Scripts" / "python.exe"
    return venv_dir(location) / "bin" / "python"


def ensure_environment(
    location: CurriculumLocation,
    *,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
    uv: str | None = None,
    timeout_s: float | None = None,
) -> Path:
    """Return the curriculum's ``curriculum`` executable, running ``uv sync --frozen`` first if stale."""
    executable = curriculum_executable(location)
    stamp_path = venv_dir(location) / STAMP_FILE
    fingerprint = environment_fingerprint(location)
    if executable.is_file() and _interpreter(location).is_file() and _read_stamp(stamp_path) == fingerprint:
        return executable  # (is_file follows the interpreter's symlink: a removed base Python resyncs)

    command = [find_uv(uv), "sync", "--frozen", "--color", "never"]
    if offline:
        command.append("--offline")
    if location.is_workspace_member:
        if not location.package_name:
            raise BootstrapFailed(f"{location.project_dir}/pyproject.toml has no [project].name")
        command += ["--package", location.package_name]
    _run_uv(command, location.env_root, offline=offline, progress=progress, timeout_s=timeout_s)

    if not executable.is_file():
        raise BootstrapFailed(
            f"project {location.project_dir} defines no `curriculum` script: after `uv sync` there is no "
            f"{executable} (add [project.scripts] curriculum = ... to its pyproject.toml)",
            command=command,
        )
    _write_stamp(stamp_path, fingerprint)
    return executable


def environment_fingerprint(location: CurriculumLocation) -> dict[str, str]:
    """What the environment was built from: hashes of lockfile and pyproject(s), and the package synced."""
    files = [location.lock_file, location.env_root / "pyproject.toml"]
    if location.project_dir != location.env_root:
        files.append(location.project_dir / "pyproject.toml")
    files.append(location.env_root / ".python-version")
    digest = hashlib.blake2b(digest_size=20)
    for path in files:
        digest.update(str(path.name).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except FileNotFoundError:
            digest.update(b"<absent>")
        digest.update(b"\0")
    return {
        "format": str(_STAMP_FORMAT),
        "inputs": digest.hexdigest(),
        "package": location.package_name if location.is_workspace_member and location.package_name else "",
    }


def find_uv(uv: str | None = None) -> str:
    """The uv executable: the one given, else ``uv`` on PATH, else the one the ``uv`` package ships."""
    return _tools.find_uv(BootstrapFailed, uv)


def _uv_environment() -> dict[str, str]:
    env = {k: v for k, v in _tools.without_empty_temp_directories(os.environ).items() if k not in _UV_UNSET}
    env["NO_COLOR"] = "1"
    return env


def _run_uv(
    command: list[str],
    cwd: Path,
    *,
    offline: bool,
    progress: Callable[[str], None] | None,
    timeout_s: float | None,
) -> None:
    """Run uv, streaming its stderr lines to ``progress``; raise BootstrapFailed with its stderr tail."""
    stderr_lines: deque[str] = deque(maxlen=60)
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=_uv_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise BootstrapFailed(f"cannot start {command[0]}: {exc}", command=command) from None

    def pump(stream: object, keep: bool) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode("utf-8", errors="replace").rstrip()
            if keep:
                stderr_lines.append(line)
            if progress is not None and line.strip():
                progress(line)

    threads = [
        threading.Thread(target=pump, args=(proc.stderr, True), daemon=True),
        threading.Thread(target=pump, args=(proc.stdout, False), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        exit_code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        for thread in threads:
            thread.join(timeout=5)
        raise BootstrapFailed(
            f"`{' '.join(command[1:])}` in {cwd} did not finish within {timeout_s:g} s",
            command=command,
            stderr_tail=tail_text("\n".join(stderr_lines)),
        ) from None
    for thread in threads:
        thread.join(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    if exit_code != 0:
        stderr_tail = tail_text("\n".join(stderr_lines))
        reason = f"`uv {' '.join(command[1:])}` failed in {cwd} (exit {exit_code})"
        if key := _key_line(stderr_lines):
            reason += f": {key[:300]}"
        if offline:
            reason += " (offline: only the uv cache was used; sync once with network to fill it)"
        raise BootstrapFailed(reason, command=command, child_exit_code=exit_code, stderr_tail=stderr_tail)


def _key_line(lines: deque[str]) -> str:
    """The most telling part of uv's error report: its last ``cause:`` (else ``error:``) line, plus the
    last line of the detail block under it (a build's exception, a TOML error's reason), if any."""
    stripped = [line.strip() for line in lines]
    for prefix in ("cause:", "error:"):
        found = [i for i, line in enumerate(stripped) if line.startswith(prefix)]
        if not found:
            continue
        key = stripped[found[-1]].removeprefix(prefix).strip()
        details: list[str] = []
        for line in stripped[found[-1] + 1 :]:
            if line.startswith("hint:"):
                break
            if line and not _GUTTER.match(line):
                details.append(line)
        exceptions = [line for line in details if _EXCEPTION.match(line)]
        detail = (exceptions or details or [""])[-1]
        return f"{key} — {detail}" if detail else key
    return next((line for line in reversed(stripped) if line), "")


def _read_stamp(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_stamp(path: Path, fingerprint: dict[str, str]) -> None:
    """Write the stamp atomically: a crash leaves the old stamp or none, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=".stamp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(fingerprint, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
