"""The server over real HTTP on a free loopback port: routes, read-only, the token, a failing store."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from status_support import clock, write_lab

from curriculum_contract._cli import main
from curriculum_contract.launcher_adapter import HistoryStore, StoreError
from curriculum_contract.status import StatusServer, make_server
from curriculum_contract.status._auth import TOKEN_ENVVAR

TOKEN = "s3cret-token-of-the-lab-0123456789"


@contextmanager
def serving(store: object, token: str | None = None) -> Iterator[StatusServer]:
    server = make_server(store, "127.0.0.1", 0, token=token, clock=clock)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def request(server: StatusServer, path: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict, str]:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        connection.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    lab = write_lab(tmp_path / "history.sqlite")
    yield lab
    lab.close()


def test_routes_serve_the_overview_a_subject_its_plot_and_json(store: HistoryStore) -> None:
    with serving(store) as server:
        status, headers, body = request(server, "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html") and "stays in stage_b" in body
        assert (
            "script-src" not in headers["Content-Security-Policy"]
            and "default-src 'none'" in headers["Content-Security-Policy"]
        )
        status, _, body = request(server, "/subject/M1")
        assert status == 200 and "stay in stage_b: |bias| &lt; 16 failed" in body and "<svg" in body
        status, headers, body = request(server, "/subject/M1/progress.svg")
        assert status == 200 and headers["Content-Type"] == "image/svg+xml" and body.startswith("<svg")
        status, _, body = request(server, "/api/status.json")
        assert status == 200 and '"status_version": 1' in body and '"days_on_stage": 6' in body
        assert request(server, "/subject/nobody")[0] == 404
        assert request(server, "/nowhere")[0] == 404
        assert request(server, "/subject/M1/other")[0] == 404


def test_it_is_read_only_and_head_has_no_body(store: HistoryStore) -> None:
    with serving(store) as server:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, headers, _ = request(server, "/", method)
            assert (status, headers["Allow"]) == (405, "GET, HEAD"), method
        status, headers, body = request(server, "/", "HEAD")
        assert status == 200 and body == "" and int(headers["Content-Length"]) > 1000


def test_with_a_token_nothing_is_served_without_it(store: HistoryStore) -> None:
    with serving(store, token=TOKEN) as server:
        status, headers, body = request(server, "/subject/M1")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer") and "stage_b" not in body
        assert request(server, "/", headers={"Authorization": "Bearer wrong-token-of-the-lab-000000"})[0] == 401
        assert request(server, "/?token=wrong")[0] == 401
        assert request(server, "/", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
        status, headers, _ = request(server, f"/subject/M1?token={TOKEN}")
        assert status == 303 and headers["Location"] == "/subject/M1"  # the token leaves the address bar
        cookie = headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        status, _, body = request(server, "/subject/M1", headers={"Cookie": cookie.split(";")[0]})
        assert status == 200 and "stage_b" in body


def test_a_store_that_fails_while_serving_is_a_503_with_its_one_line(store: HistoryStore) -> None:
    class Broken:
        where = "broken.sqlite"

        def session_rows(self, subject: str | None = None, *, superseded: bool = True) -> list[dict]:
            raise StoreError("history store broken.sqlite: could not read the sessions: disk I/O error")

    with serving(Broken()) as server:
        status, _, body = request(server, "/")
        assert status == 503 and "could not read the sessions: disk I/O error" in body
        assert request(server, "/")[0] == 503  # still serving


def test_a_busy_port_is_one_line(store: HistoryStore) -> None:
    with serving(store) as server:
        port = server.server_address[1]
        result = CliRunner().invoke(main, ["serve", "--store", store.where, "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"curriculum-contract: error: cannot serve on 127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "rig-pc.lab", "::"])
def test_beyond_loopback_it_refuses_to_start_without_a_token(host: str, store: HistoryStore) -> None:
    result = CliRunner().invoke(main, ["serve", "--store", store.where, "--host", host], env={TOKEN_ENVVAR: ""})
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"curriculum-contract: error: --host {host} is reachable from other machines: give a token")


def test_a_token_must_come_from_a_file_or_the_environment_and_be_usable(tmp_path: Path, store: HistoryStore) -> None:
    short = tmp_path / "short.token"
    short.write_text("abc\n")
    result = CliRunner().invoke(
        main, ["serve", "--store", store.where, "--host", "0.0.0.0", "--token-file", str(short)]
    )
    assert result.exit_code == 2
    assert "the token must be one line of at least 16 ASCII characters" in result.stderr.splitlines()[0]
    missing = CliRunner().invoke(main, ["serve", "--store", store.where, "--token-file", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "cannot be read" in missing.stderr
    assert "--token " not in CliRunner().invoke(main, ["serve", "--help"]).stdout  # never on the command line


def test_a_missing_store_is_refused_not_created(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--store", str(tmp_path / "nope.sqlite")])
    assert result.exit_code == 10
    assert result.stderr.splitlines() == [
        f"curriculum-contract: error: history store {tmp_path / 'nope.sqlite'} does not exist "
        "(a store is created by `enroll` or `launch`)"
    ]
    assert not (tmp_path / "nope.sqlite").exists()
