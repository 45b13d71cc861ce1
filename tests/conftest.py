"""Fixtures every test package shares: the two database backends and real service processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import create_postgres_database, drop_postgres_database, reset_postgres_schema

BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reaches PostgreSQL `postgres`, whichever way it gets there, so that
    `-m "not postgres"` (make check) selects what it says. A test that reaches the server some other way
    fails under make check (tests.support.databases refuses), and is then marked where it is written."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        parameters = callspec.params.values() if callspec is not None else ()
        if "postgres_session_url" in getattr(item, "fixturenames", ()) or "postgresql" in parameters:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One throw-away PostgreSQL database for the session; tests reset its schema."""
    url = asyncio.run(create_postgres_database())
    yield url
    asyncio.run(drop_postgres_database(url))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend, as a URL the services accept."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stockwiz.db'}"
    else:
        url = request.getfixturevalue("postgres_session_url")
        asyncio.run(reset_postgres_schema(url))
        yield url


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "logs"
    path.mkdir()
    yield path
