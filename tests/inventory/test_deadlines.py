"""A write the gateway reports as failed never commits afterwards, on both backends, with real service
processes behind the real gateway: while another transaction holds the lock a write needs, the service
gives up before the gateway's UPSTREAM_TIMEOUT (lock timeout, or the request's deadline checked before
COMMIT), answers 503 `database-timeout`, and nothing it was asked changes when the lock is released."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from gateway.app import create_app as create_gateway
from gateway.config import GatewayConfig
from inventory.config import InventoryConfig
from products.config import ProductsConfig
from stockwiz_runtime.config import load_config
from tests.gateway.conftest import gateway_config
from tests.support.processes import ServiceProcess, start_service
from tests.support.warehouses import make_warehouses

GATEWAY_TIMEOUT = 3.0
TIMED_OUT = "urn:stockwiz:problem:database-timeout"


@asynccontextmanager
async def lock_held(database_url: str, inventory_id: int) -> AsyncIterator[None]:
    """Another transaction holds the lock a write of `inventory_id` needs: its row lock on PostgreSQL, the
    database's write lock on SQLite."""
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM inventory WHERE id = $1 FOR UPDATE", inventory_id)
            yield
    finally:
        await conn.close()


@contextmanager
def backends(database_url: str, log_dir: Path, **env: str) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    products = start_service("products", log_dir, env={"DATABASE_URL": database_url})
    try:
        inventory = start_service("inventory", log_dir, env={"DATABASE_URL": database_url, **env})
        try:
            make_warehouses(inventory.url)
            yield products, inventory
        finally:
            inventory.stop()
    finally:
        products.stop()


WRITES: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("POST", "/api/inventory/{id}/adjust", {"delta": 1, "reason": "receive"}, None),
    ("POST", "/api/inventory/{id}/adjust", {"delta": 2, "reason": "receive"}, None),
    ("POST", "/api/inventory/{id}/adjust", {"delta": -3, "reason": "ship"}, None),
    ("POST", "/api/inventory/{id}/adjust", {"delta": 4, "reason": "receive"}, "key-adjust-1"),
    ("POST", "/api/inventory/{id}/adjust", {"delta": -5, "reason": "ship"}, "key-adjust-2"),
    ("POST", "/api/inventory/{id}/adjust", {"delta": 6, "reason": "receive"}, "key-adjust-3"),
    ("PUT", "/api/inventory/{id}", {"quantity": 77}, None),
    (
        "POST",
        "/api/inventory/transfer",
        {"from_warehouse": "A", "to_warehouse": "B", "quantity": 1},
        "key-mv",
    ),
]


async def run_scenario(gateway: Any, database_url: str, record: dict[str, Any], hold_seconds: float) -> None:
    async def send(method: str, path: str, body: dict[str, Any], key: str | None) -> tuple[int, Any, float]:
        if "from_warehouse" in body:
            body = {**body, "product_id": record["product_id"]}
        headers = {"Idempotency-Key": key} if key else {}
        started = time.monotonic()
        response = await gateway.request(method, path.format(id=record["id"]), json=body, headers=headers)
        return response.status, await response.json(), time.monotonic() - started

    async with lock_held(database_url, record["id"]):
        answers_and_hold = await asyncio.gather(
            asyncio.gather(*(send(*write) for write in WRITES)), asyncio.sleep(hold_seconds)
        )
    answers = answers_and_hold[0]
    for status, body, elapsed in answers:
        # The service's own answer, in time: not the gateway's 504 for a request still running behind it.
        assert (status, body["type"]) == (503, TIMED_OUT), body
        assert elapsed < GATEWAY_TIMEOUT
    await asyncio.sleep(1.0)  # had anything been left running, it would have committed by now
    after = await (await gateway.get(f"/api/inventory/{record['id']}")).json()
    assert (after["quantity"], after["version"]) == (record["quantity"], record["version"])
    movements = await (await gateway.get(f"/api/inventory/{record['id']}/movements")).json()
    assert [movement["reason"] for movement in movements] == ["create"]
    assert await (await gateway.get("/api/inventory?warehouse=B")).json() == []
    # Nothing was stored for the keys either: a retry with the same key is carried out, once.
    for _ in range(2):
        status, body, _ = await send(*WRITES[3])
        assert status == 200, body
    final = await (await gateway.get(f"/api/inventory/{record['id']}")).json()
    assert final["quantity"] == record["quantity"] + 4


async def setup(gateway: Any) -> dict[str, Any]:
    product = await (await gateway.post("/api/products", json={"name": "Held", "price": 1})).json()
    stock = {"product_id": product["id"], "warehouse": "A", "quantity": 50}
    response = await gateway.post("/api/inventory", json=stock)
    assert response.status == 201, await response.text()
    return dict(await response.json())


@pytest.mark.parametrize(
    ("settings", "hold_seconds"),
    [
        # The lock timeout fires first (SQLite: its busy timeout, the statement timeout).
        ({"REQUEST_TIMEOUT": "2", "DB_LOCK_TIMEOUT": "1", "DB_STATEMENT_TIMEOUT": "1.5"}, 4.0),
        # The database would wait, and the lock comes free after the request's deadline: the deadline,
        # checked before COMMIT, rolls the write back.
        ({"REQUEST_TIMEOUT": "1.5", "DB_LOCK_TIMEOUT": "30", "DB_STATEMENT_TIMEOUT": "30"}, 2.2),
    ],
    ids=["lock-timeout", "deadline"],
)
async def test_a_write_behind_a_held_lock_fails_in_time_and_never_commits(
    database_url: str, log_dir: Path, aiohttp_client: Any, settings: dict[str, str], hold_seconds: float
) -> None:
    with backends(database_url, log_dir, **settings) as (products, inventory):
        gateway = await aiohttp_client(
            create_gateway(
                gateway_config(
                    products.url,
                    inventory.url,
                    UPSTREAM_TIMEOUT=str(GATEWAY_TIMEOUT),
                    UPSTREAM_RETRIES="0",
                    BREAKER_FAILURE_THRESHOLD="100",
                )
            )
        )
        await run_scenario(gateway, database_url, await setup(gateway), hold_seconds)
        assert "Traceback" not in inventory.log()


def test_the_default_deadline_is_below_the_gateways_timeout() -> None:
    urls = {"PRODUCT_SERVICE_URL": "http://p:1", "INVENTORY_SERVICE_URL": "http://i:1"}
    gateway = load_config(GatewayConfig, urls)
    services: list[ProductsConfig | InventoryConfig] = [
        load_config(ProductsConfig, {}),
        load_config(InventoryConfig, {}),
    ]
    for service in services:
        # Time for the COMMIT and the answer to travel after the deadline, before the gateway gives up.
        assert service.request_timeout + 1 <= gateway.upstream_timeout
        assert max(service.db_lock_timeout, service.db_statement_timeout) < service.request_timeout
        assert service.db_pool_timeout < service.request_timeout
