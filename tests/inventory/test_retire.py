"""Retiring products: deleting one whose stock is gone (its empty records go with it, the ledger stays
consistent and readable) and archiving one with history (hidden from lists, no new stock, ledger kept).
On SQLite and PostgreSQL; the ledger invariant is checked after every test (conftest)."""

from __future__ import annotations

from tests.inventory.conftest import Client, create_stock, new_product


async def stock_history(client: Client, product_id: int) -> list[tuple[str, str, int, int, str | None]]:
    response = await client.get("/inventory/movements", params={"product_id": str(product_id)})
    assert response.status == 200
    movements = await response.json()
    return [(m["warehouse"], m["reason"], m["delta"], m["quantity_after"], m["note"]) for m in movements]


async def test_a_product_whose_stock_is_gone_is_deleted_with_its_empty_records(
    client: Client, products: Client, product_id: int
) -> None:
    a = await create_stock(client, product_id, "Warehouse A", 5)
    b = await create_stock(client, product_id, "Warehouse B", 2)
    await client.post(f"/inventory/{a['id']}/adjust", json={"delta": -5, "reason": "ship"})

    # Units left anywhere: refused, with what is left where, and nothing changes.
    refused = await products.delete(f"/products/{product_id}")
    assert refused.status == 409
    problem = await refused.json()
    assert problem["type"] == "urn:stockwiz:problem:product-has-stock"
    assert problem["detail"] == (
        "Laptop still holds 2 units (Warehouse B: 2); ship, transfer or count them to 0 before deleting it, "
        "or archive it"
    )
    assert problem["quantity"] == 2
    assert (await client.get(f"/inventory/{a['id']}")).status == 200

    await client.put(f"/inventory/{b['id']}", json={"quantity": 0, "note": "stock count"})
    stale = await products.delete(f"/products/{product_id}", headers={"If-Match": '"99"'})
    assert stale.status == 412
    deleted = await products.delete(f"/products/{product_id}", headers={"If-Match": '"1"'})
    assert deleted.status == 204
    assert (await products.get(f"/products/{product_id}")).status == 404
    assert (await client.get(f"/inventory/{a['id']}")).status == 404
    assert await (await client.get("/inventory", params={"product_id": str(product_id)})).json() == []

    # The ledger keeps every movement, each record's ends in a `delete` of 0 that names the product.
    history = await stock_history(client, product_id)
    assert history[:2] == [
        ("Warehouse B", "delete", 0, 0, "product deleted: Laptop (SKU LAP-1)"),
        ("Warehouse A", "delete", 0, 0, "product deleted: Laptop (SKU LAP-1)"),
    ]
    assert [reason for _, reason, *_ in history[2:]] == ["count", "ship", "create", "create"]
    record_history = await client.get(f"/inventory/{a['id']}/movements")
    assert [m["reason"] for m in await record_history.json()] == ["delete", "ship", "create"]


async def test_a_product_without_stock_records_is_deleted_as_before(products: Client) -> None:
    created = await products.post("/products", json={"name": "Spare", "price": 1})
    product_id = (await created.json())["id"]
    assert (await products.delete(f"/products/{product_id}")).status == 204
    assert (await products.delete(f"/products/{product_id}")).status == 404


async def test_an_archived_product_is_hidden_and_takes_no_new_stock(
    client: Client, products: Client, product_id: int
) -> None:
    other = await new_product(products, "Mouse")
    record = await create_stock(client, product_id, "Warehouse A", 10)
    archived = await products.put(
        f"/products/{product_id}", json={"archived": True}, headers={"If-Match": '"1"'}
    )
    assert archived.status == 200
    assert (await archived.json())["archived"] is True and archived.headers["ETag"] == '"2"'

    listed = await products.get("/products")
    assert [p["id"] for p in await listed.json()] == [other] and listed.headers["X-Total-Count"] == "1"
    only_archived = await products.get("/products", params={"archived": "true"})
    assert [p["id"] for p in await only_archived.json()] == [product_id]
    active = await products.get("/products", params={"archived": "false", "q": "a"})
    assert [p["id"] for p in await active.json()] == []  # "Mouse" has no "a"; "Laptop" is archived
    by_ids = await products.get("/products", params={"ids": f"{product_id},{other}"})
    assert {p["id"] for p in await by_ids.json()} == {product_id, other}
    assert (await (await products.get(f"/products/{product_id}")).json())["archived"] is True
    assert (await products.get("/products", params={"archived": "maybe"})).status == 422

    # No new stock: receipts, returns, upward counts and new records are refused, in the shop's words.
    path = f"/inventory/{record['id']}/adjust"
    for body in ({"delta": 1, "reason": "receive"}, {"delta": 1, "reason": "return"}):
        refused = await client.post(path, json=body)
        assert refused.status == 409, body
        problem = await refused.json()
        assert problem["type"] == "urn:stockwiz:problem:product-archived"
        assert problem["detail"] == "Laptop is archived and takes no new stock; restore it first"
    found = {"delta": 3, "reason": "adjust", "note": "found"}
    keyed = await client.post(path, json=found, headers={"Idempotency-Key": "archived-1"})
    assert keyed.status == 409
    assert (await client.put(f"/inventory/{record['id']}", json={"quantity": 11})).status == 409
    new_record = await client.post("/inventory", json={"product_id": product_id, "warehouse": "Warehouse B"})
    assert new_record.status == 409

    # What is left can still leave: shipped, counted down, moved.
    assert (await client.post(path, json={"delta": -2, "reason": "ship"})).status == 200
    assert (await client.put(f"/inventory/{record['id']}", json={"quantity": 7})).status == 200
    transfer = {"product_id": product_id, "from_warehouse": "Warehouse A", "to_warehouse": "Outlet"}
    moved = await client.post("/inventory/transfer", json={**transfer, "quantity": 7})
    assert moved.status == 200
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["quantity"] == 0

    # Restored, it takes stock again; its ledger was kept throughout.
    restored = await products.put(f"/products/{product_id}", json={"archived": False})
    assert (await restored.json())["archived"] is False
    assert (await client.post(path, json={"delta": 4, "reason": "receive"})).status == 200
    reasons = [reason for _, reason, *_ in await stock_history(client, product_id)]
    assert reasons == ["receive", "transfer_in", "transfer_out", "create", "count", "ship", "create"]
    for bad in ({"archived": None}, {"archived": "yes"}, {"archived": 1}):
        refused = await products.put(f"/products/{product_id}", json=bad)
        assert refused.status == 422, bad
        assert [e["field"] for e in (await refused.json())["errors"]] == ["archived"]


async def test_categories_count_active_products(products: Client) -> None:
    first = await products.post("/products", json={"name": "A", "price": 1, "category": "Tools"})
    await products.post("/products", json={"name": "B", "price": 1, "category": "Tools"})
    await products.put(f"/products/{(await first.json())['id']}", json={"archived": True})
    assert await (await products.get("/products/categories")).json() == [{"category": "Tools", "count": 1}]
