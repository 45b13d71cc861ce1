"""Ids are 64-bit end to end (products, stock records, movements), and writes that may create a record
(transfers, creates) do not burn ids when the record already exists."""

from __future__ import annotations

import sqlalchemy as sa

from stockwiz_runtime.db import Database, normalize_database_url
from tests.inventory.conftest import Client, create_stock

PRODUCT_ID = 2**40
RECORD_ID = 2**41
MOVEMENT_ID = 2**42


async def ids_start_beyond_32_bits(database_url: str) -> None:
    """The next product, stock record and movement get ids far beyond 2**31 - 1."""
    db = Database(normalize_database_url(database_url))
    try:
        async with db.write() as conn:
            if db.is_postgres:
                for sequence, value in (
                    ("products_id_seq", PRODUCT_ID),
                    ("inventory_id_seq", RECORD_ID),
                    ("stock_movements_id_seq", MOVEMENT_ID),
                ):
                    await conn.execute(
                        sa.text("SELECT setval(:sequence, :value)"), {"sequence": sequence, "value": value}
                    )
            else:
                # products.id is a plain rowid (max + 1); the ledger tables are AUTOINCREMENT.
                await conn.execute(
                    sa.text(
                        "INSERT INTO products (id, name, price, version, created_at, updated_at)"
                        " VALUES (:id, 'placeholder', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": PRODUCT_ID},
                )
                for table, value in (("inventory", RECORD_ID), ("stock_movements", MOVEMENT_ID)):
                    await conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
                    await conn.execute(
                        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :v)"),
                        {"t": table, "v": value},
                    )
    finally:
        await db.dispose()


async def test_ids_beyond_32_bits_work_end_to_end(
    products: Client, client: Client, database_url: str
) -> None:
    await ids_start_beyond_32_bits(database_url)
    created = await products.post("/products", json={"name": "Big", "price": 5, "sku": "BIG-1"})
    assert created.status == 201, await created.text()
    product_id = (await created.json())["id"]
    assert product_id == PRODUCT_ID + 1
    assert (await products.get(f"/products/{product_id}")).status == 200
    listed = await (await products.get(f"/products?ids={product_id},{PRODUCT_ID + 99}")).json()
    assert [product["id"] for product in listed] == [product_id]

    record = await create_stock(client, product_id, quantity=10)
    assert record["id"] == RECORD_ID + 1
    adjusted = await client.post(f"/inventory/{record['id']}/adjust", json={"delta": 5, "reason": "receive"})
    assert (await adjusted.json())["quantity"] == 15
    moved = await client.post(
        "/inventory/transfer",
        json={"product_id": product_id, "from_warehouse": "Warehouse A", "to_warehouse": "B", "quantity": 3},
    )
    assert moved.status == 200, await moved.text()
    history = await (await client.get(f"/inventory/movements?product_id={product_id}")).json()
    assert all(movement["id"] > MOVEMENT_ID for movement in history) and len(history) == 5
    stock = await (await client.get(f"/inventory/product/{product_id}")).json()
    assert (stock["quantity"], stock["id"]) == (15, record["id"])
    summary = await (await client.get(f"/inventory/summary?product_ids={product_id}")).json()
    assert summary[str(product_id)]["quantity"] == 15
    assert len(await (await client.get(f"/inventory?product_id={product_id}")).json()) == 2
    put = await client.put(f"/inventory/{record['id']}", json={"quantity": 1}, headers={"If-Match": '"3"'})
    assert put.status == 200, await put.text()


async def test_transfers_and_refused_creates_burn_no_ids(client: Client, product_id: int) -> None:
    source = await create_stock(client, product_id, "A", quantity=50)
    target = await create_stock(client, product_id, "B", quantity=0)
    for _ in range(3):
        moved = await client.post(
            "/inventory/transfer",
            json={"product_id": product_id, "from_warehouse": "A", "to_warehouse": "B", "quantity": 1},
        )
        assert moved.status == 200, await moved.text()
    duplicate = await client.post("/inventory", json={"product_id": product_id, "warehouse": "A"})
    assert duplicate.status == 409
    assert (await duplicate.json())["existing_id"] == source["id"]
    # A transfer to a new warehouse creates its record: the one id it takes is the next one.
    moved = await client.post(
        "/inventory/transfer",
        json={"product_id": product_id, "from_warehouse": "A", "to_warehouse": "C", "quantity": 1},
    )
    assert (await moved.json())["to"]["id"] == target["id"] + 1
    assert (await create_stock(client, product_id, "D"))["id"] == target["id"] + 2
