"""Who made each change, and the shop-wide movement log with its filters, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from tests.inventory.conftest import Client, create_stock, new_product

ACTOR = {"X-StockWiz-Actor": "alice"}


async def log(client: Client, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/inventory/movements", params=params)
    assert response.status == 200, await response.text()
    return list(await response.json())


async def test_each_movement_names_its_actor_or_none(client: Client, product_id: int) -> None:
    created = await client.post(
        "/inventory", json={"product_id": product_id, "warehouse": "A", "quantity": 5}, headers=ACTOR
    )
    record = await created.json()
    # Without the header nobody is named; a header that is not a token name is not believed.
    await client.post(f"/inventory/{record['id']}/adjust", json={"delta": -1, "reason": "ship"})
    await client.post(
        f"/inventory/{record['id']}/adjust",
        json={"delta": -1, "reason": "ship"},
        headers={"X-StockWiz-Actor": "bob<script>"},
    )
    transfer = {"product_id": product_id, "from_warehouse": "A", "to_warehouse": "B", "quantity": 1}
    await client.post("/inventory/transfer", json=transfer, headers={"X-StockWiz-Actor": "carol"})
    await client.put(f"/inventory/{record['id']}", json={"quantity": 7}, headers={"X-StockWiz-Actor": "dave"})
    movements = await log(client)
    assert [(m["reason"], m["actor"]) for m in movements] == [
        ("count", "dave"),
        ("transfer_in", "carol"),
        ("transfer_out", "carol"),
        ("create", "carol"),
        ("ship", None),
        ("ship", None),
        ("create", "alice"),
    ]
    assert all(m["product_name"] == "Laptop" and m["sku"] == "LAP-1" for m in movements)
    per_record = await (await client.get(f"/inventory/{record['id']}/movements")).json()
    assert per_record[0]["actor"] == "dave" and per_record[0]["sku"] == "LAP-1"


async def test_combined_adjustments_keep_each_requests_actor(client: Client, product_id: int) -> None:
    """Concurrent adjustments of one record share a transaction (inventory.batching): each movement still
    names the actor of its own request, including none."""
    record = await create_stock(client, product_id, "A", 100)
    actors = [f"clerk-{n}" if n % 3 else None for n in range(24)]

    async def ship(actor: str | None) -> None:
        headers = {"X-StockWiz-Actor": actor} if actor else {}
        response = await client.post(
            f"/inventory/{record['id']}/adjust",
            json={"delta": -1, "reason": "ship", "note": str(actor)},
            headers=headers,
        )
        assert response.status == 200

    await asyncio.gather(*(ship(actor) for actor in actors))
    ships = await log(client, reason="ship", limit="100")
    assert len(ships) == len(actors)
    assert all(m["note"] == str(m["actor"]) for m in ships)


async def test_deleting_a_product_names_who_did_it(client: Client, products: Client) -> None:
    product = await new_product(products, "Lamp")
    await create_stock(client, product, "A", 0)
    deleted = await products.delete(f"/products/{product}", headers={"X-StockWiz-Actor": "erin"})
    assert deleted.status == 204
    closing = await log(client, product_id=str(product), reason="delete")
    assert [(m["actor"], m["product_name"]) for m in closing] == [("erin", None)]


async def test_the_log_filters_by_actor_and_time(client: Client, products: Client, product_id: int) -> None:
    other = await new_product(products, "Mouse")
    a = await create_stock(client, product_id, "A", 10)
    await client.post(
        "/inventory", json={"product_id": other, "warehouse": "B", "quantity": 3}, headers=ACTOR
    )
    await client.post(f"/inventory/{a['id']}/adjust", json={"delta": -2, "reason": "ship"}, headers=ACTOR)
    mine = await client.get("/inventory/movements", params={"actor": "alice", "limit": "1"})
    assert mine.headers["X-Total-Count"] == "2" and "actor=alice" in mine.headers["Link"]
    assert [m["reason"] for m in await mine.json()] == ["ship"]
    assert [m["sku"] for m in await log(client, actor="alice", warehouse="B")] == [None]
    assert await log(client, actor="nobody") == []

    everything = await log(client)
    newest = datetime.fromisoformat(everything[0]["created_at"])
    oldest = datetime.fromisoformat(everything[-1]["created_at"])
    # Inclusive bounds: a window from the oldest to the newest instant holds everything.
    window = await log(client, **{"from": oldest.isoformat(), "to": newest.isoformat()})
    assert [m["id"] for m in window] == [m["id"] for m in everything]
    assert await log(client, **{"from": (newest + timedelta(seconds=1)).isoformat()}) == []
    assert await log(client, to=(oldest - timedelta(seconds=1)).isoformat()) == []
    # A bare date is the whole day (UTC): `to` today includes everything recorded today.
    today = newest.date().isoformat()
    assert len(await log(client, **{"from": today, "to": today})) == len(everything)
    # A time without an offset is UTC, like the ledger.
    naive = newest.replace(tzinfo=None) + timedelta(seconds=1)
    assert len(await log(client, to=naive.isoformat())) == len(everything)


async def test_bad_filters_are_422_against_the_field(client: Client) -> None:
    cases = {
        "from": {"from": "yesterday"},
        "to": {"from": "2026-12-02", "to": "2026-12-01"},
        "actor": {"actor": "bob smith"},
    }
    for field, params in cases.items():
        response = await client.get("/inventory/movements", params=params)
        assert response.status == 422
        problem = await response.json()
        assert [error["field"] for error in problem["errors"]] == [field], problem
    bad_to = await client.get("/inventory/movements", params={"to": "2026-13-01"})
    assert (await bad_to.json())["errors"][0]["message"].startswith("must be an ISO date")
