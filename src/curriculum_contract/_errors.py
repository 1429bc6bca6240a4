"""The package's one exception tree, and the one table of the ``curriculum-contract`` commands' exit codes.

Every failure the package reports is a :class:`ContractError`: ``str(error)`` (= ``reason``) is one line
naming what and where, ``details`` the longer story (stderr tail, every validation error, a traceback), and
the class attribute ``exit_code`` the code the command that met it exits with. A member also subclasses the
matching builtin, so ``except FileNotFoundError`` keeps working. A failed child process keeps *its* code as
``child_exit_code``: ``exit_code`` is always ours. Exit codes per command: docs/exit-codes.md (generated
from this tree and checked by tests/test_errors.py)::

    ContractError                                   (1)   root; never raised itself
    ├── CurriculumError       sdk                         the `curriculum` program (sdk.ExitCode, 2-7)
    │   ├── UsageError            (ValueError)        (2)  bad command line: unknown option, bad --opt
    │   ├── InputError            (ValueError)        (3)  unreadable input: data directory, trainer state
    │   │   ├── MigrationRequired                     (3)  trainer state of another major version
    │   │   └── TrialsError                           (3)  the trials table is missing or malformed
    │   ├── MetricsError          (RuntimeError)      (4)  the metrics function raised or returned junk
    │   ├── EvaluationError       (RuntimeError)      (5)  a transition or policy raised
    │   ├── OutputError           (RuntimeError)      (6)  the curriculum broke the contract
    │   └── LoadError             (ImportError)       (7)  the curriculum's code cannot be loaded
    ├── AdapterError          launcher_adapter        (1)  `launch | enroll | history`
    │   ├── InvalidArgument       (ValueError)        (2)  not UTF-8, a bad --compare rev or --out, a dialect gap
    │   ├── CurriculumNotFound    (FileNotFoundError) (3)  no such directory, no pyproject.toml, no uv.lock
    │   ├── SubmoduleNotReady                         (4)  uninitialised, not at the recorded commit, dirty
    │   ├── BootstrapFailed                           (5)  uv missing, `uv sync` failed, no `curriculum` script
    │   ├── TimedOut              (TimeoutError)      (6)  ran past its timeout; its process group was killed
    │   ├── ContractViolation                         (7)  stdout is not one valid contract (or AIND) document
    │   ├── SessionDataViolation                      (8)  the run modified, deleted or escaped the session data
    │   ├── SubjectNotEnrolled    (LookupError)       (9)  no starting trainer state for the subject
    │   ├── StoreError                                (10) the history store cannot be opened, read or written
    │   ├── ProcessFailed                             (11) the program exited non-zero or was killed
    │   ├── SessionNotFound       (FileNotFoundError) (12) the session directory is missing or not a directory
    │   ├── SessionWriteFailed    (OSError)           (12) a file of the session cannot be written
    │   ├── ExternalLinkRefused                       (13) the session holds a symlink pointing outside it
    │   ├── SessionBusy           (BlockingIOError)   (13) another launch holds the session
    │   ├── SubjectBusy           (TimeoutError)      (13) another launch held the subject's lock too long
    │   ├── SubjectMismatch                           (13) the session's own inputs name another subject
    │   ├── AlreadyEnrolled                           (2)  `enroll` of a subject the store already knows
    │   ├── SessionFileRefused                        (13) an input or output file of the session is a FIFO, symlink...
    │   ├── SubjectOffCurriculum                      (19) a trainer took the subject off the curriculum: not run
    │   └── DependencyMissing     (ImportError)       (15) an optional package the command needs (pyarrow)
    ├── ScaffoldError         scaffold                (1)  `curriculum-contract new | update | template-cache`
    │   ├── InvalidAnswer         (ValueError)        (2)  a bad answer, an unknown --data key, a bad requirement
    │   ├── DestinationError      (FileExistsError)   (2)  DEST not empty, not generated, has changes
    │   ├── TemplateError                             (14) the template or the template cache is missing or broken
    │   ├── ToolMissing           (FileNotFoundError) (15) copier, git or uv is not installed
    │   ├── CommandFailed                             (16) a git or uv command exited non-zero
    │   └── UpdateConflicts                           (17) `update` left conflicts to resolve
    ├── StatusError           status                  (1)  `curriculum-contract serve`: the lab's status page
    │   ├── TokenRequired         (ValueError)        (2)  beyond loopback without a usable token
    │   ├── AddressUnavailable    (OSError)           (2)  the host and port cannot be bound
    │   └── StoreUnreadable                           (10) the history store is missing or cannot be read
    ├── DocumentInvalid       (ValueError)            (7)  `curriculum-contract validate`: not a valid document
    └── DemoError             demo                    (18) `curriculum-contract demo`: the set-up could not finish
        └── ExamplesMissing       (FileNotFoundError) (18) the example curricula are not installed with the package

Any other exception a command meets is a bug: "internal error: <Type>: <message>", the traceback as
details, exit 1 (:func:`exit_code_for`; the CLIs print through ``_cli_errors.reporting_errors``).
"""

from __future__ import annotations

import signal
from enum import IntEnum
from typing import Any, ClassVar


