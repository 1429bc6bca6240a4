"""The demo's own failures (its set-up also meets the scaffold's and the launcher adapter's errors)."""

from .._errors import CommandExit, ContractError


class DemoError(ContractError):
    """The demo could not set up its repositories: e.g. the example curricula are not installed."""

    exit_code = CommandExit.DEMO
    commands = ("curriculum-contract demo",)
