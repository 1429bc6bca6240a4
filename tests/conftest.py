"""Fixtures every test folder may use: a real PostgreSQL server (``pg_server.py``)."""

from pg_server import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]
