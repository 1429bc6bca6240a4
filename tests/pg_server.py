"""A real PostgreSQL server for the history store's tests, and a fresh database on it per test.

The server is ``$CURRICULUM_CONTRACT_TEST_PG_URL`` (``.ci/run`` starts one for the run) or, locally, a
throwaway cluster this plugin starts with ``.ci/postgres-cluster`` (as a non-root user) and stops.
Without PostgreSQL's binaries the tests that need it are skipped, except under ``CI``, where they fail:
CI never passes by skipping the server.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".ci", "postgres-cluster")
URL_ENVVAR = "CURRICULUM_CONTRACT_TEST_PG_URL"


def libpq_url(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def admin_execute(server_url: str, *statements: str) -> None:
    """Run statements on the server's ``postgres`` database, outside a transaction (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The SQLAlchemy URL of a running PostgreSQL server's ``postgres`` database, as its superuser."""
    if url := os.environ.get(URL_ENVVAR):
        yield url
        return
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        reason = f"no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) and no ${URL_ENVVAR}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the store on PostgreSQL: {reason} (.ci/system-packages installs them)")
        pytest.skip(f"{reason}: apt-get install postgresql to run these tests")
    directory = tempfile.mkdtemp(prefix="cc-pg-")  # in /tmp: the cluster's owner must reach it
    try:
        started = subprocess.run([SCRIPT, "start", directory], capture_output=True, text=True, timeout=300)
        if started.returncode != 0:
            pytest.fail(f"{SCRIPT} start {directory} failed ({started.returncode}): {started.stderr.strip()[-2000:]}")
        yield started.stdout.strip()
    finally:
        subprocess.run([SCRIPT, "stop", directory], capture_output=True, timeout=300, check=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the server for one test (dropped after it): its SQLAlchemy URL."""
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    admin_execute(pg_server, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_server, name)
    finally:
        admin_execute(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
