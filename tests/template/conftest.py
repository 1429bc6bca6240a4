"""Fixtures of the template tests: a private template cache, never the user's.

Registering the template in a cache costs a few git calls, so most tests share one per session; tests that
register their own versions take a cache of their own.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from curriculum_contract.scaffold import TEMPLATE_CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def template_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A template cache for the whole test session (registering the template once costs a few git calls)."""
    cache = tmp_path_factory.mktemp("template-cache") / "template"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEMPLATE_CACHE_ENV, str(cache))
        yield cache


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A template cache of this test only (for tests that register versions)."""
    cache = tmp_path / "cache" / "template"
    monkeypatch.setenv(TEMPLATE_CACHE_ENV, str(cache))
    return cache
