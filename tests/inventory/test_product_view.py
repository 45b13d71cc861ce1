"""GET /inventory/product-view/{id}: the gateway's composed read in one statement. Its bytes must be exactly
what the gateway built before from two calls (the product service's answer with the stock summary's entry
spliced in), on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson

from tests.inventory.conftest import Client, create_stock, make_test_warehouses


def composed_the_old_way(product_body: bytes, summary: dict[str, Any], product_id: int) -> bytes:
    """The gateway's composition before the product view: the product's bytes plus `"inventory": entry`."""
    entry = summary.get(str(product_id))
    if entry is None:
        return product_body
    return product_body.rstrip()[:-1] + b',"inventory":' + orjson.dumps(entry) + b"}"


async def old_answer(products: Client, client: Client, product_id: int) -> tuple[bytes, str]:
    product = await products.get(f"/products/{product_id}")
    assert product.status == 200
    summary = await client.get(f"/inventory/summary?product_ids={product_id}")
    assert summary.status == 200
    return composed_the_old_way(await product.read(), await summary.json(), product_id), product.headers[
        "ETag"
    ]


async def test_the_view_is_byte_for_byte_the_old_composition(products: Client, client: Client) -> None:
    bodies = [
        # Prices that a binary float would not keep, text that needs escaping, nulls, an archived one.
        {"name": "Laptop", "price": 1299.99, "cost_price": 850.1, "sku": "LAP-1", "description": '15"'},
        {"name": "Café «crème» ☕", "price": 0.1, "description": "line\nbreak\ttab \\ \u2028"},
        {"name": "Bolt", "price": 99999999.99, "cost_price": 0, "sku": None, "category": "Hardware"},
        {"name": "Nothing in stock", "price": 1},
    ]
    ids = []
    for body in bodies:
        response = await products.post("/products", json=body)
        assert response.status == 201, await response.text()
        ids.append(int((await response.json())["id"]))
    # Several warehouses, a tie on quantity (the oldest record is the main one), an empty record.
    await create_stock(client, ids[0], "Warehouse B", 20)
    await create_stock(client, ids[0], "Warehouse A", 20)
    await create_stock(client, ids[0], "Warehouse C", 5)
    await make_test_warehouses(client, ("Zürich",))
    await create_stock(client, ids[1], "Zürich", 0)
    await create_stock(client, ids[2], "Warehouse A", 7)
    archived = await products.put(
        f"/products/{ids[2]}", json={"name": "Bolt", "price": 99999999.99, "archived": True}
    )
    assert archived.status == 200, await archived.text()
    for product_id in ids:
        expected, etag = await old_answer(products, client, product_id)
        response = await client.get(f"/inventory/product-view/{product_id}")
        assert response.status == 200
        assert response.content_type == "application/json"
        assert await response.read() == expected
        assert response.headers["ETag"] == etag
    view = await (await client.get(f"/inventory/product-view/{ids[0]}")).json()
    assert view["inventory"]["quantity"] == 45 and view["inventory"]["warehouse"] == "Warehouse B"
    assert [w["warehouse"] for w in view["inventory"]["warehouses"]] == [
        "Warehouse A",
        "Warehouse B",
        "Warehouse C",
    ]
    assert "inventory" not in await (await client.get(f"/inventory/product-view/{ids[3]}")).json()


async def test_the_view_reads_stock_fresh_after_every_write(
    products: Client, client: Client, product_id: int
) -> None:
    record = await create_stock(client, product_id, "Warehouse A", 10)
    for delta in (5, -3, 1):
        response = await client.post(
            f"/inventory/{record['id']}/adjust", json={"delta": delta, "reason": "adjust"}
        )
        assert response.status == 200, await response.text()
        view = await (await client.get(f"/inventory/product-view/{product_id}")).json()
        assert view["inventory"]["quantity"] == (await response.json())["quantity"]


async def test_a_missing_product_is_the_product_services_404(products: Client, client: Client) -> None:
    response = await client.get("/inventory/product-view/987654")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    expected = await (await products.get("/products/987654")).json()
    assert problem["detail"] == expected["detail"] == "product 987654 does not exist"
    assert problem["type"] == expected["type"]
    too_large = await client.get("/inventory/product-view/99999999999999999999999")
    assert too_large.status == 404
