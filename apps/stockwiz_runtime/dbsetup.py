"""Database set-up with the administrator's credentials: the services' roles, the schema, their grants.

`python -m stockwiz_runtime.dbsetup` connects as the administrator (DB_HOST, DB_USER, DB_PASSWORD or
DATABASE_URL, as the services read them) and, idempotently, under the migrations' advisory lock so tasks
starting together queue:

1. creates the roles if they are missing:
   - DB_OWNER_ROLE (stockwiz_owner), NOLOGIN: owns the tables. Nobody logs in with the right to change the
     schema; the administrator becomes a member so it can act as it (SET ROLE).
   - DB_APP_USER (stockwiz_app), LOGIN: what the services connect as. With DB_APP_AUTH=iam it is a member
     of RDS's `rds_iam` and logs in with IAM tokens only; it never has a password.
   and hands tables the administrator created before this step existed to the owner role;
2. migrates to the newest revision as the owner role (migrations.upgrade(as_role=...));
3. grants the services' role exactly what they do: SELECT, INSERT, UPDATE, DELETE on the tables and the
   sequences for inserts; no DDL, no TRUNCATE, no role or database rights, and only reading Alembic's table.

In AWS it runs as the `db-setup` container that each product and inventory task starts before the service
(which starts only when it exits 0): the master credentials are injected into it alone, at task start, from
the RDS-managed secret, so the value is current even just after a rotation.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Literal

from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from stockwiz_runtime.config import ConfigError, load_config
from stockwiz_runtime.db import Database, DatabaseSettings
from stockwiz_runtime.logs import configure_logging
from stockwiz_runtime.migrations import lock_schema, upgrade

log = logging.getLogger("stockwiz.dbsetup")

# Role names go into SQL as quoted identifiers; this keeps them plain (and within PostgreSQL's 63 bytes).
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SCHEMA = "public"


class SetupConfig(DatabaseSettings):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    app_user: str = Field("stockwiz_app", alias="DB_APP_USER")
    owner_role: str = Field("stockwiz_owner", alias="DB_OWNER_ROLE")
    app_auth: Literal["password", "iam"] = Field("password", alias="DB_APP_AUTH")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")

    @field_validator("app_user", "owner_role")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not ROLE_NAME.match(value):
            raise ValueError("a role name of lower-case letters, digits and underscores")
        return value


async def _existing_roles(conn: AsyncConnection, names: list[str]) -> set[str]:
    rows = await conn.execute(
        text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"), {"names": names}
    )
    return {row[0] for row in rows}


async def _owned_by_me(conn: AsyncConnection, kinds: str) -> list[tuple[str, str]]:
    rows = await conn.execute(
        text(
            "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relowner = current_user::regrole "
            "AND c.relkind::text = ANY(:kinds) ORDER BY c.relname"
        ),
        {"schema": SCHEMA, "kinds": list(kinds)},
    )
    return [(row[0], row[1]) for row in rows]


_ALTER = {
    "r": "TABLE",
    "p": "TABLE",
    "f": "FOREIGN TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "S": "SEQUENCE",
}


async def ensure_roles(database: Database, config: SetupConfig) -> None:
    owner, app = config.owner_role, config.app_user
    async with database.write() as conn:
        await lock_schema(database, conn)
        existing = await _existing_roles(conn, [owner, app])
        if owner not in existing:
            await conn.execute(text(f'CREATE ROLE "{owner}" NOLOGIN'))
            log.info("created role %s", owner)
        if app not in existing:
            await conn.execute(text(f'CREATE ROLE "{app}" LOGIN'))
            log.info("created role %s", app)
        await conn.execute(text(f'ALTER ROLE "{app}" LOGIN NOCREATEDB NOCREATEROLE'))
        # Since PostgreSQL 16 the creator of a role holds only ADMIN on it; membership lets it SET ROLE.
        await conn.execute(text(f'GRANT "{owner}" TO CURRENT_USER'))
        if config.app_auth == "iam":
            await conn.execute(text(f'GRANT rds_iam TO "{app}"'))
        database_name = (await conn.execute(text("SELECT quote_ident(current_database())"))).scalar_one()
        await conn.execute(text(f'GRANT CONNECT ON DATABASE {database_name} TO "{app}"'))
        # PostgreSQL before 15 lets every role create objects in public; only the owner role may.
        await conn.execute(text(f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC"))
        await conn.execute(text(f'GRANT USAGE, CREATE ON SCHEMA {SCHEMA} TO "{owner}"'))
        await conn.execute(text(f'GRANT USAGE ON SCHEMA {SCHEMA} TO "{app}"'))
        # Tables (with their serial sequences) first, then any sequence left on its own.
        for kinds in ("rpfvm", "S"):
            for name, kind in await _owned_by_me(conn, kinds):
                await conn.execute(text(f'ALTER {_ALTER[kind]} {SCHEMA}."{name}" OWNER TO "{owner}"'))
                log.info("handed %s %s to %s", _ALTER[kind].lower(), name, owner)


async def grant_app(database: Database, config: SetupConfig) -> None:
    owner, app = config.owner_role, config.app_user
    async with database.write() as conn:
        await lock_schema(database, conn)
        await conn.execute(text(f'SET LOCAL ROLE "{owner}"'))
        await conn.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO "{app}"')
        )
        await conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO "{app}"'))
        # The services read the schema's revision at most; only set-up writes it.
        await conn.execute(text(f'REVOKE INSERT, UPDATE, DELETE ON {SCHEMA}.alembic_version FROM "{app}"'))


async def setup(config: SetupConfig) -> None:
    database = Database.from_settings(config, "stockwiz-db-setup")
    try:
        if not database.is_postgres:
            raise ConfigError("db-setup is for PostgreSQL; SQLite has no roles (the services migrate it)")
        await ensure_roles(database, config)
        await upgrade(database, as_role=config.owner_role)
        await grant_app(database, config)
    finally:
        await database.dispose()
    log.info("database ready for %s (schema owned by %s)", config.app_user, config.owner_role)


def main() -> int:
    try:
        config = load_config(SetupConfig)
    except ConfigError as exc:
        print(f"db-setup: {exc}", file=sys.stderr)
        return 2
    configure_logging("db-setup", config.log_level)
    try:
        asyncio.run(setup(config))
    except Exception as exc:
        log.exception("database set-up failed: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
