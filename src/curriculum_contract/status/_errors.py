"""The status page's own failures.

``curriculum-contract serve`` refuses to start rather than serve badly::

    StatusError               (ContractError)          the root; never raised itself
    ├── TokenRequired         (ValueError)         2   bound beyond loopback without a usable token
    ├── AddressUnavailable    (OSError)            2   the host and port cannot be bound
    └── StoreUnreadable                            10  the history store is missing or cannot be read
"""

from __future__ import annotations

from .._errors import CommandExit, ContractError


class StatusError(ContractError):
    """Root of the status page's errors (never raised itself)."""

    commands = ("curriculum-contract serve",)
    _family_root = True


class TokenRequired(StatusError, ValueError):
    """`serve` on an address other than loopback has no token, or its token file is unreadable, empty or short."""

    exit_code = CommandExit.USAGE


class AddressUnavailable(StatusError, OSError):
    """The host and port `serve` was given cannot be bound (in use, or not an address of this machine)."""

    exit_code = CommandExit.USAGE


class StoreUnreadable(StatusError):
    """The history store `serve` was pointed at does not exist or cannot be read."""

    exit_code = CommandExit.STORE
