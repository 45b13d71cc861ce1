"""Test databases: a fresh SQLite file, or a throw-away PostgreSQL database on the server CI provides.

PostgreSQL tests never skip: when the server does not answer, they fail and say how to start it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Set by `make check`, which runs only the tests not marked postgres: any other test reaching the server
# is marked wrongly, and fails.
NO_POSTGRES = "STOCKWIZ_TEST_NO_POSTGRES"


def admin_postgres_url() -> str:
    return os.environ.get("STOCKWIZ_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def refuse_unless_marked() -> None:
    """Fail a test that reaches PostgreSQL under make check: it lacks its postgres mark."""
    if os.environ.get(NO_POSTGRES) == "1":
        pytest.fail(
            f"this test reaches PostgreSQL but is not marked postgres, so {NO_POSTGRES}=1 (make check) "
            "refuses it: mark it (pytest.mark.postgres) where it is written"
        )


async def _connect(url: str) -> asyncpg.Connection:
    refuse_unless_marked()
    try:
        return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {url} does not answer ({exc}). Start it (pg_ctlcluster ... main start) or set "
            "STOCKWIZ_TEST_POSTGRES_URL; PostgreSQL tests are never skipped."
        )


async def create_postgres_database() -> str:
    """A new empty database; returns its URL."""
    admin = admin_postgres_url()
    name = f"stockwiz_test_{uuid.uuid4().hex[:12]}"
    conn = await _connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    conn = await _connect(admin_postgres_url())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def reset_postgres_schema(url: str) -> None:
    conn = await _connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def postgres_database() -> AsyncIterator[str]:
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)
