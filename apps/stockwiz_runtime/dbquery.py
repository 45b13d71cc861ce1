"""One read-only SQL query, its rows printed as JSON lines: how an operator looks into the database.

    python -m stockwiz_runtime.dbquery "SELECT id, name FROM products ORDER BY id DESC" [--limit 100]

The database is private and ECS Exec is off (README, "Reaching the database"), so in AWS this runs as a
one-off task of the product or inventory service's task definition with its command replaced: it connects
exactly as the service does (the same DB_* settings, as `stockwiz_app` with an IAM token, TLS verified),
and what it prints lands in the service's log group. It cannot change anything: the query runs in a READ
ONLY transaction (PostgreSQL refuses any write in it; on SQLite `query_only` does the same), under a
statement timeout, and at most --limit rows are printed. Writes go through the API, or a migration.

Exit status: 0 with rows printed; 1 when the database refused the query (the message says why); 2 for bad
settings or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy import RowMapping, text
from sqlalchemy.exc import DBAPIError

from stockwiz_runtime.config import ConfigError, load_config
from stockwiz_runtime.db import Database, DatabaseSettings

MAX_LIMIT = 10_000


class QueryFailed(Exception):
    """The database refused or aborted the query."""


def _line(row: RowMapping) -> str:
    # Decimals, dates and UUIDs as their text, as the API shows them.
    return json.dumps(dict(row), default=str, ensure_ascii=False)


async def query(database: Database, sql: str, limit: int, out: TextIO) -> int:
    """Run `sql` read-only; print up to `limit` rows and a closing summary line; return the rows printed."""
    try:
        async with database.read() as conn:
            if database.is_postgres:
                await conn.execute(text("SET TRANSACTION READ ONLY"))
            else:
                await conn.execute(text("PRAGMA query_only = ON"))
            try:
                result = await conn.execute(text(sql))
                if not result.returns_rows:
                    raise QueryFailed("the statement returns no rows: only queries are run here")
                rows = result.mappings().fetchmany(limit + 1)
            finally:
                if database.is_sqlite:
                    await conn.execute(text("PRAGMA query_only = OFF"))
    except DBAPIError as error:
        raise QueryFailed(str(error.orig).strip().splitlines()[0]) from error
    for row in rows[:limit]:
        print(_line(row), file=out)
    more = len(rows) > limit
    summary = {"rows": min(len(rows), limit), "truncated": more}
    print(json.dumps({"summary": summary}), file=out)
    return min(len(rows), limit)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sql", help="one SQL query (SELECT, WITH ... SELECT, EXPLAIN ...)")
    parser.add_argument("--limit", type=int, default=1000, help=f"rows to print, 1 to {MAX_LIMIT} (1000)")
    parser.add_argument("--timeout", type=float, default=30.0, help="statement timeout in seconds (30)")
    args = parser.parse_args(argv)
    if not 1 <= args.limit <= MAX_LIMIT:
        parser.error(f"--limit must be 1 to {MAX_LIMIT}")
    if not 0 < args.timeout <= 600:
        parser.error("--timeout must be above 0 and at most 600 seconds")
    try:
        settings = load_config(DatabaseSettings).model_copy(update={"db_statement_timeout": args.timeout})
    except ConfigError as error:
        print(f"dbquery: {error}", file=sys.stderr)
        return 2

    async def run() -> int:
        database = Database.from_settings(settings, "stockwiz-dbquery")
        try:
            return await query(database, args.sql, args.limit, out)
        finally:
            await database.dispose()

    try:
        asyncio.run(run())
    except QueryFailed as error:
        print(f"dbquery: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
