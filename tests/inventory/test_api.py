"""The inventory API through aiohttp's test client, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from inventory.openapi import RECORD_FIELDS
from tests.inventory.conftest import Client, create_stock, new_product

# What the OpenAPI document says a record holds is exactly what the service answers.
RECORD_KEYS = set(RECORD_FIELDS)


async def movements_of(client: Client, inventory_id: int) -> list[dict[str, object]]:
    response = await client.get(f"/inventory/{inventory_id}/movements")
    assert response.status == 200
    return list(await response.json())


async def test_empty_lists_are_arrays_never_null(client: Client) -> None:
    for path in ("/inventory", "/inventory/low-stock", "/inventory/movements"):
        response = await client.get(path)
        assert response.status == 200
        assert await response.read() == b"[]"
        assert response.headers["X-Total-Count"] == "0"


async def test_create_then_read_keeps_the_upstream_shape(client: Client, product_id: int) -> None:
    response = await client.post(
        "/inventory", json={"product_id": product_id, "quantity": 50, "warehouse": "Warehouse A"}
    )
    assert response.status == 201
    created = await response.json()
    assert created.keys() == RECORD_KEYS
    assert created["quantity"] == 50 and created["reorder_point"] == 30 and created["version"] == 1
    assert response.headers["Location"] == f"/inventory/{created['id']}"
    assert response.headers["ETag"] == '"1"'
    datetime.fromisoformat(created["last_updated"])
    read = await client.get(f"/inventory/{created['id']}")
    assert read.status == 200 and read.headers["ETag"] == '"1"'
    assert await read.json() == created
    [movement] = await movements_of(client, created["id"])
    assert movement["reason"] == "create" and movement["delta"] == 50 and movement["quantity_after"] == 50
    assert movement["request_id"] == response.headers["X-Request-ID"]


async def test_unknown_product_is_422_problem_never_500(client: Client) -> None:
    response = await client.post("/inventory", json={"product_id": 424242, "warehouse": "A", "quantity": 1})
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["type"].endswith("unknown-product")
    assert problem["errors"][0]["field"] == "product_id"
    transfer = await client.post(
        "/inventory/transfer",
        json={"product_id": 424242, "from_warehouse": "A", "to_warehouse": "B", "quantity": 1},
    )
    assert transfer.status == 404
    assert await (await client.get("/inventory")).json() == []


async def test_duplicate_product_and_warehouse_is_409_naming_the_record(
    client: Client, product_id: int
) -> None:
    first = await create_stock(client, product_id)
    response = await client.post("/inventory", json={"product_id": product_id, "warehouse": "Warehouse A"})
    assert response.status == 409
    problem = await response.json()
    assert problem["type"].endswith("duplicate-stock-record") and problem["existing_id"] == first["id"]
    second = await create_stock(client, product_id, "Warehouse B", 0)
    assert second["quantity"] == 0
    moved = await client.put(f"/inventory/{second['id']}", json={"warehouse": "Warehouse A"})
    assert moved.status == 409
    assert (await moved.json())["type"].endswith("duplicate-stock-record")


async def test_validation_refuses_bad_bodies(client: Client, product_id: int) -> None:
    bad_bodies = [
        {"product_id": product_id, "warehouse": "A", "quantity": -1},
        {"product_id": product_id, "warehouse": "", "quantity": 1},
        {"product_id": product_id, "warehouse": "   ", "quantity": 1},
        {"product_id": product_id, "warehouse": "x" * 101},
        {"product_id": product_id, "warehouse": "A\nB"},
        {"product_id": product_id, "warehouse": "A", "quantity": "5"},
        {"product_id": product_id, "warehouse": "A", "quantity": 1.5},
        {"product_id": product_id, "warehouse": "A", "quantity": True},
        {"product_id": product_id, "warehouse": "A", "quantity": 1_000_000_001},
        {"product_id": product_id, "warehouse": "A", "reorder_point": -1},
        {"product_id": 0, "warehouse": "A"},
        {"product_id": 2**31, "warehouse": "A"},
        {"product_id": product_id},
        {"product_id": product_id, "warehouse": "A", "colour": "red"},
        [],
    ]
    for body in bad_bodies:
        response = await client.post("/inventory", json=body)
        assert response.status == 422, body
        assert response.content_type == "application/problem+json"
    assert (
        await client.post("/inventory", data=b"{", headers={"Content-Type": "application/json"})
    ).status == 400
    assert (await client.post("/inventory", data="x", headers={"Content-Type": "text/plain"})).status == 415
    assert await (await client.get("/inventory")).json() == []


async def test_adjust_adds_and_takes_atomically_and_refuses_overdraw(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=10)
    path = f"/inventory/{record['id']}/adjust"
    received = await client.post(path, json={"delta": 5, "reason": "receive", "reference": "PO-1"})
    assert received.status == 200
    body = await received.json()
    assert body["quantity"] == 15 and body["version"] == 2 and received.headers["ETag"] == '"2"'
    shipped = await client.post(path, json={"delta": -15, "reason": "ship", "note": "order 7"})
    assert (await shipped.json())["quantity"] == 0
    refused = await client.post(path, json={"delta": -1, "reason": "ship"})
    assert refused.status == 409
    problem = await refused.json()
    assert problem["type"].endswith("insufficient-stock")
    assert problem["available"] == 0 and problem["requested"] == 1
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["version"] == 3
    history = await movements_of(client, record["id"])
    assert [(m["reason"], m["delta"], m["quantity_after"]) for m in history] == [
        ("ship", -15, 0),
        ("receive", 5, 15),
        ("create", 10, 10),
    ]
    assert history[0]["note"] == "order 7" and history[1]["reference"] == "PO-1"


async def test_adjust_reason_and_sign_must_agree(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=10)
    path = f"/inventory/{record['id']}/adjust"
    for body in (
        {"delta": 1, "reason": "ship"},
        {"delta": -1, "reason": "receive"},
        {"delta": -1, "reason": "return"},
        {"delta": 1, "reason": "damage"},
        {"delta": 0, "reason": "adjust"},
        {"delta": 1, "reason": "count"},
        {"delta": 1, "reason": "transfer_in"},
        {"delta": 1},
        {"delta": "1", "reason": "adjust"},
    ):
        assert (await client.post(path, json=body)).status == 422, body
    assert (await client.post(path, json={"delta": -3, "reason": "adjust"})).status == 200
    assert (await client.post(path, json={"delta": -2, "reason": "damage"})).status == 200
    assert (await client.post(path, json={"delta": 1, "reason": "return"})).status == 200
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["quantity"] == 6


async def test_refusals_speak_of_the_product_and_warehouse(client: Client, product_id: int) -> None:
    """Not enough stock is said in the shop's words, with the product's name and the warehouse, on the
    single path, the batched path and a transfer; the problem also names them as fields."""
    record = await create_stock(client, product_id, "Warehouse B", quantity=12)
    path = f"/inventory/{record['id']}/adjust"
    keyed = await client.post(
        path, json={"delta": -20, "reason": "ship"}, headers={"Idempotency-Key": "refusal-words-1"}
    )
    batched = await client.post(path, json={"delta": -20, "reason": "ship"})
    damaged = await client.post(path, json={"delta": -13, "reason": "damage"})
    for response in (keyed, batched):
        assert response.status == 409
        problem = await response.json()
        assert problem["detail"] == "Only 12 units of Laptop in Warehouse B; cannot ship 20"
        assert problem["available"] == 12 and problem["requested"] == 20
        assert problem["product_name"] == "Laptop" and problem["warehouse"] == "Warehouse B"
        assert problem["product_id"] == product_id and problem["inventory_id"] == record["id"]
    assert (await damaged.json())["detail"] == "Only 12 units of Laptop in Warehouse B; cannot write off 13"
    transfer = {"product_id": product_id, "from_warehouse": "Warehouse B", "to_warehouse": "C"}
    moved = await client.post("/inventory/transfer", json={**transfer, "quantity": 1_000})
    assert (await moved.json())["detail"] == "Only 12 units of Laptop in Warehouse B; cannot transfer 1,000"
    await client.post(path, json={"delta": -12, "reason": "ship"})
    empty = await client.post(path, json={"delta": -1, "reason": "ship"})
    assert (await empty.json())["detail"] == "No units of Laptop in Warehouse B; cannot ship 1"
    nowhere = await client.post(
        "/inventory/transfer",
        json={"product_id": product_id, "from_warehouse": "Attic", "to_warehouse": "C", "quantity": 1},
    )
    assert nowhere.status == 404
    assert (await nowhere.json())["detail"] == "There is no stock of Laptop in Attic"


async def test_field_errors_name_the_field_without_library_words(client: Client, product_id: int) -> None:
    """A rule over two fields is reported against the field it is about, never `body`, and no message
    carries pydantic's "Value error, " prefix."""
    record = await create_stock(client, product_id, quantity=10)
    cases = [
        (
            f"/inventory/{record['id']}/adjust",
            {"delta": 1, "reason": "ship"},
            "delta",
            "a ship takes stock: delta must be negative",
        ),
        (f"/inventory/{record['id']}/adjust", {"delta": 0, "reason": "adjust"}, "delta", "must not be 0"),
        (
            "/inventory/transfer",
            {"product_id": product_id, "from_warehouse": "A", "to_warehouse": "A", "quantity": 1},
            "to_warehouse",
            "must differ from from_warehouse",
        ),
        ("/inventory", {"product_id": product_id, "warehouse": "   "}, "warehouse", "must not be blank"),
        ("/inventory", {"product_id": product_id, "warehouse": 5}, "warehouse", "must be a string"),
    ]
    for path, body, field, message in cases:
        response = await client.post(path, json=body)
        assert response.status == 422, body
        problem = await response.json()
        assert problem["type"] == "urn:stockwiz:problem:validation-error"
        assert [(error["field"], error["message"]) for error in problem["errors"]] == [(field, message)]


