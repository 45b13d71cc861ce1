"""The services' database role can do what the services do, and nothing that changes the schema or roles.

db-setup (stockwiz_runtime.dbsetup) runs as an administrator modelled on the RDS master user: not a
superuser, but CREATEROLE and the owner of the database. The database starts as a stack deployed before
this step existed left it: migrated by that administrator, with data in it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from stockwiz_runtime.config import load_config
from stockwiz_runtime.db import Database, normalize_database_url
from stockwiz_runtime.dbsetup import SetupConfig, setup
from stockwiz_runtime.migrations import upgrade
from tests.support.databases import admin_postgres_url, create_postgres_database, drop_postgres_database
from tests.support.processes import REPO, start_service
from tests.support.warehouses import make_warehouses

pytestmark = pytest.mark.postgres  # its own PostgreSQL databases, roles or servers


@dataclass(frozen=True)
class Roles:
    database_url: str
    admin: str
    owner: str
    app: str

    def url_as(self, user: str) -> str:
        return make_url(self.database_url).set(username=user, password=None).render_as_string(False)


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _setup_config(roles: Roles) -> SetupConfig:
    return load_config(
        SetupConfig,
        {"DATABASE_URL": roles.url_as(roles.admin), "DB_APP_USER": roles.app, "DB_OWNER_ROLE": roles.owner},
    )


@pytest.fixture
def roles() -> Iterator[Roles]:
    suffix = uuid.uuid4().hex[:8]
    names = Roles("", f"swz_admin_{suffix}", f"swz_owner_{suffix}", f"swz_app_{suffix}")
    url = asyncio.run(create_postgres_database())
    roles = Roles(url, names.admin, names.owner, names.app)
    database = make_url(url).database
    asyncio.run(
        _execute(
            admin_postgres_url(),
            f'CREATE ROLE "{roles.admin}" LOGIN CREATEROLE',
            f'ALTER DATABASE "{database}" OWNER TO "{roles.admin}"',
        )
    )
    try:
        yield roles
    finally:
        asyncio.run(drop_postgres_database(url))
        asyncio.run(
            _execute(
                admin_postgres_url(),
                *(f'DROP ROLE IF EXISTS "{name}"' for name in (roles.app, roles.owner, roles.admin)),
            )
        )


async def _legacy_schema_with_data(roles: Roles) -> None:
    """What a stack deployed before db-setup has: the services migrated as the administrator."""
    database = Database(normalize_database_url(roles.url_as(roles.admin)))
    try:
        await upgrade(database)
    finally:
        await database.dispose()
    await _execute(
        roles.url_as(roles.admin),
        "INSERT INTO products (name, price, sku, created_at, updated_at) "
        "VALUES ('Legacy lamp', 10, 'LEGACY-1', now(), now())",
    )


def _run_db_setup(roles: Roles, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "apps"),
        "DATABASE_URL": roles.url_as(roles.admin),
        "DB_APP_USER": roles.app,
        "DB_OWNER_ROLE": roles.owner,
        **extra,
    }
    command = [sys.executable, "-m", "stockwiz_runtime.dbsetup"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_db_setup_fails_loudly_without_the_administrators_rights(roles: Roles) -> None:
    """A task whose db-setup cannot do its work must not start its service: exit 1, with the reason."""
    result = _run_db_setup(roles, DATABASE_URL=roles.url_as("nobody_" + uuid.uuid4().hex[:8]))
    assert result.returncode == 1
    assert "database set-up failed" in result.stdout + result.stderr


async def _refused(conn: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement)


@pytest.mark.parametrize("start", ["fresh", "deployed-before-db-setup"])
def test_app_role_has_dml_only_and_the_owner_owns_the_schema(roles: Roles, start: str) -> None:
    legacy = start == "deployed-before-db-setup"
    if legacy:
        asyncio.run(_legacy_schema_with_data(roles))
    # As the db-setup container runs it; every task start runs it again, so it must be idempotent.
    for _ in range(2):
        result = _run_db_setup(roles)
        assert result.returncode == 0, result.stdout + result.stderr

    async def check() -> None:
        conn = await asyncpg.connect(roles.url_as(roles.app))
        try:
            owners = dict(
                await conn.fetch(
                    "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S')"
                )
            )
            assert "products" in owners and "stock_movements_id_seq" in owners
            assert set(owners.values()) == {roles.owner}, owners
            attributes = await conn.fetchrow(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles "
                "WHERE rolname = current_user"
            )
            assert tuple(attributes) == (False, False, False, True)
            assert not await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", roles.owner)
            assert await conn.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", roles.admin, roles.owner)

            # What the services do: read, insert (sequences), update, delete; the old data is still there.
            if legacy:
                legacy_name = await conn.fetchval("SELECT name FROM products WHERE sku = 'LEGACY-1'")
                assert legacy_name == "Legacy lamp"
            product = await conn.fetchval(
                "INSERT INTO products (name, price, sku, created_at, updated_at) "
                "VALUES ('Lamp', 5, 'ROLE-1', now(), now()) RETURNING id"
            )
            stock = await conn.fetchval(
                "INSERT INTO inventory (product_id, warehouse, quantity, reorder_point, created_at, "
                "last_updated) VALUES ($1, 'A', 3, 1, now(), now()) RETURNING id",
                product,
            )
            await conn.execute("UPDATE inventory SET quantity = 4 WHERE id = $1", stock)
            await conn.execute("DELETE FROM inventory WHERE id = $1", stock)
            assert await conn.fetchval("SELECT version_num FROM alembic_version")

            # Nothing that changes the schema, the data wholesale, the revision or the roles.
            for statement in (
                "DROP TABLE stock_movements",
                "ALTER TABLE products ADD COLUMN colour text",
                "CREATE TABLE scratch (id int)",
                "CREATE INDEX ix_scratch ON products (price)",
                "TRUNCATE products CASCADE",
                "UPDATE alembic_version SET version_num = 'x'",
                "DELETE FROM alembic_version",
                "CREATE ROLE intruder",
                f'GRANT "{roles.owner}" TO CURRENT_USER',
            ):
                await _refused(conn, statement)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE DATABASE intruder")
        finally:
            await conn.close()

    asyncio.run(check())


def _call(method: str, url: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert 200 <= response.status < 300
        return json.loads(response.read() or b"null")


def test_the_services_run_as_the_app_role(roles: Roles, log_dir: Path) -> None:
    asyncio.run(setup(_setup_config(roles)))
    env = {"DATABASE_URL": roles.url_as(roles.app), "MIGRATE_ON_START": "false", "SEED_DEMO_DATA": "true"}
    products = start_service("products", log_dir, env=env)
    inventory = start_service("inventory", log_dir, env=env)
    try:
        make_warehouses(inventory.url)  # as the app role too
        assert _call("GET", f"{products.url}/products")  # the demo seed ran as the app role
        lamp = _call("POST", f"{products.url}/products", {"name": "Lamp", "price": 9.5, "sku": "APP-ROLE-1"})
        _call("PUT", f"{products.url}/products/{lamp['id']}", {"price": 10})
        record = _call("POST", f"{inventory.url}/inventory", {"product_id": lamp["id"], "warehouse": "A"})
        adjust = {"delta": 7, "reason": "receive"}
        key = {"Idempotency-Key": f"role-test-{uuid.uuid4().hex}"}
        assert (
            _call("POST", f"{inventory.url}/inventory/{record['id']}/adjust", adjust, **key)["quantity"] == 7
        )
        moved = {"product_id": lamp["id"], "from_warehouse": "A", "to_warehouse": "B", "quantity": 2}
        _call("POST", f"{inventory.url}/inventory/transfer", moved)
        assert _call("GET", f"{inventory.url}/inventory/product/{lamp['id']}")["quantity"] == 7
        for service in (products, inventory):
            assert "permission denied" not in service.log()
    finally:
        products.stop()
        inventory.stop()
