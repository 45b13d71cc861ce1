"""Warehouses as managed records, on SQLite and PostgreSQL: names unique whatever their case, stock only in
a warehouse that exists and is not archived, renames that carry records and ledger along, archive only when
empty, and migration 0006 making warehouses of existing data (case clashes kept apart and reported). The
ledger invariant is checked after every test (conftest)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import sqlalchemy as sa

from inventory.app import create_app
from stockwiz_runtime.db import Database, normalize_database_url
from stockwiz_runtime.migrations import downgrade, upgrade
from tests.inventory.conftest import Client, ClientFactory, create_stock, inventory_config


@pytest.fixture
async def client(aiohttp_client: ClientFactory, database_url: str, products: Client) -> Client:
    """The inventory service without the warehouses the other tests make: each test makes its own."""
    return await aiohttp_client(create_app(inventory_config(database_url)))


async def make(client: Client, name: str) -> dict[str, Any]:
    response = await client.post("/warehouses", json={"name": name})
    assert response.status == 201, await response.text()
    body = dict(await response.json())
    assert response.headers["Location"] == f"/warehouses/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    return body


async def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body = dict(await response.json())
    assert body["type"] == f"urn:stockwiz:problem:{kind}"
    return body


async def names(client: Client, **params: str) -> list[tuple[str, bool, int]]:
    response = await client.get("/warehouses", params=params)
    assert response.status == 200
    return [(w["name"], w["archived"], w["quantity"]) for w in await response.json()]


async def test_names_are_unique_whatever_their_case(client: Client) -> None:
    created = await make(client, "Warehouse A")
    assert created["name"] == "Warehouse A" and created["archived"] is False and created["quantity"] == 0
    assert created["name_clash"] is False and created["version"] == 1
    for clash in ("warehouse a", "WAREHOUSE A", "  Warehouse A  "):
        refused = await problem(
            await client.post("/warehouses", json={"name": clash}), 409, "duplicate-warehouse"
        )
        assert refused["detail"] == (
            "There is already a warehouse called Warehouse A; warehouse names are unique whatever their case"
        )
        assert refused["existing_name"] == "Warehouse A"
    # casefold, not lower: the German sharp s is "ss" in any case
    await make(client, "Straße")
    await problem(await client.post("/warehouses", json={"name": "STRASSE"}), 409, "duplicate-warehouse")
    # ... and a name of 100 characters whose casefolded key is 200 long is a name like any other (the
    # capital sharp s folds to "ss" too).
    await make(client, "ß" * 100)
    await problem(await client.post("/warehouses", json={"name": "\u1e9e" * 100}), 409, "duplicate-warehouse")
    for bad in ({"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": "A\nB"}, {}, {"name": 1}):
        await problem(await client.post("/warehouses", json=bad), 422, "validation-error")
    assert await names(client) == [("ß" * 100, False, 0), ("Straße", False, 0), ("Warehouse A", False, 0)]
    fetched = await client.get(f"/warehouses/{created['id']}")
    assert fetched.status == 200 and (await fetched.json())["name"] == "Warehouse A"
    await problem(await client.get("/warehouses/999"), 404, "not-found")


async def test_stock_goes_only_into_a_warehouse_that_exists(client: Client, product_id: int) -> None:
    await make(client, "Warehouse A")
    unknown = await problem(
        await client.post("/inventory", json={"product_id": product_id, "warehouse": "Warehouse Z"}),
        422,
        "unknown-warehouse",
    )
    assert unknown["errors"] == [
        {"field": "warehouse", "message": "no warehouse called Warehouse Z", "type": "unknown_warehouse"}
    ]
    assert await (await client.get("/inventory")).json() == []
    assert await names(client) == [("Warehouse A", False, 0)]  # no silent new warehouse

    # Another case of a known name means that warehouse, not a second one.
    record = await create_stock(client, product_id, "warehouse a", 5)
    assert record["warehouse"] == "Warehouse A"
    await problem(
        await client.post("/inventory", json={"product_id": product_id, "warehouse": "WAREHOUSE A"}),
        409,
        "duplicate-stock-record",
    )
    moved = await client.put(f"/inventory/{record['id']}", json={"warehouse": "Nowhere"})
    await problem(moved, 422, "unknown-warehouse")
    transfer = {
        "product_id": product_id,
        "from_warehouse": "Warehouse A",
        "to_warehouse": "Nowhere",
        "quantity": 1,
    }
    refused = await problem(await client.post("/inventory/transfer", json=transfer), 422, "unknown-warehouse")
    assert refused["errors"][0]["field"] == "to_warehouse"
    same = await client.post("/inventory/transfer", json={**transfer, "to_warehouse": "WAREHOUSE A"})
    assert (await problem(same, 422, "validation-error"))["errors"][0]["field"] == "to_warehouse"
    assert await names(client) == [("Warehouse A", False, 5)]


async def test_a_rename_carries_records_and_ledger_along(client: Client, product_id: int) -> None:
    a = await make(client, "Warehouse A")
    await make(client, "Dock")
    record = await create_stock(client, product_id, "Warehouse A", 10)
    transfer = {
        "product_id": product_id,
        "from_warehouse": "Warehouse A",
        "to_warehouse": "Dock",
        "quantity": 4,
    }
    assert (await client.post("/inventory/transfer", json=transfer)).status == 200

    clash = await client.put(f"/warehouses/{a['id']}", json={"name": "DOCK"})
    assert (await problem(clash, 409, "duplicate-warehouse"))["existing_name"] == "Dock"
    stale = await client.put(f"/warehouses/{a['id']}", json={"name": "Main"}, headers={"If-Match": '"7"'})
    await problem(stale, 412, "precondition-failed")

    renamed = await client.put(f"/warehouses/{a['id']}", json={"name": "Main"}, headers={"If-Match": '"1"'})
    assert renamed.status == 200 and renamed.headers["ETag"] == '"2"'
    assert (await renamed.json())["name"] == "Main" and (await renamed.json())["quantity"] == 6
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["warehouse"] == "Main"
    history = await client.get("/inventory/movements", params={"warehouse": "Main"})
    assert [(m["reason"], m["delta"]) for m in await history.json()] == [("transfer_out", -4), ("create", 10)]
    assert await (await client.get("/inventory/movements", params={"warehouse": "Warehouse A"})).json() == []
    assert await names(client) == [("Dock", False, 4), ("Main", False, 6)]
    # The old name is free again; another case of its own name is a rename too.
    await make(client, "Warehouse A")
    recased = await client.put(f"/warehouses/{a['id']}", json={"name": "MAIN"})
    assert recased.status == 200 and (await recased.json())["name"] == "MAIN"
    stock = await client.get("/inventory", params={"warehouse": "MAIN"})
    assert [r["quantity"] for r in await stock.json()] == [6]


async def test_archive_only_when_empty_and_no_stock_goes_in(
    client: Client, products: Client, product_id: int
) -> None:
    a = await make(client, "Warehouse A")
    await make(client, "Dock")
    record = await create_stock(client, product_id, "Warehouse A", 3)
    path = f"/warehouses/{a['id']}"
    refused = await problem(await client.put(path, json={"archived": True}), 409, "warehouse-has-stock")
    assert refused["detail"] == (
        "Warehouse A still holds 3 units; transfer, ship or count them to 0 before archiving it"
    )
    assert refused["quantity"] == 3
    transfer = {
        "product_id": product_id,
        "from_warehouse": "Warehouse A",
        "to_warehouse": "Dock",
        "quantity": 3,
    }
    assert (await client.post("/inventory/transfer", json=transfer)).status == 200
    archived = await client.put(path, json={"archived": True})
    assert archived.status == 200 and (await archived.json())["archived"] is True
    assert await names(client, archived="true") == [("Warehouse A", True, 0)]
    assert await names(client, archived="false") == [("Dock", False, 3)]

    # Nothing goes in: a new record, an addition to its empty record, a count up, a transfer in.
    other = (await (await products.post("/products", json={"name": "Mouse", "price": 1})).json())["id"]
    new = await client.post("/inventory", json={"product_id": other, "warehouse": "warehouse a"})
    assert (await problem(new, 409, "warehouse-archived"))["detail"] == (
        "Warehouse A is archived and takes no new stock; restore it first"
    )
    receive = await client.post(f"/inventory/{record['id']}/adjust", json={"delta": 1, "reason": "receive"})
    await problem(receive, 409, "warehouse-archived")
    await problem(
        await client.put(f"/inventory/{record['id']}", json={"quantity": 2}), 409, "warehouse-archived"
    )
    back = {**transfer, "from_warehouse": "Dock", "to_warehouse": "Warehouse A", "quantity": 1}
    await problem(await client.post("/inventory/transfer", json=back), 409, "warehouse-archived")
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["quantity"] == 0

    restored = await client.put(path, json={"archived": False})
    assert restored.status == 200 and (await restored.json())["version"] == 3
    assert (await client.post("/inventory/transfer", json=back)).status == 200
    await problem(await client.put(path, json={"archived": None}), 422, "validation-error")


async def test_migration_makes_warehouses_of_existing_names_and_keeps_case_clashes_apart(
    database_url: str, aiohttp_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(normalize_database_url(database_url))
    try:
        await upgrade(db, "0005")
        async with db.write() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO products (id, name, price, version, created_at, updated_at, archived)"
                    " VALUES (1, 'p', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, false)"
                )
            )
            for number, warehouse in enumerate(("main", "Main", "Dock", "MAIN"), start=1):
                await conn.execute(
                    sa.text(
                        "INSERT INTO inventory (id, product_id, warehouse, quantity, reorder_point, version,"
                        " created_at, last_updated) VALUES (:id, 1, :warehouse, :quantity, 0, 1,"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "warehouse": warehouse, "quantity": number},
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO stock_movements (inventory_id, product_id, warehouse, delta,"
                        " quantity_after, reason, created_at) VALUES (:id, 1, :warehouse, :quantity,"
                        " :quantity, 'create', CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "warehouse": warehouse, "quantity": number},
                )
        with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
            await upgrade(db, "0006")
        assert "0006: 4 warehouses made from the names in stock records" in caplog.text
        assert (
            "0006: warehouse names that differ only by case were kept apart, rename or merge them: "
            "'MAIN' / 'Main' / 'main'" in caplog.text
        )
        await downgrade(db, "0005")
        async with db.read() as conn:
            tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
            assert "warehouses" not in tables
            assert await conn.scalar(sa.text("SELECT count(*) FROM inventory")) == 4
    finally:
        await db.dispose()

    client = await aiohttp_client(create_app(inventory_config(database_url)))  # migrates to head
    listed = await (await client.get("/warehouses")).json()
    assert [(w["name"], w["quantity"], w["name_clash"]) for w in listed] == [
        ("Dock", 3, False),
        ("MAIN", 4, True),
        ("Main", 2, True),
        ("main", 1, True),
    ]
    by_name = {w["name"]: w for w in listed}
    # Each legacy name still takes stock under its exact spelling; a new name in that case is refused.
    await problem(await client.post("/warehouses", json={"name": "mAiN"}), 409, "duplicate-warehouse")
    adjusted = await client.post("/inventory/2/adjust", json={"delta": 1, "reason": "receive"})
    assert adjusted.status == 200 and (await adjusted.json())["warehouse"] == "Main"
    # Renaming the clashing ones resolves the clash, and the names then are keyed like any other.
    for name, new in (("main", "Main (old)"), ("MAIN", "Main overflow")):
        renamed = await client.put(f"/warehouses/{by_name[name]['id']}", json={"name": new})
        assert renamed.status == 200, await renamed.text()
    listed = await (await client.get("/warehouses")).json()
    assert [(w["name"], w["name_clash"]) for w in listed] == [
        ("Dock", False),
        ("Main", False),
        ("Main (old)", False),
        ("Main overflow", False),
    ]
    await problem(
        await client.post("/warehouses", json={"name": "main overflow"}), 409, "duplicate-warehouse"
    )
    assert [r["warehouse"] for r in await (await client.get("/inventory")).json()] == [
        "Main (old)",
        "Main",
        "Dock",
        "Main overflow",
    ]


async def test_stock_value_is_exact_per_warehouse_and_in_total(client: Client, products: Client) -> None:
    await make(client, "Warehouse A")
    await make(client, "Dock")
    empty = await make(client, "Empty")
    gone = await make(client, "Gone")
    assert (await client.put(f"/warehouses/{gone['id']}", json={"archived": True})).status == 200

    async def product(name: str, cost: Any = None) -> int:
        body = {"name": name, "price": 99, **({} if cost is None else {"cost_price": cost})}
        created = await products.post("/products", json=body)
        assert created.status == 201, await created.text()
        return int((await created.json())["id"])

    # Cents that binary floats cannot hold: 0.10 x 3 is 0.30 exactly, never 0.30000000000000004.
    dime = await product("Dime", 0.1)
    big = await product("Big", 99999999.99)
    free = await product("Sample", 0)
    unpriced = await product("Unpriced")
    await create_stock(client, dime, "Warehouse A", 3)
    await create_stock(client, big, "Warehouse A", 1000)
    await create_stock(client, free, "Dock", 7)
    await create_stock(client, unpriced, "Dock", 4)
    await create_stock(client, unpriced, "Warehouse A", 2)
    await create_stock(client, dime, "Dock", 0)

    response = await client.get("/stock-value")
    assert response.status == 200
    value = await response.json()
    assert value == {
        "warehouses": [
            {
                "id": value["warehouses"][0]["id"],
                "name": "Dock",
                "units": 11,
                "value": "0.00",
                "unpriced_units": 4,
                "unpriced_products": 1,
            },
            {
                "id": empty["id"],
                "name": "Empty",
                "units": 0,
                "value": "0.00",
                "unpriced_units": 0,
                "unpriced_products": 0,
            },
            {
                "id": value["warehouses"][2]["id"],
                "name": "Warehouse A",
                "units": 1005,
                "value": "99999999990.30",
                "unpriced_units": 2,
                "unpriced_products": 1,
            },
        ],
        "total": {"units": 1016, "value": "99999999990.30", "unpriced_units": 6, "unpriced_products": 1},
    }
    # A cost price set later counts at once; clearing it makes its units unpriced again.
    priced = await products.put(f"/products/{unpriced}", json={"cost_price": 2.5})
    assert priced.status == 200 and (await priced.json())["cost_price"] == 2.5
    total = (await (await client.get("/stock-value")).json())["total"]
    assert total == {"units": 1016, "value": "100000000005.30", "unpriced_units": 0, "unpriced_products": 0}
    cleared = await products.put(f"/products/{unpriced}", json={"cost_price": None})
    assert cleared.status == 200 and (await cleared.json())["cost_price"] is None
    total = (await (await client.get("/stock-value")).json())["total"]
    assert (total["value"], total["unpriced_units"]) == ("99999999990.30", 6)
    for bad in (-1, 0.001, "2.50", 100000000):
        refused = await products.put(f"/products/{unpriced}", json={"cost_price": bad})
        assert refused.status == 422, bad
        assert (await refused.json())["errors"][0]["field"] == "cost_price"


async def test_a_rename_amid_concurrent_writes_leaves_no_old_name_behind(
    client: Client, products: Client, database_url: str
) -> None:
    """Receipts, shipments and a new record race a rename: whatever the order, at the end no record or
    movement names the old name, and the ledger sums (conftest)."""
    hall = await make(client, "Hall")
    await make(client, "Yard")
    ids = []
    for number in range(4):
        created = await products.post("/products", json={"name": f"Item {number}", "price": 1})
        ids.append(int((await created.json())["id"]))
    records = [await create_stock(client, product_id, "Hall", 50) for product_id in ids[:3]]

    async def receive(record: dict[str, Any]) -> int:
        path = f"/inventory/{record['id']}/adjust"
        return (await client.post(path, json={"delta": 2, "reason": "receive"})).status

    async def ship(record: dict[str, Any]) -> int:
        path = f"/inventory/{record['id']}/adjust"
        return (await client.post(path, json={"delta": -1, "reason": "ship"})).status

    async def rename(name: str) -> int:
        return (await client.put(f"/warehouses/{hall['id']}", json={"name": name})).status

    async def new_record() -> int:
        body = {"product_id": ids[3], "warehouse": "hall", "quantity": 5}
        return (await client.post("/inventory", json=body)).status

    writes = [receive(record) for record in records for _ in range(5)]
    writes += [ship(record) for record in records for _ in range(5)]
    statuses = await asyncio.gather(*writes, rename("Main hall"), new_record())
    # "hall" names the warehouse while it is still called Hall (found whatever its case); once renamed, it
    # names nothing: a clean 422, nothing written.
    assert set(statuses[:-1]) == {200} and statuses[-1] in (201, 422)

    db = Database(normalize_database_url(database_url))
    try:
        async with db.read() as conn:
            names = set((await conn.execute(sa.text("SELECT DISTINCT warehouse FROM inventory"))).scalars())
            moved = set(
                (await conn.execute(sa.text("SELECT DISTINCT warehouse FROM stock_movements"))).scalars()
            )
    finally:
        await db.dispose()
    assert names == {"Main hall"} and moved == {"Main hall"}
    stock = await (await client.get("/inventory", params={"warehouse": "Main hall"})).json()
    assert [r["quantity"] for r in stock][:3] == [55, 55, 55]