async def test_quantity_ceiling_is_a_409_not_an_overflow(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=1_000_000_000)
    response = await client.post(f"/inventory/{record['id']}/adjust", json={"delta": 1, "reason": "receive"})
    assert response.status == 409
    assert (await response.json())["type"].endswith("stock-limit-exceeded")


async def test_adjust_missing_record_is_404(client: Client) -> None:
    response = await client.post("/inventory/999/adjust", json={"delta": 1, "reason": "receive"})
    assert response.status == 404
    assert (await client.get("/inventory/999/movements")).status == 404
    assert (await client.get("/inventory/99999999999999999999")).status == 404
    assert (await client.get("/inventory/abc")).status == 404


async def test_put_sets_absolute_values_as_a_count_movement(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=50)
    path = f"/inventory/{record['id']}"
    response = await client.put(path, json={"quantity": 42, "note": "stocktake"})
    assert response.status == 200
    body = await response.json()
    assert body["quantity"] == 42 and body["version"] == 2 and body["warehouse"] == "Warehouse A"
    response = await client.put(path, json={"warehouse": "Warehouse C", "reorder_point": 5})
    body = await response.json()
    assert body["warehouse"] == "Warehouse C" and body["reorder_point"] == 5 and body["quantity"] == 42
    history = await movements_of(client, record["id"])
    assert [(m["reason"], m["delta"]) for m in history] == [("count", -8), ("create", 50)]
    assert history[0]["note"] == "stocktake"
    for bad in ({"quantity": -1}, {"quantity": None}, {"warehouse": None}, {"version": 3}):
        assert (await client.put(path, json=bad)).status == 422, bad
    assert (await client.put("/inventory/999", json={"quantity": 1})).status == 404


