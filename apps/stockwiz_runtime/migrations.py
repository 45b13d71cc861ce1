"""Alembic migrations of the StockWiz database, applied at start-up.

Products and inventory share one database (stock references products by foreign key), so the schema has
one migration history, kept here in the runtime that both images copy. Several instances starting at once
take a PostgreSQL advisory lock in the migration transaction: the first migrates, the others wait and then
find nothing to do. On SQLite the write transaction's BEGIN IMMEDIATE serializes them the same way.

In AWS the services themselves may not change the schema: the `db-setup` step (dbsetup.py) migrates with
`as_role` set to the schema-owner role, so what the migrations create belongs to that role.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from stockwiz_runtime.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works as long as every instance uses the same one; this is "StockWiz" in ASCII.
ADVISORY_LOCK_KEY = 0x53746F636B57697A


class MigrationError(RuntimeError):
    """The database could not be migrated; the service must not start on an unknown schema."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def lock_schema(database: Database, conn: AsyncConnection) -> None:
    """Hold the schema's advisory lock until `conn`'s transaction ends (PostgreSQL; SQLite needs none).

    Rewriting a big table may take longer than the sessions' request-sized statement timeout, and waiting
    for another instance's migration (this lock) longer than their lock timeout: for the rest of this
    transaction neither applies."""
    if database.is_postgres:
        await conn.execute(
            text("SELECT set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)")
        )
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


async def _run(
    database: Database, step: Callable[..., Any], revision: str, as_role: str | None = None
) -> None:
    def apply(sync_connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        step(config, revision)

    try:
        async with database.write() as conn:
            await lock_schema(database, conn)
            if as_role is not None:
                # Ends with the transaction; the role name is checked by the caller (dbsetup.ROLE_NAME).
                await conn.execute(text(f'SET LOCAL ROLE "{as_role}"'))
            await conn.run_sync(apply)
    except Exception as exc:
        raise MigrationError(f"database migration to {revision} failed: {type(exc).__name__}: {exc}") from exc


async def upgrade(database: Database, revision: str = "head", *, as_role: str | None = None) -> None:
    await _run(database, command.upgrade, revision, as_role)


async def downgrade(database: Database, revision: str = "base") -> None:
    await _run(database, command.downgrade, revision)


async def current_revision(database: Database) -> str | None:
    def read(sync_connection: Any) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()

    async with database.read() as conn:
        return await conn.run_sync(read)
