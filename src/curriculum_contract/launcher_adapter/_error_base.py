"""The root of the adapter's errors, and the two any of its commands can meet (a bad argument, a missing package).

In a module of its own so that each family module (``_run_errors``, ``_session_errors``, ``_store_errors``)
can subclass the root while ``_errors``, which draws the tree and re-exports every member, imports them
all without an import cycle.
"""

from __future__ import annotations

from .._errors import CommandExit, ContractError

#: The launcher's commands: the rows of the exit-code table (docs/exit-codes.md) this family's codes apply to.
_LAUNCHER_COMMANDS = (
    "launch", "enroll", "history", "recover", "store", "simulate", "migrate", "recompute", "whatif", "override",
    "sync",
)  # fmt: skip


class AdapterError(ContractError):
    """Root of the adapter's errors (never raised itself). ``str(error)`` is the one-line reason."""

    commands = tuple(f"curriculum-contract {name}" for name in _LAUNCHER_COMMANDS)
    _family_root = True


class InvalidArgument(AdapterError, ValueError):
    """A path, identifier or option cannot be used: not valid UTF-8, a `--compare` revision the repository
    does not have, an `--out` that cannot hold results, an option the curriculum's `simulate` refuses, an
    option the dialect cannot express."""

    exit_code = CommandExit.USAGE


class DependencyMissing(AdapterError, ImportError):
    """An optional package the command needs is not installed (e.g. pyarrow for ``history --parquet``)."""

    exit_code = CommandExit.TOOL_MISSING