async def test_if_match_guards_put_and_delete(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id)
    path = f"/inventory/{record['id']}"
    first = await client.put(path, json={"quantity": 40}, headers={"If-Match": '"1"'})
    assert first.status == 200 and first.headers["ETag"] == '"2"'
    stale = await client.put(path, json={"quantity": 30}, headers={"If-Match": '"1"'})
    assert stale.status == 412 and stale.headers["ETag"] == '"2"'
    assert (await client.put(path, json={}, headers={"If-Match": '"1"'})).status == 412
    assert (await client.delete(path, headers={"If-Match": '"1"'})).status == 412
    assert (await (await client.get(path)).json())["quantity"] == 40
    assert (await client.delete(path, headers={"If-Match": '"2"'})).status == 204


async def test_delete_keeps_history_that_sums_to_zero(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=20)
    response = await client.delete(f"/inventory/{record['id']}")
    assert response.status == 204 and await response.read() == b""
    assert (await client.get(f"/inventory/{record['id']}")).status == 404
    assert (await client.delete(f"/inventory/{record['id']}")).status == 404
    history = await movements_of(client, record["id"])
    assert [(m["reason"], m["delta"], m["quantity_after"]) for m in history] == [
        ("delete", -20, 0),
        ("create", 20, 20),
    ]
    again = await create_stock(client, product_id, quantity=1)
    assert again["id"] != record["id"]


