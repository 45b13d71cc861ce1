"""The inventory service (and the product service it shares a database with) through aiohttp's test client,
on SQLite and on PostgreSQL. After every test the ledger invariant is checked on the database it used."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from inventory.app import create_app
from inventory.config import InventoryConfig
from products.app import create_app as create_products_app
from products.config import ProductsConfig
from stockwiz_runtime.config import load_config
from stockwiz_runtime.db import Database, normalize_database_url
from tests.support.warehouses import TEST_WAREHOUSES

Client = TestClient[Any, Any]
ClientFactory = Callable[..., Awaitable[Client]]


def inventory_config(database_url: str, **env: str) -> InventoryConfig:
    return load_config(InventoryConfig, {"DATABASE_URL": database_url, **env})


async def ledger_violations(database_url: str) -> list[str]:
    """Every way the ledger disagrees with the stock records: each record's movements, in id order, must
    run from 0 through every quantity_after to its quantity; a deleted record's movements must sum to 0."""
    db = Database(normalize_database_url(database_url))
    try:
        async with db.read() as conn:
            tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
            if "stock_movements" not in tables:
                return []
            records = {
                int(row.id): int(row.quantity)
                for row in await conn.execute(sa.text("SELECT id, quantity FROM inventory"))
            }
            movements = (
                await conn.execute(
                    sa.text("SELECT inventory_id, delta, quantity_after FROM stock_movements ORDER BY id")
                )
            ).all()
    finally:
        await db.dispose()
    problems: list[str] = []
    running: dict[int, int] = {}
    for inventory_id, delta, quantity_after in movements:
        running[inventory_id] = running.get(inventory_id, 0) + delta
        if running[inventory_id] != quantity_after:
            problems.append(
                f"record {inventory_id}: ledger runs to {running[inventory_id]}, says {quantity_after}"
            )
    for inventory_id, quantity in records.items():
        if running.get(inventory_id) != quantity:
            problems.append(
                f"record {inventory_id}: quantity {quantity}, movements sum to {running.get(inventory_id)}"
            )
    for inventory_id, total in running.items():
        if inventory_id not in records and total != 0:
            problems.append(f"deleted record {inventory_id}: movements sum to {total}, not 0")
    return problems


@pytest.fixture(autouse=True)
async def ledger_invariant(database_url: str) -> AsyncIterator[None]:
    """Checked after every test; set up before the apps, so it is torn down after them."""
    yield
    assert await ledger_violations(database_url) == []


@pytest.fixture
async def products(aiohttp_client: ClientFactory, database_url: str) -> Client:
    """The product service on the shared database (it migrates first, as either service may)."""
    return await aiohttp_client(
        create_products_app(load_config(ProductsConfig, {"DATABASE_URL": database_url}))
    )


@pytest.fixture
async def client(aiohttp_client: ClientFactory, database_url: str, products: Client) -> Client:
    """The inventory service on the same database as `products`, with the warehouses tests stock."""
    client = await aiohttp_client(create_app(inventory_config(database_url)))
    await make_test_warehouses(client)
    return client


async def make_test_warehouses(client: Client, names: tuple[str, ...] = TEST_WAREHOUSES) -> None:
    for name in names:
        response = await client.post("/warehouses", json={"name": name})
        assert response.status == 201, await response.text()


@pytest.fixture
async def product_id(products: Client) -> int:
    response = await products.post("/products", json={"name": "Laptop", "price": 1299.99, "sku": "LAP-1"})
    assert response.status == 201
    return int((await response.json())["id"])


async def new_product(products: Client, name: str = "Mouse") -> int:
    response = await products.post("/products", json={"name": name, "price": 10})
    assert response.status == 201
    return int((await response.json())["id"])


async def create_stock(
    client: Client, product_id: int, warehouse: str = "Warehouse A", quantity: int = 50, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/inventory", json={"product_id": product_id, "warehouse": warehouse, "quantity": quantity, **extra}
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())
