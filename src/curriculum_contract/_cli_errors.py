"""The one place an exception becomes an exit code, shared by every command of the package.

``curriculum-contract`` (all its subcommands) and a curriculum's ``curriculum`` program run their commands
inside :func:`reporting_errors`, through the click classes below: a :class:`~curriculum_contract.ContractError`
exits with its ``exit_code`` after ``<program>: error: <reason>`` on stderr (its details on the next lines);
any other exception is a bug: ``<program>: error: internal error: <Type>: <message>``, the traceback as
details, exit 1. Never a bare traceback. click's own errors (a usage error: exit 2) get the same first line,
``<program>: error: <click's message>``, with the usage and the ``--help`` hint under it; ``--help`` stays
click's. Ctrl-C (``KeyboardInterrupt``, click's ``Abort``) is no bug either: ``<program>: error: interrupted``
and :data:`INTERRUPTED` (130, what a shell reports for a program stopped by SIGINT), after every ``finally``
of the command has run; ``simulate`` ends on SIGTERM and SIGHUP the same way (``Terminated``), exiting
128 + the signal's number (143, 129). A reader that closed stdout early (``history | head -1``) is not a bug: the
command stops quietly with :data:`STDOUT_CLOSED` (141, what a shell reports for ``yes | head``), no message.
"""

from __future__ import annotations

import os
import select
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from ._errors import CommandExit, ContractError, Terminated, exit_code_for, one_line

#: The exit status of a command whose stdout reader went away: 128 + SIGPIPE, as a shell reports ``yes | head``.
STDOUT_CLOSED = 141

#: The exit status of a command stopped by Ctrl-C: 128 + SIGINT, as a shell reports it.
INTERRUPTED = 130

#: The descriptors that are a program's stdout: fd 1, and the ``curriculum`` program's private duplicate of it
#: (its stdout guard points fd 1 at stderr and registers the real one here).
STDOUT_DESCRIPTORS: list[int] = [1]


def _closed_pipe(fd: int) -> bool:
    """Whether ``fd`` is a pipe whose reading end is closed (poll reports an error on it; never blocks)."""
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    try:
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def stop_if_stdout_closed() -> None:
    """Exit :data:`STDOUT_CLOSED` quietly when stdout's reader went away, else return (the error is another's).

    The closed descriptor is pointed at /dev/null first, so the final flush of what is still buffered does
    not fail a second time at interpreter exit.
    """
    closed = [fd for fd in dict.fromkeys(STDOUT_DESCRIPTORS) if _closed_pipe(fd)]
    if not closed:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in closed:
            os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    sys.exit(STDOUT_CLOSED)


def fail(program: str, code: int, reason: str, details: str = "") -> NoReturn:
    """Print the one-line reason (and the details under it) on stderr and exit with ``code``."""
    click.echo(f"{program}: error: {reason}", err=True)
    if details.strip():
        click.echo(details.rstrip(), err=True)
    sys.exit(int(code))


def _details(error: BaseException, details: str) -> str:
    notes = [str(note) for note in getattr(error, "__notes__", ())]
    return "\n".join(part for part in (details.rstrip(), *notes) if part)


@contextmanager
def reporting_errors(program: str, *, show_details: bool = True) -> Iterator[None]:
    """Turn what the block raises into ``program``'s exit code and stderr lines (see the module docstring).

    ``show_details=False`` keeps a typed error to its one line (``launch`` without ``--verbose``); an
    internal error always shows its traceback.
    """
    try:
        yield
    except click.exceptions.Exit:
        raise
    except Terminated as error:
        fail(program, 128 + error.signum, f"interrupted ({error.name}): nothing more was done")
    except (KeyboardInterrupt, click.exceptions.Abort):
        fail(program, INTERRUPTED, "interrupted (Ctrl-C): nothing more was done")
    except click.ClickException as error:
        fail(program, error.exit_code, one_line(error.format_message()), _usage(error))
    except ContractError as error:
        fail(program, exit_code_for(error), error.reason, _details(error, error.details) if show_details else "")
    except Exception as error:  # a bug, wherever it is: one line, then the traceback
        if isinstance(error, BrokenPipeError):
            stop_if_stdout_closed()  # its reader stopped reading: not a bug (a pipe to a child still is one)
        reason = f"internal error: {type(error).__name__}: {one_line(str(error))}"
        fail(program, CommandExit.INTERNAL, reason, _details(error, traceback.format_exc()))


def _usage(error: click.ClickException) -> str:
    """What click shows above and below its message: the usage line and where to find help."""
    ctx = getattr(error, "ctx", None)
    if ctx is None:
        return ""
    flag = ctx.help_option_names[0] if ctx.help_option_names else "--help"
    return f"{ctx.get_usage()}\nTry '{ctx.command_path} {flag}' for help."


def _show_details(ctx: click.Context) -> bool:
    return bool(ctx.params.get("verbose", True))


class ReportingCommand(click.Command):
    """A ``curriculum-contract`` command whose errors go through :func:`reporting_errors`.

    A command with a ``verbose`` parameter shows a typed error's details only when it is set.
    """

    program = "curriculum-contract"

    def invoke(self, ctx: click.Context) -> Any:
        with reporting_errors(self.program, show_details=_show_details(ctx)):
            return super().invoke(ctx)


class ReportingGroup(click.Group):
    """A command group whose errors (loading a subcommand included) go through :func:`reporting_errors`."""

    program = "curriculum-contract"
    command_class = ReportingCommand

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        with reporting_errors(self.program):  # the group's own options (a subcommand's are parsed in invoke)
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with reporting_errors(self.program):
            return super().invoke(ctx)