async def test_product_stock_keeps_upstream_fields_with_a_breakdown(client: Client, product_id: int) -> None:
    assert (await client.get(f"/inventory/product/{product_id}")).status == 404
    a = await create_stock(client, product_id, "Warehouse A", 20)
    single = await (await client.get(f"/inventory/product/{product_id}")).json()
    assert single["id"] == a["id"] and single["quantity"] == 20 and single["warehouse"] == "Warehouse A"
    b = await create_stock(client, product_id, "Warehouse B", 35)
    response = await client.get(f"/inventory/product/{product_id}")
    body = await response.json()
    assert body["quantity"] == 55 and body["product_id"] == product_id
    assert body["warehouse"] == "Warehouse B" and body["id"] == b["id"]
    assert [w["warehouse"] for w in body["warehouses"]] == ["Warehouse A", "Warehouse B"]
    assert body["warehouses"][0].keys() == RECORD_KEYS


async def test_summary_is_keyed_by_product_and_omits_products_without_stock(
    client: Client, products: Client, product_id: int
) -> None:
    other = await new_product(products)
    bare = await new_product(products, "No stock")
    await create_stock(client, product_id, "Warehouse A", 10)
    await create_stock(client, product_id, "Warehouse B", 10)
    c = await create_stock(client, other, "Warehouse C", 7, reorder_point=3, reorder_quantity=40)
    response = await client.get(
        "/inventory/summary", params={"product_ids": f"{product_id},{other},{bare},{other}"}
    )
    assert response.status == 200
    body = await response.json()
    assert set(body) == {str(product_id), str(other)}
    assert body[str(product_id)]["quantity"] == 20
    assert body[str(product_id)]["warehouse"] == "Warehouse A"  # a tie goes to the oldest record
    assert body[str(other)] == {
        "quantity": 7,
        "warehouse": "Warehouse C",
        "warehouses": [
            {
                "id": c["id"],
                "warehouse": "Warehouse C",
                "quantity": 7,
                "reorder_point": 3,
                "reorder_quantity": 40,
            }
        ],
    }
    assert await (await client.get("/inventory/summary", params={"product_ids": "999"})).json() == {}
    for params in (
        {},
        {"product_ids": ""},
        {"product_ids": "1,x"},
        {"product_ids": ",".join(map(str, range(1, 1002)))},
    ):
        assert (await client.get("/inventory/summary", params=params)).status == 422, params


async def test_reorder_point_and_quantity_per_record(client: Client, product_id: int) -> None:
    """A record's reorder quantity defaults to 0 (not set); PUT sets it and the reorder point without
    touching the quantity or the ledger, guarded by If-Match like any PUT."""
    record = await create_stock(client, product_id, quantity=40)
    assert record["reorder_point"] == 30 and record["reorder_quantity"] == 0
    path = f"/inventory/{record['id']}"
    changed = await client.put(
        path, json={"reorder_point": 45, "reorder_quantity": 100}, headers={"If-Match": '"1"'}
    )
    assert changed.status == 200, await changed.text()
    body = await changed.json()
    assert body["quantity"] == 40 and body["version"] == 2
    assert (body["reorder_point"], body["reorder_quantity"]) == (45, 100)
    low = await (await client.get("/inventory/low-stock")).json()
    assert [(r["id"], r["reorder_quantity"]) for r in low] == [(record["id"], 100)]
    assert [m["reason"] for m in await movements_of(client, record["id"])] == ["create"]
    stale = await client.put(path, json={"reorder_quantity": 5}, headers={"If-Match": '"1"'})
    assert stale.status == 412
    for bad in ({"reorder_quantity": -1}, {"reorder_quantity": None}, {"reorder_quantity": "5"}):
        refused = await client.put(path, json=bad)
        assert refused.status == 422, bad
        assert [e["field"] for e in (await refused.json())["errors"]] == ["reorder_quantity"]
    created = await create_stock(client, product_id, "Warehouse B", 0, reorder_quantity=12)
    assert created["reorder_quantity"] == 12


