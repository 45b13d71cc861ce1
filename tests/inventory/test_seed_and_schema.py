"""Demo seed, the 0002 schema and its constraints, key expiry, configuration, and the ledger check itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from inventory.app import create_app
from inventory.idempotency import purge_expired
from inventory.stock import seed_demo_stock
from products.app import create_app as create_products_app
from products.catalogue import seed_demo_products
from products.config import ProductsConfig
from stockwiz_runtime.config import ConfigError, load_config
from stockwiz_runtime.db import Database, normalize_database_url
from stockwiz_runtime.demo import DEMO_PRODUCTS
from stockwiz_runtime.migrations import downgrade, upgrade
from tests.inventory.conftest import (
    Client,
    ClientFactory,
    create_stock,
    inventory_config,
    ledger_violations,
    make_test_warehouses,
)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(normalize_database_url(database_url))
    await upgrade(database)
    yield database
    await database.dispose()


async def stock_by_sku(db: Database) -> dict[str, tuple[str, int]]:
    async with db.read() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT p.sku, i.warehouse, i.quantity "
                "FROM inventory i JOIN products p ON p.id = i.product_id"
            )
        )
        return {row.sku: (row.warehouse, row.quantity) for row in rows}


UPSTREAM_STOCK = {demo.sku: (demo.warehouse, demo.quantity) for demo in DEMO_PRODUCTS}


async def test_demo_seed_adds_the_upstream_stock_once(
    aiohttp_client: ClientFactory, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url, "SEED_DEMO_DATA": "true"}
    await aiohttp_client(create_products_app(load_config(ProductsConfig, env)))
    client = await aiohttp_client(create_app(inventory_config(database_url, SEED_DEMO_DATA="true")))
    await aiohttp_client(create_app(inventory_config(database_url, SEED_DEMO_DATA="true")))  # a restart
    records = await (await client.get("/inventory")).json()
    assert len(records) == 5
    assert sorted(r["quantity"] for r in records) == [30, 50, 75, 100, 150]
    db = Database(normalize_database_url(database_url))
    try:
        assert await stock_by_sku(db) == UPSTREAM_STOCK
    finally:
        await db.dispose()
    created = await (await client.get("/inventory/movements", params={"reason": "create"})).json()
    assert len(created) == 5 and {m["reference"] for m in created} == {"demo-stock"}
    # Monitor 4K holds 30 against the default reorder point of 30: the earlier UI's "Low" boundary.
    low = await (await client.get("/inventory/low-stock")).json()
    assert [r["quantity"] for r in low] == [30]


async def test_demo_seed_waits_for_the_product_seed(db: Database) -> None:
    async def products_later() -> None:
        await asyncio.sleep(0.3)
        await seed_demo_products(db)

    await asyncio.gather(seed_demo_stock(db, 30, wait_seconds=10), products_later())
    assert await stock_by_sku(db) == UPSTREAM_STOCK


async def test_demo_seed_gives_up_with_a_warning_and_can_run_later(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="stockwiz.inventory"):
        await seed_demo_stock(db, 30, wait_seconds=0.2)
    assert "demo stock not seeded" in caplog.text
    assert await stock_by_sku(db) == {}
    await seed_demo_products(db)
    await seed_demo_stock(db, 30, wait_seconds=0)
    assert await stock_by_sku(db) == UPSTREAM_STOCK


async def test_demo_seed_skips_a_demo_product_someone_deleted(db: Database) -> None:
    await seed_demo_products(db)
    async with db.write() as conn:
        await conn.execute(sa.text("DELETE FROM products WHERE sku = 'CAM-HD'"))
    await asyncio.gather(*(seed_demo_stock(db, 30, wait_seconds=1) for _ in range(3)))
    expected = dict(UPSTREAM_STOCK)
    del expected["CAM-HD"]
    assert await stock_by_sku(db) == expected


async def test_schema_refuses_negative_stock_and_unknown_products(db: Database) -> None:
    now = datetime.now(UTC)
    await seed_demo_products(db)
    async with db.read() as conn:
        product_id = await conn.scalar(sa.text("SELECT min(id) FROM products"))
    row = {"p": product_id, "w": "A", "q": 1, "r": 0, "now": now}
    insert = sa.text(
        "INSERT INTO inventory (product_id, warehouse, quantity, reorder_point, version, created_at, "
        "last_updated) VALUES (:p, :w, :q, :r, 1, :now, :now)"
    )
    for bad in ({"q": -1}, {"r": -1}, {"w": ""}, {"p": 999_999}):
        with pytest.raises(IntegrityError):
            async with db.write() as conn:
                await conn.execute(insert, {**row, **bad})
    async with db.write() as conn:
        await conn.execute(insert, row)
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(insert, row)
    with pytest.raises(IntegrityError):  # ON DELETE RESTRICT
        async with db.write() as conn:
            await conn.execute(sa.text("DELETE FROM products WHERE id = :p"), {"p": product_id})
    async with db.write() as conn:  # keep the ledger honest for the invariant check
        await conn.execute(sa.text("DELETE FROM inventory"))


async def test_downgrade_to_0001_removes_only_the_inventory_tables(db: Database) -> None:
    async def tables() -> set[str]:
        async with db.read() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))

    assert {"inventory", "stock_movements", "idempotency_keys", "products"} <= await tables()
    await downgrade(db, "0001")
    assert not {"inventory", "stock_movements", "idempotency_keys"} & await tables()
    assert "products" in await tables()
    await upgrade(db)
    assert {"inventory", "stock_movements", "idempotency_keys"} <= await tables()


async def test_an_expired_key_is_reusable_and_purged(
    client: Client, product_id: int, database_url: str
) -> None:
    record = await create_stock(client, product_id, quantity=10)
    path = f"/inventory/{record['id']}/adjust"
    headers = {"Idempotency-Key": "old-key"}
    assert (await client.post(path, json={"delta": -1, "reason": "ship"}, headers=headers)).status == 200
    db = Database(normalize_database_url(database_url))
    try:
        past = datetime.now(UTC) - timedelta(seconds=1)
        async with db.write() as conn:
            await conn.execute(sa.text("UPDATE idempotency_keys SET expires_at = :t"), {"t": past})
        reused = await client.post(path, json={"delta": -2, "reason": "ship"}, headers=headers)
        assert reused.status == 200 and "Idempotent-Replayed" not in reused.headers
        assert (await reused.json())["quantity"] == 7
        replay = await client.post(path, json={"delta": -2, "reason": "ship"}, headers=headers)
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert await purge_expired(db) == 0
        async with db.write() as conn:
            await conn.execute(sa.text("UPDATE idempotency_keys SET expires_at = :t"), {"t": past})
        assert await purge_expired(db) == 1
    finally:
        await db.dispose()


async def test_ledger_check_catches_a_tampered_ledger(
    client: Client, product_id: int, database_url: str
) -> None:
    record = await create_stock(client, product_id, quantity=10)
    db = Database(normalize_database_url(database_url))
    try:
        async with db.write() as conn:
            await conn.execute(
                sa.text("UPDATE inventory SET quantity = 11 WHERE id = :id"), {"id": record["id"]}
            )
        assert await ledger_violations(database_url) == [
            f"record {record['id']}: quantity 11, movements sum to 10"
        ]
        async with db.write() as conn:
            await conn.execute(
                sa.text("UPDATE inventory SET quantity = 10 WHERE id = :id"), {"id": record["id"]}
            )
    finally:
        await db.dispose()


async def test_configuration(aiohttp_client: ClientFactory, database_url: str, products: Client) -> None:
    config = inventory_config(database_url, DEFAULT_REORDER_POINT="5", IDEMPOTENCY_KEY_TTL_HOURS="2")
    assert config.port == 8002 and config.idempotency_key_ttl_hours == 2
    client = await aiohttp_client(create_app(config))
    await make_test_warehouses(client)
    response = await products.post("/products", json={"name": "Cable", "price": 3})
    record = await create_stock(client, (await response.json())["id"], quantity=1)
    assert record["reorder_point"] == 5
    for env in ({"DEFAULT_REORDER_POINT": "-1"}, {"IDEMPOTENCY_KEY_TTL_HOURS": "0"}, {"PORT": "x"}):
        with pytest.raises(ConfigError, match=next(iter(env))):
            inventory_config(database_url, **env)
