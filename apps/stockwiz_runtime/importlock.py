"""One import at a time per database: two imports running at once could each check their rows against what
the other is about to change. On PostgreSQL the import's transaction takes a transaction-level advisory
lock, released when it commits or rolls back; a second import does not wait for it (a large file could
outlast the lock timeout) but is told at once to try again. SQLite runs one writer at a time anyway (every
write transaction begins IMMEDIATE), so there a second import simply runs after the first."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from stockwiz_runtime.problems import conflict

# An arbitrary 64-bit key that names "a StockWiz CSV import" among the database's advisory locks.
IMPORT_LOCK_KEY = 0x5357_494D_504F_5254  # "SWIMPORT"


async def lock_imports(conn: AsyncConnection) -> None:
    if conn.dialect.name != "postgresql":
        return
    taken = await conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(IMPORT_LOCK_KEY)))
    if not taken:
        raise conflict(
            "Another import is running; try again when it has finished. Nothing was imported.",
            kind="import-in-progress",
        )
