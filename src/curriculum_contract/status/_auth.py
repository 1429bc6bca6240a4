"""Who may read the page: anyone on this machine over loopback; anyone else only with the lab's token.

The token comes from a file or an environment variable, never the command line (``ps`` shows that). It is
compared in constant time, and accepted as ``Authorization: Bearer TOKEN``, or once as ``?token=TOKEN``, which
sets a cookie (HttpOnly, SameSite=Strict) and redirects to the same page without it, so the token leaves the
address bar and the browser's history.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl

from ._errors import TokenRequired

TOKEN_ENVVAR = "CURRICULUM_CONTRACT_STATUS_TOKEN"
COOKIE = "curriculum_status_token"
MIN_TOKEN = 16
TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))' > status.token"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def load_token(token_file: Path | None, environ: Mapping[str, str]) -> str | None:
    """The token from ``token_file``, else from ``$CURRICULUM_CONTRACT_STATUS_TOKEN``; None when neither is set."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise TokenRequired(f"--token-file {token_file}: cannot be read: {error}") from None
        source = f"--token-file {token_file}"
    elif environ.get(TOKEN_ENVVAR):
        token, source = environ[TOKEN_ENVVAR].strip(), f"${TOKEN_ENVVAR}"
    else:
        return None
    if len(token) < MIN_TOKEN or any(ch.isspace() for ch in token) or not token.isascii():
        raise TokenRequired(
            f"{source}: the token must be one line of at least {MIN_TOKEN} ASCII characters without spaces "
            f"(make one: {TOKEN_HINT})"
        )
    return token


def require_token(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token."""
    if token is None and not is_loopback(host):
        raise TokenRequired(
            f"--host {host} is reachable from other machines: give a token with --token-file FILE or "
            f"${TOKEN_ENVVAR} (make one: {TOKEN_HINT}), or serve on 127.0.0.1"
        )


Verdict = Literal["allowed", "redirect", "denied"]


@dataclass(frozen=True)
class Gate:
    """Checks each request against the token (every request passes when there is none)."""

    token: str | None

    def _same(self, offered: str | None) -> bool:
        if self.token is None or offered is None:
            return False
        return hmac.compare_digest(offered.encode("utf-8", "replace"), self.token.encode("utf-8"))

    def check(self, headers: Mapping[str, str], query: str) -> Verdict:
        """``allowed``, ``redirect`` (a good ``?token=``: set the cookie, drop it from the URL) or ``denied``."""
        if self.token is None:
            return "allowed"
        authorization = headers.get("Authorization") or ""
        if authorization.startswith("Bearer ") and self._same(authorization[len("Bearer ") :].strip()):
            return "allowed"
        cookie = SimpleCookie()
        with contextlib.suppress(CookieError):
            cookie.load(headers.get("Cookie") or "")
        if COOKIE in cookie and self._same(cookie[COOKIE].value):
            return "allowed"
        offered = dict(parse_qsl(query)).get("token")
        return "redirect" if self._same(offered) else "denied"

    def cookie_header(self) -> str:
        return f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"


def without_token(query: str) -> str:
    """The query string without its ``token`` parameter (what the redirect keeps)."""
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"])


def environment() -> Mapping[str, str]:
    return os.environ
