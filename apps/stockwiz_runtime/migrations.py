"""Alembic migrations of the StockWiz database, applied at start-up.

Products and inventory share one database (stock references products by foreign key), so the schema has
one migration history, kept here in the runtime that both images copy. Several instances starting at once
take a PostgreSQL advisory lock in the migration transaction: the first migrates, the others wait and then
find nothing to do. On SQLite the write transaction's BEGIN IMMEDIATE serializes them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from stockwiz_runtime.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works as long as every instance uses the same one; this is "StockWiz" in ASCII.
_ADVISORY_LOCK_KEY = 0x53746F636B57697A


class MigrationError(RuntimeError):
    """The database could not be migrated; the service must not start on an unknown schema."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def _run(database: Database, step: Callable[..., Any], revision: str) -> None:
    def apply(sync_connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        step(config, revision)

    try:
        async with database.write() as conn:
            if database.is_postgres:
                # Rewriting a big table may take longer than the sessions' request-sized statement timeout,
                # and waiting for another instance's migration (the advisory lock) longer than the lock
                # timeout: neither applies to a migration.
                await conn.execute(
                    text(
                        "SELECT set_config('statement_timeout', '0', true),"
                        " set_config('lock_timeout', '0', true)"
                    )
                )
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            await conn.run_sync(apply)
    except Exception as exc:
        raise MigrationError(f"database migration to {revision} failed: {type(exc).__name__}: {exc}") from exc


async def upgrade(database: Database, revision: str = "head") -> None:
    await _run(database, command.upgrade, revision)


async def downgrade(database: Database, revision: str = "base") -> None:
    await _run(database, command.downgrade, revision)


async def current_revision(database: Database) -> str | None:
    def read(sync_connection: Any) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()

    async with database.read() as conn:
        return await conn.run_sync(read)
