"""The status page's HTTP server: the standard library's threading server, read-only (GET and HEAD only).

Each request reads the store afresh (a page reloaded after a session shows it). A store that fails while
serving is a 503 page with the store's one-line reason, logged on stderr; the server keeps running.
"""

from __future__ import annotations

import logging
import re
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .._errors import ContractError
from ._api import status_json
from ._auth import Gate, without_token
from ._errors import AddressUnavailable
from ._gather import Clock, gather_lab, gather_subject, utc_now
from ._html import e, overview_page, page, subject_href
from ._html_subject import subject_page
from ._plot import progress_svg

log = logging.getLogger(__name__)

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HTML, SVG, JSON = "text/html; charset=utf-8", "image/svg+xml", "application/json"
_TOKEN_IN_URL = re.compile(r"token=[^&\s]*")


class StatusServer(ThreadingHTTPServer):
    """Serves one history store's status page; ``store`` needs only the public read methods."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: Any, *, gate: Gate, clock: Clock, log_requests: bool) -> None:
        self.store, self.gate, self.clock, self.log_requests = store, gate, clock, log_requests
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        return f"http://{f'[{host}]' if ':' in str(host) else host}:{port}/"


class _StatusServer6(StatusServer):
    address_family = socket.AF_INET6


def make_server(
    store: Any, host: str, port: int, *, token: str | None, clock: Clock = utc_now, log_requests: bool = False
) -> StatusServer:
    """A bound server (port 0: a free one), not yet serving; ``AddressUnavailable`` if it cannot bind."""
    cls = _StatusServer6 if ":" in host else StatusServer
    try:
        return cls((host.strip("[]"), port), store, gate=Gate(token), clock=clock, log_requests=log_requests)
    except OSError as error:
        raise AddressUnavailable(f"cannot serve on {host}:{port}: {error.strerror or error}") from None


def route(server: StatusServer, path: str) -> tuple[int, str, str]:
    """``(status, content type, body)`` for ``path``; the store's errors go up."""
    store, where = server.store, getattr(server.store, "where", "")
    if path in ("/", "/index.html"):
        return 200, HTML, overview_page(gather_lab(store, where=where, clock=server.clock))
    if path == "/api/status.json":
        return 200, JSON, status_json(gather_lab(store, where=where, clock=server.clock))
    parts = path.split("/")
    if len(parts) in (3, 4) and parts[1] == "subject" and parts[2]:
        subject = unquote(parts[2])
        if len(parts) == 4 and parts[3] != "progress.svg":
            return _not_found(path)
        status = gather_subject(store, subject, clock=server.clock)
        if status is None:
            return (
                404,
                HTML,
                page(
                    "Unknown subject",
                    "Unknown subject",
                    f"<p>The store knows no subject {e(subject)}. <a href='/'>All subjects</a></p>",
                ),
            )
        svg = progress_svg(status)
        if len(parts) == 4:
            return 200, SVG, svg
        return 200, HTML, subject_page(status, svg, svg_href=subject_href(subject) + "/progress.svg")
    return _not_found(path)


def _not_found(path: str) -> tuple[int, str, str]:
    return 404, HTML, page("Not found", "Not found", f"<p>Nothing at {e(path)}. <a href='/'>All subjects</a></p>")


class _Handler(BaseHTTPRequestHandler):
    server: StatusServer
    server_version = "curriculum-contract-status"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _not_allowed(self) -> None:
        self.close_connection = True  # the body, if any, is never read
        self._send(
            405,
            HTML,
            page("Read-only", "Read-only", "<p>This page is read-only: GET and HEAD only.</p>"),
            head=False,
            extra={"Allow": "GET, HEAD"},
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _respond(self, *, head: bool) -> None:
        url = urlsplit(self.path)
        verdict = self.server.gate.check(self.headers, url.query)
        if verdict == "denied":
            body = page(
                "Token required",
                "Token required",
                "<p>This status page needs the lab's token: open it once as <code>/?token=TOKEN</code>, "
                "or send <code>Authorization: Bearer TOKEN</code>.</p>",
            )
            self._send(401, HTML, body, head=head, extra={"WWW-Authenticate": 'Bearer realm="training status"'})
            return
        if verdict == "redirect":
            query = without_token(url.query)
            location = quote(url.path, safe="/%") + (f"?{query}" if query else "")
            self._send(
                303, HTML, "", head=True, extra={"Location": location, "Set-Cookie": self.server.gate.cookie_header()}
            )
            return
        if url.path == "/favicon.ico":  # browsers ask; the page has none
            self._send(204, HTML, "", head=True)
            return
        try:
            status, content_type, body = route(self.server, url.path)
        except ContractError as error:  # the store failed: one line, on the page and on stderr
            log.error("status page %s: %s", url.path, error)
            status, content_type = 503, HTML
            body = page("Store unavailable", "Store unavailable", f"<p>{e(error)}</p>")
        except Exception as error:  # a bug: a 500 for this request, its line then its traceback on stderr
            log.exception("status page %s: internal error: %s: %s", url.path, type(error).__name__, error)
            status, content_type = 500, HTML
            body = page("Internal error", "Internal error", f"<p>internal error: {e(type(error).__name__)}</p>")
        self._send(status, content_type, body, head=head)

    def _send(
        self, status: int, content_type: str, body: str, *, head: bool, extra: dict[str, str] | None = None
    ) -> None:
        data = body.encode("utf-8")
        self.send_response(status, HTTPStatus(status).phrase)
        for name, value in {**HEADERS, **(extra or {}), "Content-Type": content_type}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.log_requests:
            super().log_request(code, size)

    def log_message(self, format: str, *args: Any) -> None:
        text = _TOKEN_IN_URL.sub("token=***", format % args)
        log.info("%s %s", self.address_string(), text)