async def test_lists_filter_and_paginate(client: Client, products: Client, product_id: int) -> None:
    other = await new_product(products)
    await create_stock(client, product_id, "Warehouse A", 1)
    await create_stock(client, product_id, "Warehouse B", 2)
    await create_stock(client, other, "Warehouse A", 3)
    response = await client.get("/inventory", params={"warehouse": "Warehouse A"})
    assert [r["quantity"] for r in await response.json()] == [1, 3]
    response = await client.get("/inventory", params={"product_id": str(product_id)})
    assert [r["warehouse"] for r in await response.json()] == ["Warehouse A", "Warehouse B"]
    page = await client.get("/inventory", params={"limit": "2"})
    assert [r["quantity"] for r in await page.json()] == [1, 2]
    assert page.headers["X-Total-Count"] == "3"
    assert page.headers["Link"] == '<?limit=2&offset=2>; rel="next"'
    last = await client.get("/inventory", params={"limit": "2", "offset": "2"})
    assert [r["quantity"] for r in await last.json()] == [3] and "Link" not in last.headers
    for params in (
        {"limit": "0"},
        {"limit": "1001"},
        {"offset": "-1"},
        {"product_id": "x"},
        {"warehouse": ""},
    ):
        response = await client.get("/inventory", params=params)
        assert response.status == 422, params
        assert response.content_type == "application/problem+json"


async def test_low_stock_is_quantity_at_or_below_reorder_point(
    client: Client, products: Client, product_id: int
) -> None:
    other = await new_product(products)
    at = await create_stock(client, product_id, "Warehouse A", 30)  # default reorder point 30: low
    await create_stock(client, product_id, "Warehouse B", 31)
    below = await create_stock(client, other, "Warehouse A", 2, reorder_point=5)
    response = await client.get("/inventory/low-stock")
    low = await response.json()
    assert [r["id"] for r in low] == [at["id"], below["id"]]
    # Each names its product (from the product service's table), so an alert needs no call per product.
    assert [(r["product_name"], r["sku"]) for r in low] == [("Laptop", "LAP-1"), ("Mouse", None)]
    listed = await (await client.get("/inventory", params={"product_id": str(product_id)})).json()
    assert {(r["warehouse"], r["product_name"], r["sku"]) for r in listed} == {
        ("Warehouse A", "Laptop", "LAP-1"),
        ("Warehouse B", "Laptop", "LAP-1"),
    }
    assert response.headers["X-Total-Count"] == "2"
    page = await client.get("/inventory/low-stock", params={"limit": "1"})
    assert [r["id"] for r in await page.json()] == [at["id"]]
    assert page.headers["Link"] == '<?limit=1&offset=1>; rel="next"'
    filtered = await client.get("/inventory/low-stock", params={"product_id": str(other)})
    assert [r["id"] for r in await filtered.json()] == [below["id"]]
    await client.post(f"/inventory/{below['id']}/adjust", json={"delta": 10, "reason": "receive"})
    assert [r["id"] for r in await (await client.get("/inventory/low-stock")).json()] == [at["id"]]


async def test_movement_ledger_filters_newest_first(
    client: Client, products: Client, product_id: int
) -> None:
    other = await new_product(products)
    a = await create_stock(client, product_id, "Warehouse A", 10)
    await create_stock(client, other, "Warehouse B", 5)
    await client.post(f"/inventory/{a['id']}/adjust", json={"delta": -4, "reason": "ship"})
    await client.post(f"/inventory/{a['id']}/adjust", json={"delta": 2, "reason": "return"})
    everything = await (await client.get("/inventory/movements")).json()
    assert [m["reason"] for m in everything] == ["return", "ship", "create", "create"]
    assert [m["id"] for m in everything] == sorted((m["id"] for m in everything), reverse=True)
    ships = await client.get("/inventory/movements", params={"reason": "ship"})
    assert [m["delta"] for m in await ships.json()] == [-4] and ships.headers["X-Total-Count"] == "1"
    by_product = await (await client.get("/inventory/movements", params={"product_id": str(other)})).json()
    assert [m["warehouse"] for m in by_product] == ["Warehouse B"]
    by_warehouse = await client.get("/inventory/movements", params={"warehouse": "Warehouse A", "limit": "2"})
    assert [m["reason"] for m in await by_warehouse.json()] == ["return", "ship"]
    assert by_warehouse.headers["X-Total-Count"] == "3" and 'rel="next"' in by_warehouse.headers["Link"]
    assert (await client.get("/inventory/movements", params={"reason": "steal"})).status == 422


