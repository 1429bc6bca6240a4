"""Fixtures every test folder may use: a real PostgreSQL server (``pg_server.py``); a cache folder of the run's own."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]


@pytest.fixture(scope="session", autouse=True)
def _own_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Rig caches (``~/.cache/curriculum-contract``) go to a folder of this run, not the user's home, so no run
    sees another's; uv keeps the cache it had (environments would otherwise be built from nothing)."""
    saved = {name: os.environ.get(name) for name in ("XDG_CACHE_HOME", "UV_CACHE_DIR")}
    home = Path(saved["XDG_CACHE_HOME"] or Path.home() / ".cache")
    os.environ["UV_CACHE_DIR"] = saved["UV_CACHE_DIR"] or str(home / "uv")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
