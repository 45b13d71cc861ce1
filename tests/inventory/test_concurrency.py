"""Concurrent writers through real HTTP requests to the test server, on PostgreSQL and on SQLite.

On PostgreSQL writers to different rows run in parallel and the row lock orders writers to one row; on
SQLite BEGIN IMMEDIATE runs one writer at a time for the whole database. The outcomes must be the same.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

from prometheus_client import CollectorRegistry

from inventory import stock
from inventory.batching import AdjustmentBatcher
from inventory.idempotency import Change
from inventory.metrics import InventoryMetrics
from inventory.schemas import AdjustRequest
from stockwiz_runtime.db import (
    Database,
    DatabaseUnavailable,
    database_error_to_problem,
    normalize_database_url,
)
from stockwiz_runtime.problems import ProblemError
from tests.inventory.conftest import Client, create_stock


async def statuses(responses: list[Any]) -> Counter[int]:
    for response in responses:
        await response.read()
    return Counter(response.status for response in responses)


async def test_fifty_parallel_takes_of_one_from_thirty(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=30)
    path = f"/inventory/{record['id']}/adjust"
    responses = await asyncio.gather(
        *(client.post(path, json={"delta": -1, "reason": "ship"}) for _ in range(50))
    )
    assert await statuses(responses) == {200: 30, 409: 20}
    final = await (await client.get(f"/inventory/{record['id']}")).json()
    assert final["quantity"] == 0 and final["version"] == 31
    ships = await client.get("/inventory/movements", params={"reason": "ship"})
    assert ships.headers["X-Total-Count"] == "30"
    assert {m["delta"] for m in await ships.json()} == {-1}
    quantities_after = sorted(m["quantity_after"] for m in await ships.json())
    assert quantities_after == list(range(30))  # every take saw the one before it
    metrics = await (await client.get("/metrics")).text()
    assert "inventory_adjust_round_size_sum 50.0" in metrics
    rounds = float(metrics.split("inventory_adjust_round_size_count ")[1].split()[0])
    assert rounds < 50  # requests waiting on a busy record were combined


async def test_parallel_transfers_keep_the_total_and_never_go_negative(
    client: Client, product_id: int
) -> None:
    await create_stock(client, product_id, "A", 60)
    await create_stock(client, product_id, "B", 60)
    rng = random.Random(7)  # the same load on every run
    bodies = []
    for index in range(60):
        source, target = [("A", "B"), ("B", "A"), ("A", "C"), ("C", "B")][index % 4]
        bodies.append(
            {
                "product_id": product_id,
                "from_warehouse": source,
                "to_warehouse": target,
                "quantity": rng.randint(1, 25),
            }
        )
    responses = await asyncio.gather(*(client.post("/inventory/transfer", json=body) for body in bodies))
    outcome = await statuses(responses)
    assert set(outcome) <= {200, 404, 409}, outcome  # 404: C did not exist yet for a C -> B transfer
    assert outcome[200] > 0
    stock = await (await client.get(f"/inventory/product/{product_id}")).json()
    assert stock["quantity"] == 120
    assert all(w["quantity"] >= 0 for w in stock["warehouses"])
    assert sorted(w["warehouse"] for w in stock["warehouses"]) == ["A", "B", "C"]
    moved = await client.get("/inventory/movements", params={"reason": "transfer_in"})
    assert moved.headers["X-Total-Count"] == str(outcome[200])


async def test_concurrent_put_with_the_same_if_match_one_wins(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=10)
    path = f"/inventory/{record['id']}"
    for version in range(1, 6):
        responses = await asyncio.gather(
            *(
                client.put(path, json={"quantity": 100 + n}, headers={"If-Match": f'"{version}"'})
                for n in range(4)
            )
        )
        assert await statuses(responses) == {200: 1, 412: 3}
        winner = next(r for r in responses if r.status == 200)
        assert winner.headers["ETag"] == f'"{version + 1}"'
        assert all(r.headers["ETag"] == f'"{version + 1}"' for r in responses if r.status == 412)
    counts = await client.get("/inventory/movements", params={"reason": "count"})
    assert counts.headers["X-Total-Count"] == "5"


async def test_concurrent_retries_with_one_key_apply_once(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=30)
    path = f"/inventory/{record['id']}/adjust"
    headers = {"Idempotency-Key": "shipment-42"}
    responses = await asyncio.gather(
        *(client.post(path, json={"delta": -7, "reason": "ship"}, headers=headers) for _ in range(20))
    )
    assert await statuses(responses) == {200: 20}
    bodies = [await response.json() for response in responses]
    assert all(body == bodies[0] for body in bodies) and bodies[0]["quantity"] == 23
    assert sum(1 for r in responses if r.headers.get("Idempotent-Replayed") == "true") == 19
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["quantity"] == 23


async def test_concurrent_uses_of_one_key_for_different_bodies(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=30)
    path = f"/inventory/{record['id']}/adjust"
    headers = {"Idempotency-Key": "confused-client"}
    responses = await asyncio.gather(
        *(client.post(path, json={"delta": -n, "reason": "ship"}, headers=headers) for n in range(1, 9))
    )
    assert await statuses(responses) == {200: 1, 422: 7}
    history = await client.get(f"/inventory/{record['id']}/movements", params={"reason": "ship"})
    assert history.headers["X-Total-Count"] == "1"


async def test_concurrent_creates_of_one_record(client: Client, product_id: int) -> None:
    body = {"product_id": product_id, "warehouse": "Dock", "quantity": 5}
    responses = await asyncio.gather(*(client.post("/inventory", json=body) for _ in range(10)))
    assert await statuses(responses) == {201: 1, 409: 9}


async def test_deletes_racing_adjustments(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=100)
    path = f"/inventory/{record['id']}"
    requests = [client.post(f"{path}/adjust", json={"delta": -1, "reason": "ship"}) for _ in range(20)]
    requests.insert(10, client.delete(path))
    outcome = await statuses(list(await asyncio.gather(*requests)))
    assert outcome[204] == 1 and set(outcome) <= {200, 204, 404}
    assert (await client.get(path)).status == 404
    history = await (await client.get(f"{path}/movements", params={"limit": "1000"})).json()
    assert history[0]["reason"] == "delete"
    assert sum(m["delta"] for m in history) == 0


async def test_a_combined_round_answers_each_adjustment_as_if_it_ran_alone(
    client: Client, product_id: int, database_url: str
) -> None:
    record = await create_stock(client, product_id, quantity=3)
    deltas = [-2, -2, 5, -4, -1, -1, -1]
    db = Database(normalize_database_url(database_url))
    try:
        outcomes = await stock.adjust_many(
            db,
            record["id"],
            [
                stock.Adjustment(AdjustRequest(delta=d, reason="ship" if d < 0 else "receive"), f"req-{n}")
                for n, d in enumerate(deltas)
            ],
        )
        missing = await stock.adjust_many(
            db, 999_999, [stock.Adjustment(AdjustRequest(delta=1, reason="adjust"), None)]
        )
    finally:
        await db.dispose()
    assert [o.status for o in outcomes] == [200, 409, 200, 200, 200, 200, 409]
    accepted = [o.body for o in outcomes if isinstance(o, Change)]
    assert [(b["quantity"], b["version"]) for b in accepted] == [(1, 2), (6, 3), (2, 4), (1, 5), (0, 6)]
    refused = [o for o in outcomes if isinstance(o, ProblemError)]
    assert [(p.kind, p.extra["available"]) for p in refused] == [
        ("insufficient-stock", 1),
        ("insufficient-stock", 0),
    ]
    assert [p.status for p in missing] == [404]
    history = await (await client.get(f"/inventory/{record['id']}/movements")).json()
    assert [m["request_id"] for m in history[:5]] == ["req-5", "req-4", "req-3", "req-2", "req-0"]


async def test_combined_requests_keep_their_own_request_ids(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=100)
    path = f"/inventory/{record['id']}/adjust"
    responses = await asyncio.gather(
        *(
            client.post(path, json={"delta": -1, "reason": "ship"}, headers={"X-Request-ID": f"order-{n}"})
            for n in range(30)
        )
    )
    assert await statuses(responses) == {200: 30}
    by_version = {(await r.json())["version"]: r.headers["X-Request-ID"] for r in responses}
    history = await (
        await client.get(f"/inventory/{record['id']}/movements", params={"reason": "ship"})
    ).json()
    assert len(history) == 30
    for movement in history:
        # the movement that made version v is the one the request answered with version v made
        assert movement["request_id"] == by_version[100 - movement["quantity_after"] + 1]


async def test_a_failed_round_answers_every_waiting_request(database_url: str) -> None:
    registry = CollectorRegistry()
    batcher = AdjustmentBatcher(
        Database(normalize_database_url("postgresql://nobody@127.0.0.1:1/none")), InventoryMetrics(registry)
    )
    try:
        results = await asyncio.gather(
            *(batcher.adjust(1, AdjustRequest(delta=1, reason="receive")) for _ in range(5)),
            return_exceptions=True,
        )
    finally:
        await batcher.db.dispose()
    assert all(isinstance(result, DatabaseUnavailable) for result in results), results
    assert all(
        database_error_to_problem(result) is not None for result in results if isinstance(result, Exception)
    )