async def test_transfer_moves_units_and_creates_the_target(client: Client, product_id: int) -> None:
    source = await create_stock(client, product_id, "Warehouse A", 50)
    body = {
        "product_id": product_id,
        "from_warehouse": "Warehouse A",
        "to_warehouse": "Warehouse B",
        "quantity": 20,
    }
    response = await client.post("/inventory/transfer", json={**body, "note": "rebalance"})
    assert response.status == 200
    result = await response.json()
    assert result["from"]["quantity"] == 30 and result["to"]["quantity"] == 20
    assert result["to"]["warehouse"] == "Warehouse B" and result["to"]["reorder_point"] == 30
    back = await client.post(
        "/inventory/transfer",
        json={**body, "from_warehouse": "Warehouse B", "to_warehouse": "Warehouse A", "quantity": 5},
    )
    assert (await back.json())["from"]["quantity"] == 15
    stock = await (await client.get(f"/inventory/product/{product_id}")).json()
    assert stock["quantity"] == 50
    target_history = await movements_of(client, result["to"]["id"])
    assert [(m["reason"], m["delta"]) for m in target_history] == [
        ("transfer_out", -5),
        ("transfer_in", 20),
        ("create", 0),
    ]
    source_history = await movements_of(client, source["id"])
    assert source_history[1]["reason"] == "transfer_out" and source_history[1]["note"] == "rebalance"


async def test_transfer_refusals_change_nothing(client: Client, product_id: int) -> None:
    await create_stock(client, product_id, "Warehouse A", 5)
    body = {
        "product_id": product_id,
        "from_warehouse": "Warehouse A",
        "to_warehouse": "Warehouse B",
        "quantity": 6,
    }
    refused = await client.post("/inventory/transfer", json=body)
    assert refused.status == 409 and (await refused.json())["type"].endswith("insufficient-stock")
    # the target record it would have created is not there either
    assert [r["warehouse"] for r in await (await client.get("/inventory")).json()] == ["Warehouse A"]
    missing = await client.post(
        "/inventory/transfer", json={**body, "from_warehouse": "Nowhere", "quantity": 1}
    )
    # not a warehouse at all (Attic above is one, without this product's stock)
    assert missing.status == 422
    assert (await missing.json())["type"] == "urn:stockwiz:problem:unknown-warehouse"
    for bad in ({**body, "to_warehouse": "Warehouse A"}, {**body, "quantity": 0}, {**body, "quantity": -1}):
        assert (await client.post("/inventory/transfer", json=bad)).status == 422, bad


async def test_idempotency_key_replays_the_first_response(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=10)
    path = f"/inventory/{record['id']}/adjust"
    headers = {"Idempotency-Key": "7f6c2c1e-order-1"}
    first = await client.post(path, json={"delta": -3, "reason": "ship"}, headers=headers)
    assert first.status == 200 and "Idempotent-Replayed" not in first.headers
    retry = await client.post(path, json={"reason": "ship", "delta": -3}, headers=headers)
    assert retry.status == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert await retry.json() == await first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["quantity"] == 7
    other = await client.post(path, json={"delta": -4, "reason": "ship"}, headers=headers)
    assert other.status == 422 and (await other.json())["type"].endswith("idempotency-key-reused")
    elsewhere = await client.post(
        "/inventory", json={"product_id": product_id, "warehouse": "B"}, headers=headers
    )
    assert elsewhere.status == 422
    assert len(await movements_of(client, record["id"])) == 2


