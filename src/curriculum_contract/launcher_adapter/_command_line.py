"""What a curriculum program is started with: its ``curriculum run | init`` command line and a clean environment.

Apart from the runner (``_process``): building them starts nothing, and every path that starts a
curriculum program (launch, enroll, migrate, recompute, what-if, simulate) builds them here, whichever
runner then runs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from .._tools import without_empty_temp_directories

Dialect = Literal["contract", "aind"]

#: Variables a program needs to start and find its locale, temp dir and home, on POSIX and Windows.
_ESSENTIAL_VARS = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE", "APPDATA",
    "LOCALAPPDATA", "PROGRAMDATA", "HOMEDRIVE", "HOMEPATH", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE",
)  # fmt: skip
_FORCED_VARS = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a curriculum runs with: essentials of ours, UTF-8 unbuffered output, plus ``extra``."""
    env = {
        k: v
        for k, v in without_empty_temp_directories(os.environ).items()
        if k in _ESSENTIAL_VARS or k.startswith("LC_")
    }
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
