"""Migrations on both backends: empty -> head -> base -> head, and concurrent start-ups on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
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


ID_COLUMNS = {
    ("products", "id"),
    ("inventory", "id"),
    ("inventory", "product_id"),
    ("stock_movements", "id"),
    ("stock_movements", "inventory_id"),
    ("stock_movements", "product_id"),
    ("warehouses", "id"),  # 64-bit from its start (0006)
}


async def id_types(db: Database) -> dict[tuple[str, str], str]:
    """The PostgreSQL type of every id column and of each table's id sequence."""
    async with db.read() as conn:
        columns = (
            await conn.execute(
                sa.text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = 'public'"
                )
            )
        ).all()
        sequences = (
            await conn.execute(sa.text("SELECT sequencename, data_type, max_value FROM pg_sequences"))
        ).all()
    types = {(table, column): kind for table, column, kind in columns if (table, column) in ID_COLUMNS}
    types |= {(name, "sequence"): f"{kind} to {maximum}" for name, kind, maximum in sequences}
    return types


async def downgrade_drops_only(db: Database, revision: str, table: str, column: str, rows: int) -> None:
    """Migrating down to `revision` drops `column` of `table` and keeps its `rows` rows."""
    await downgrade(db, revision)
    async with db.read() as conn:
        columns = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns(table))
        assert column not in {found["name"] for found in columns}
        assert await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == rows


async def test_reorder_quantity_is_added_with_a_default_and_removed(database_url: str) -> None:
    """0004: existing records get reorder_quantity 0 (not set); a negative one is refused by the database;
    going back to 0003 drops the column and keeps the records."""
    db = Database(normalize_database_url(database_url))
    insert = (
        "INSERT INTO inventory (product_id, warehouse, quantity, reorder_point, version, created_at,"
        " last_updated) VALUES (1, :w, 5, 30, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    try:
        await upgrade(db, "0003")
        async with db.write() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO products (id, name, price, version, created_at, updated_at)"
                    " VALUES (1, 'p', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(sa.text(insert), {"w": "A"})
        await upgrade(db, "0004")
        async with db.read() as conn:
            quantities = await conn.execute(sa.text("SELECT reorder_quantity FROM inventory"))
            assert quantities.scalars().all() == [0]
        with pytest.raises(sa.exc.IntegrityError):
            async with db.write() as conn:
                await conn.execute(sa.text("UPDATE inventory SET reorder_quantity = -1"))
        await downgrade_drops_only(db, "0003", "inventory", "reorder_quantity", rows=1)
        await upgrade(db)
    finally:
        await db.dispose()


async def test_products_become_archivable_all_active(database_url: str) -> None:
    """0005: every existing product starts active (archived false); back at 0004 the flag is gone and the
    products are kept."""
    db = Database(normalize_database_url(database_url))
    try:
        await upgrade(db, "0004")
        async with db.write() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO products (name, price, version, created_at, updated_at)"
                    " VALUES ('p', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(db, "0005")
        async with db.read() as conn:
            flags = await conn.execute(sa.text("SELECT archived FROM products"))
            assert flags.scalars().all() == [False]
        await downgrade_drops_only(db, "0004", "products", "archived", rows=1)
        await upgrade(db)
    finally:
        await db.dispose()


async def test_movements_gain_an_unknown_actor_and_lose_it_again(database_url: str) -> None:
    """0008: movements recorded before it name no actor (NULL); back at 0007 the column is gone and the
    movements are kept."""
    db = Database(normalize_database_url(database_url))
    try:
        await upgrade(db, "0007")
        async with db.write() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO stock_movements (inventory_id, product_id, warehouse, delta, quantity_after,"
                    " reason, created_at) VALUES (1, 1, 'A', 5, 5, 'create', CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(db, "0008")
        async with db.read() as conn:
            actors = await conn.execute(sa.text("SELECT actor FROM stock_movements"))
            assert actors.scalars().all() == [None]
        await downgrade_drops_only(db, "0007", "stock_movements", "actor", rows=1)
        await upgrade(db)
    finally:
        await db.dispose()


async def test_ids_are_64_bit_and_migrate_down_and_up(database_url: str) -> None:
    db = Database(normalize_database_url(database_url))
    try:
        await upgrade(db)
        if db.is_postgres:
            assert await id_types(db) == {
                **{column: "bigint" for column in ID_COLUMNS},
                **{
                    (f"{table}_id_seq", "sequence"): "bigint to 9223372036854775807"
                    for table in ("products", "inventory", "stock_movements", "warehouses")
                },
            }
        await downgrade(db, "0002")
        assert await current_revision(db) == "0002"
        if db.is_postgres:
            assert set((await id_types(db)).values()) == {"integer", "integer to 2147483647"}
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        if db.is_postgres:
            assert set((await id_types(db)).values()) == {"bigint", "bigint to 9223372036854775807"}
        # SQLite's INTEGER PRIMARY KEY is a 64-bit rowid already: the largest id is stored and read back.
        async with db.write() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO products (id, name, price, version, created_at, updated_at)"
                    " VALUES (:id, 'max', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": 2**63 - 1},
            )
        async with db.read() as conn:
            assert await conn.scalar(sa.text("SELECT max(id) FROM products")) == 2**63 - 1
    finally:
        await db.dispose()


async def test_cost_price_is_added_empty_and_removed(database_url: str) -> None:
    """0007: existing products have no cost price (null: unpriced); back at 0006 the column is gone and the
    products are kept."""
    db = Database(normalize_database_url(database_url))
    try:
        await upgrade(db, "0006")
        async with db.write() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO products (name, price, version, created_at, updated_at)"
                    " VALUES ('p', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(db, "0007")
        async with db.read() as conn:
            assert (await conn.execute(sa.text("SELECT cost_price FROM products"))).scalars().all() == [None]
        async with db.write() as conn:
            with pytest.raises(sa.exc.IntegrityError):
                await conn.execute(sa.text("UPDATE products SET cost_price = -1"))
        await downgrade_drops_only(db, "0006", "products", "cost_price", rows=1)
        await upgrade(db)
    finally:
        await db.dispose()