class CommandExit(IntEnum):
    """Exit codes of the ``curriculum-contract`` commands: one table, one meaning per code, for all of them.

    The ``curriculum`` program a curriculum installs has its own, contractual table: ``sdk.ExitCode``.
    """

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CURRICULUM_NOT_FOUND = 3
    SUBMODULE_NOT_READY = 4
    BOOTSTRAP_FAILED = 5
    TIMED_OUT = 6
    CONTRACT_VIOLATION = 7
    SESSION_DATA_VIOLATION = 8
    SUBJECT_NOT_ENROLLED = 9
    STORE = 10
    PROCESS_FAILED = 11
    SESSION = 12
    SESSION_REFUSED = 13
    TEMPLATE = 14
    TOOL_MISSING = 15
    COMMAND_FAILED = 16
    CONFLICTS = 17
    DEMO = 18
    OFF_CURRICULUM = 19


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(text.split())


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``kill``, a closed terminal) ending a long command as Ctrl-C does: the same cleanup,
    then exit 128 + ``signum``, as a shell reports a program that signal stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class ContractError(Exception):
    """Root of every error the package reports. ``str(error)`` is the one-line reason; ``details`` may add more.

    ``exit_code`` is the code of the command that meets the error; ``commands`` names those commands
    (set on each family's root, for docs/exit-codes.md).
    """

    exit_code: ClassVar[int] = CommandExit.INTERNAL
    commands: ClassVar[tuple[str, ...]] = ()

    def __init__(self, reason: str, details: str = "") -> None:
        reason = one_line(reason)
        super().__init__(reason)
        self.reason = reason
        self.details = details

    def __str__(self) -> str:
        return self.reason

    def prefixed(self, context: str) -> ContractError:
        """This error with its reason after ``context`` (``A = HEAD~1: ...``): a caller says where it happened."""
        self.reason = f"{context}{self.reason}"
        self.args = (self.reason,)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its class and attributes, whatever its ``__init__`` takes: a simulation worker's error
        reaches the parent process as itself (pickle would call ``__init__`` with the reason alone)."""
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(cls: type[ContractError], args: tuple[Any, ...], state: dict[str, Any]) -> ContractError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class DocumentInvalid(ContractError, ValueError):
    """A document given to ``validate`` is not valid JSON or not a valid contract document."""

    exit_code = CommandExit.CONTRACT_VIOLATION
    commands = ("curriculum-contract validate",)


def exit_code_for(error: BaseException) -> int:
    """The exit code a command ends with after ``error``: the error's own for the tree, 1 (a bug) otherwise."""
    if isinstance(error, ContractError):
        return int(error.exit_code)
    return int(CommandExit.INTERNAL)


#: Modules :func:`error_classes` leaves alone: the pytest plugin registers itself with pytest on import.
_NOT_IMPORTED = ("pytest_plugin", "__main__")


def error_classes() -> list[type[ContractError]]:
    """Every class of the tree (the root first, then depth first), every module of the package imported first.

    For the doc table and its test only: it imports each module (those whose optional dependencies are
    missing excepted), so that an error class defined anywhere is in the tree it returns.
    """
    import importlib
    import pkgutil

    package = importlib.import_module(__package__)
    for module in pkgutil.walk_packages(package.__path__, f"{__package__}."):
        if module.name.rsplit(".", 1)[-1] in _NOT_IMPORTED:
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional dependency (an extra) that is not installed: its module raises none
            continue
    found: list[type[ContractError]] = []

    def walk(cls: type[ContractError]) -> None:
        found.append(cls)
        for sub in cls.__subclasses__():
            if sub.__module__.startswith(f"{__package__}."):
                walk(sub)

    walk(ContractError)
    return found


#: Codes every command has besides its errors' own: (code, meaning, what raises it).
_COMMON_ROWS = (
    (0, "success", "-"),
    (1, "internal error (a bug): any exception outside the tree; the traceback follows the first line", "-"),
    (2, "usage error: unknown option, missing or malformed argument (an empty path among them)", "click.UsageError"),
)


def _commands_cell(commands: tuple[str, ...]) -> str:
    """``curriculum-contract launch, enroll, history``: the program named once."""
    programs = {command.split(" ", 1)[0] for command in commands}
    if len(programs) != 1:
        return ", ".join(commands)
    program = programs.pop()
    subcommands = [command.split(" ", 1)[1] for command in commands if " " in command]
    return f"{program} {', '.join(subcommands)}" if subcommands else program


def exit_code_rows() -> list[tuple[str, int, str, str]]:
    """``(commands, code, meaning, error class)`` for every exit code of every command, sorted.

    The rows of docs/exit-codes.md: each family's common codes (0, 1, click's 2), then each raisable class
    of the tree (a family's root is never raised itself) with its code and the first line of its docstring.
    """
    rows = []
    for cls in error_classes():
        if cls is ContractError:
            continue
        cell = _commands_cell(cls.commands)
        if cls.__dict__.get("_family_root", False) or cls.__base__ is ContractError:
            rows += [(cell, code, meaning, raised) for code, meaning, raised in _COMMON_ROWS]
        if cls.__dict__.get("_family_root", False):
            continue
        meaning = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()).rstrip(".").replace("``", "`")
        rows.append((cell, int(cls.exit_code), meaning, cls.__name__))
    return sorted(set(rows), key=lambda row: (row[0], row[1], row[3]))


def exit_code_table() -> str:
    """docs/exit-codes.md's table, as Markdown (regenerate: ``python -m curriculum_contract._errors``)."""
    lines = ["| command | code | meaning | error class |", "| --- | --- | --- | --- |"]
    lines += [f"| `{cell}` | {code} | {meaning} | `{name}` |" for cell, code, meaning, name in exit_code_rows()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # the package's own copy of the tree, not this __main__ module's
    import sys

    from curriculum_contract._errors import exit_code_table as _table

    sys.stdout.write(_table())
