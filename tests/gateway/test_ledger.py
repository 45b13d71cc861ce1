"""Who made each change, through the gateway in front of the real services: the ledger names the admitted
token, never what a client claims; the movement log and its export carry the actor."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

from gateway import export
from tests.gateway.conftest import API_TOKENS, READ, WRITE, Backends, GatewayClient

Build = Callable[..., Awaitable[GatewayClient]]
FORGED = {"X-StockWiz-Actor": "mallory"}


async def stock_something(gateway: GatewayClient, headers: dict[str, str]) -> dict[str, Any]:
    product = await gateway.post(
        "/api/products", json={"name": "Lamp", "price": 5, "sku": "LMP"}, headers=headers
    )
    assert product.status == 201, await product.text()
    product_id = (await product.json())["id"]
    record = await gateway.post(
        "/api/inventory", json={"product_id": product_id, "warehouse": "A", "quantity": 4}, headers=headers
    )
    assert record.status == 201, await record.text()
    adjusted = await gateway.post(
        f"/api/inventory/{(await record.json())['id']}/adjust",
        json={"delta": -1, "reason": "ship"},
        headers=headers,
    )
    assert adjusted.status == 200
    return dict(await record.json())


async def test_the_ledger_names_the_token_and_ignores_a_forged_actor(
    gateway_for: Build, backends: Backends
) -> None:
    gateway = await gateway_for(backends.products.url, backends.inventory.url, API_TOKENS=API_TOKENS)
    await stock_something(gateway, {**WRITE, **FORGED})
    response = await gateway.get("/api/inventory/movements", headers=READ)
    movements = await response.json()
    assert [(m["reason"], m["actor"], m["sku"]) for m in movements] == [
        ("ship", "writer", "LMP"),
        ("create", "writer", "LMP"),
    ]
    forged = await gateway.get("/api/inventory/movements", params={"actor": "mallory"}, headers=READ)
    assert await forged.json() == []
    by_writer = await gateway.get("/api/inventory/movements", params={"actor": "writer"}, headers=READ)
    assert by_writer.headers["X-Total-Count"] == "2"

    download = await gateway.get("/api/export/movements.csv", params={"actor": "writer"}, headers=READ)
    assert download.status == 200
    rows = list(csv.reader(io.StringIO((await download.read()).decode()[1:], newline="")))
    columns = export.EXPORTS["movements"].columns
    assert rows[0] == list(columns)
    assert [(row[columns.index("actor")], row[columns.index("sku")]) for row in rows[1:]] == [
        ("writer", "LMP"),
        ("writer", "LMP"),
    ]
    bad = await gateway.get("/api/inventory/movements", params={"from": "last week"}, headers=READ)
    assert bad.status == 422
    problem = await bad.json()
    assert problem["errors"][0]["field"] == "from" and problem["instance"] == "/api/inventory/movements"


async def test_an_open_gateway_names_nobody_whatever_the_client_says(
    gateway_for: Build, backends: Backends
) -> None:
    gateway = await gateway_for(backends.products.url, backends.inventory.url)
    await stock_something(gateway, FORGED)
    movements = await (await gateway.get("/api/inventory/movements")).json()
    assert [m["actor"] for m in movements] == [None, None]