async def test_idempotent_create_and_transfer(client: Client, product_id: int) -> None:
    body = {"product_id": product_id, "warehouse": "Warehouse A", "quantity": 8}
    first = await client.post("/inventory", json=body, headers={"Idempotency-Key": '"create-1"'})
    retry = await client.post("/inventory", json=body, headers={"Idempotency-Key": "create-1"})
    assert first.status == retry.status == 201
    assert retry.headers["Location"] == first.headers["Location"] and await retry.json() == await first.json()
    transfer = {
        "product_id": product_id,
        "from_warehouse": "Warehouse A",
        "to_warehouse": "Warehouse B",
        "quantity": 3,
    }
    for _ in range(3):
        response = await client.post("/inventory/transfer", json=transfer, headers={"Idempotency-Key": "t-1"})
        assert response.status == 200
    stock = await (await client.get(f"/inventory/product/{product_id}")).json()
    assert [(w["warehouse"], w["quantity"]) for w in stock["warehouses"]] == [
        ("Warehouse A", 5),
        ("Warehouse B", 3),
    ]


async def test_a_refused_request_does_not_consume_its_key(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=1)
    path = f"/inventory/{record['id']}/adjust"
    headers = {"Idempotency-Key": "retry-after-restock"}
    assert (await client.post(path, json={"delta": -2, "reason": "ship"}, headers=headers)).status == 409
    await client.post(path, json={"delta": 5, "reason": "receive"})
    assert (await client.post(path, json={"delta": -2, "reason": "ship"}, headers=headers)).status == 200
    assert (await (await client.get(f"/inventory/{record['id']}")).json())["quantity"] == 4


async def test_bad_idempotency_keys_are_400(client: Client, product_id: int) -> None:
    for key in ("", "has space", "x" * 256, "naïve"):
        response = await client.post(
            "/inventory", json={"product_id": product_id, "warehouse": "A"}, headers={"Idempotency-Key": key}
        )
        assert response.status == 400, key
        assert (await response.json())["type"].endswith("invalid-idempotency-key")


async def test_deleting_a_product_with_stock_is_refused_end_to_end(
    client: Client, products: Client, product_id: int
) -> None:
    record = await create_stock(client, product_id, quantity=3)
    refused = await products.delete(f"/products/{product_id}")
    assert refused.status == 409
    assert (await refused.json())["type"].endswith("product-has-stock")
    assert (await client.get(f"/inventory/{record['id']}")).status == 200
    assert (await client.delete(f"/inventory/{record['id']}")).status == 204
    assert (await products.delete(f"/products/{product_id}")).status == 204
    response = await client.post("/inventory", json={"product_id": product_id, "warehouse": "A"})
    assert response.status == 422
    # the history of the removed stock stays readable
    assert [m["reason"] for m in await movements_of(client, record["id"])] == ["delete", "create"]


async def test_business_metrics(client: Client, product_id: int) -> None:
    record = await create_stock(client, product_id, quantity=40)
    path = f"/inventory/{record['id']}/adjust"
    await client.post(path, json={"delta": -15, "reason": "ship"})
    await client.post(path, json={"delta": -100, "reason": "ship"})
    await client.post(path, json={"delta": -1, "reason": "ship"}, headers={"Idempotency-Key": "m-1"})
    await client.post(path, json={"delta": -1, "reason": "ship"}, headers={"Idempotency-Key": "m-1"})
    metrics = await (await client.get("/metrics")).text()
    assert 'inventory_movements_total{reason="ship"} 2.0' in metrics
    assert 'inventory_units_moved_total{reason="ship"} 16.0' in metrics
    assert 'inventory_units_moved_total{reason="create"} 40.0' in metrics
    assert 'inventory_refused_changes_total{kind="insufficient-stock"} 1.0' in metrics
    assert "inventory_idempotent_replays_total 1.0" in metrics
    assert "inventory_low_stock_records 1.0" in metrics  # 24 <= 30


async def test_operations_endpoints_and_openapi(client: Client) -> None:
    assert (await client.get("/livez")).status == 200
    assert await (await client.get("/readyz")).json() == {"status": "ready", "checks": {"database": "ok"}}
    health = await (await client.get("/health")).json()
    assert health["service"] == "inventory-service" and health["status"] == "healthy"
    document = await (await client.get("/openapi.json")).json()
    assert set(document["paths"]) >= {
        "/inventory",
        "/inventory/{id}",
        "/inventory/{id}/adjust",
        "/inventory/{id}/movements",
        "/inventory/product/{product_id}",
        "/inventory/transfer",
        "/inventory/movements",
        "/inventory/low-stock",
        "/inventory/summary",
    }
    served = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert documented == served
