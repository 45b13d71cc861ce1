"""GET /inventory/summary written by PostgreSQL (inventory.summary_json) is byte for byte what the Python
summary gives, hostile warehouse names included; SQLite answers through the Python path."""

from __future__ import annotations

import sqlalchemy as sa

from inventory import stock
from inventory.summary_json import summary_json
from stockwiz_runtime.db import Database, normalize_database_url
from stockwiz_runtime.jsonio import dumps
from tests.inventory.conftest import Client, create_stock, make_test_warehouses, new_product

# Quotes, backslashes, every kind of control character orjson and to_json escape, DEL, a line separator,
# non-ASCII text and characters outside the BMP.
NAMES = [
    'Warehouse "B"',
    "back\\slash / slash",
    "tab\tnew\nline\rret\bbs\fff",
    "ctl \x01\x1f\x7f end",
    "Zürich \u2028 ☕ 𝄞",
    "Warehouse A",
]


async def test_the_written_summary_is_the_python_one(
    products: Client, client: Client, database_url: str
) -> None:
    ids = [await new_product(products, f"Product {index}") for index in range(4)]
    await make_test_warehouses(client, (*(f"W{index}" for index in range(6)), "Solo"))
    records = [(await create_stock(client, ids[0], f"W{index}", (index * 7) % 5))["id"] for index in range(6)]
    # A tie on quantity (the oldest record is the main one), a product with one record, one with none.
    await create_stock(client, ids[1], "Warehouse B", 9)
    await create_stock(client, ids[1], "Warehouse A", 9)
    await create_stock(client, ids[2], "Solo", 0)
    db = Database(normalize_database_url(database_url))
    try:
        # The API refuses control characters in names; rows written before that rule (or by hand) may
        # hold them all the same, and must come out as the Python path writes them.
        async with db.write() as conn:
            for record_id, name in zip(records, NAMES, strict=True):
                await conn.execute(
                    sa.text("UPDATE inventory SET warehouse = :name WHERE id = :id"),
                    {"name": name, "id": record_id},
                )
        query = ",".join(str(product_id) for product_id in [ids[3], *ids, 999999])
        response = await client.get(f"/inventory/summary?product_ids={query}")
        assert response.status == 200 and response.content_type == "application/json"
        expected = dumps(await stock.summary(db, [ids[3], *ids, 999999]))
        written = await summary_json(db, ids)
        assert await response.read() == expected
        if database_url.startswith("postgresql"):
            assert written == dumps(await stock.summary(db, ids))
            assert await summary_json(db, [999999]) == b"{}"
        else:
            assert written is None
    finally:
        await db.dispose()
    summary = await response.json()
    assert summary[str(ids[1])]["warehouse"] == "Warehouse B"  # created first
    assert str(ids[3]) not in summary and "999999" not in summary
