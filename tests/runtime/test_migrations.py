"""Migrations on both backends: empty -> head -> base -> head, and concurrent start-ups on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from stockwiz_runtime.db import Database, normalize_database_url
from stockwiz_runtime.migrations import alembic_config, current_revision, downgrade, upgrade
from tests.support.processes import REPO


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def table_names(db: Database) -> set[str]:
    async with db.read() as conn:
        return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))


async def test_up_down_up(database_url: str) -> None:
    db = Database(normalize_database_url(database_url))
    try:
        assert await current_revision(db) is None
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        assert {"products", "seed_runs", "alembic_version"} <= await table_names(db)
        await upgrade(db)  # a second start-up finds nothing to do
        await downgrade(db, "base")
        assert await current_revision(db) is None
        assert await table_names(db) <= {"alembic_version"}
        await upgrade(db)
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


MIGRATE_SCRIPT = """
import asyncio, sys
from stockwiz_runtime.db import Database, normalize_database_url
from stockwiz_runtime.migrations import upgrade

async def main() -> None:
    db = Database(normalize_database_url(sys.argv[1]))
    await upgrade(db)
    await db.dispose()

asyncio.run(main())
"""


async def test_concurrent_migrations_apply_once(database_url: str) -> None:
    """Four processes start at once (as ECS tasks do); the lock lets one migrate and the rest find head."""
    env = {"PYTHONPATH": str(REPO / "apps")}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MIGRATE_SCRIPT,
            database_url,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output.decode()
    db = Database(normalize_database_url(database_url))
    try:
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


async def test_a_failed_migration_stops_with_a_clear_error(tmp_path: object) -> None:
    from stockwiz_runtime.migrations import MigrationError

    db = Database(normalize_database_url("postgresql://nobody@127.0.0.1:1/none"))
    try:
        await upgrade(db)
    except MigrationError as error:
        assert "database migration to head failed" in str(error)
    else:
        raise AssertionError("upgrade against an unreachable database must fail")
    finally:
        await db.dispose()
