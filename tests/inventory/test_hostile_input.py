"""Hostile input answers 4xx problem+json, never 500, on both backends, through real HTTP (the services in
aiohttp's test server): ids that are not ASCII digits in the id range, JSON with duplicate keys, deep
nesting or lone surrogates, and If-Match lists as RFC 9110 defines them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inventory.conftest import Client, create_stock

PROBLEM = "application/problem+json"
HUGE = "1" * 4400  # more digits than Python's int() converts (4,300): was a 500 with a traceback
ARABIC_INDIC_ONE = "%D9%A1"  # matched \d and read as 1 by int()


async def assert_problem(response: Any, status: int, kind: str | None = None) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM
    body = dict(await response.json())
    if kind is not None:
        assert body["type"] == f"urn:stockwiz:problem:{kind}", body
    return body


@pytest.mark.parametrize(
    "raw_id",
    [
        ARABIC_INDIC_ONE,
        f"1{ARABIC_INDIC_ONE}",
        HUGE,
        "9223372036854775808",  # one past the 64-bit range
        "0",
        "00000000000000000000000000000000000000001x",
    ],
)
async def test_ids_are_ascii_digits_in_range_or_404(
    products: Client, client: Client, product_id: int, raw_id: str
) -> None:
    record = await create_stock(client, product_id)
    assert record["id"] == 1 and product_id == 1  # so that a misread id would find something
    for service, path in (
        (products, f"/products/{raw_id}"),
        (client, f"/inventory/{raw_id}"),
        (client, f"/inventory/product/{raw_id}"),
        (client, f"/inventory/{raw_id}/movements"),
    ):
        await assert_problem(await service.get(path), 404)
    await assert_problem(await products.put(f"/products/{raw_id}", json={"price": 2}), 404)
    await assert_problem(await products.delete(f"/products/{raw_id}"), 404)
    await assert_problem(await client.put(f"/inventory/{raw_id}", json={"quantity": 2}), 404)
    await assert_problem(await client.delete(f"/inventory/{raw_id}"), 404)
    adjust = await client.post(f"/inventory/{raw_id}/adjust", json={"delta": 1, "reason": "receive"})
    await assert_problem(adjust, 404)
    assert (await (await client.get("/inventory/1")).json())["quantity"] == 50


async def test_leading_zeros_and_the_largest_id_are_plain_ids(products: Client, product_id: int) -> None:
    assert (await products.get(f"/products/000{product_id}")).status == 200
    await assert_problem(await products.get("/products/9223372036854775807"), 404, "not-found")


@pytest.mark.parametrize("value", [ARABIC_INDIC_ONE, HUGE, "9223372036854775808"])
async def test_query_ids_outside_the_range_are_422(client: Client, value: str) -> None:
    for path in ("/inventory", "/inventory/movements", "/inventory/low-stock"):
        await assert_problem(await client.get(f"{path}?product_id={value}"), 422, "validation-error")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"name": "A", "name": "B", "price": 1}', "duplicate key 'name'"),
        ('{"name": "A", "price": 1, "sku": {"x": 1, "x": 2}}', "duplicate key 'x'"),
        ('{"name": "A", "price": 1, "description": ' + nested(33) + "}", "nested deeper"),
        (nested(100_000), "nested deeper"),
        ('{"name": "\\ud800", "price": 1}', "lone surrogate"),
        ('{"name": "A", "price": 1, "category": "x\\udfffy"}', "lone surrogate"),
        ('{"\\ud800": 1}', "lone surrogate"),
    ],
)
async def test_json_that_two_readers_could_disagree_on_is_400(
    products: Client, client: Client, product_id: int, body: str, says: str
) -> None:
    headers = {"Content-Type": "application/json"}
    problem = await assert_problem(await products.post("/products", data=body, headers=headers), 400)
    assert problem["type"] == "urn:stockwiz:problem:malformed-json"
    assert says in problem["detail"]
    assert (await (await products.get("/products")).json())[0]["name"] == "Laptop"
    await assert_problem(await products.put(f"/products/{product_id}", data=body, headers=headers), 400)


async def test_lone_surrogates_in_stock_writes_are_400(client: Client, product_id: int) -> None:
    headers = {"Content-Type": "application/json"}
    for path, body in (
        ("/inventory", f'{{"product_id": {product_id}, "warehouse": "\\ud800"}}'),
        (
            "/inventory/transfer",
            f'{{"product_id": {product_id}, "from_warehouse": "A", "to_warehouse": "\\udbff"}}',
        ),
    ):
        problem = await assert_problem(
            await client.post(path, data=body, headers=headers), 400, "malformed-json"
        )
        assert "lone surrogate" in problem["detail"]
    # Encoded as UTF-8 (not escaped), a surrogate is not UTF-8 at all.
    raw = b'{"product_id": 1, "warehouse": "\xed\xa0\x80"}'
    await assert_problem(await client.post("/inventory", data=raw, headers=headers), 400, "malformed-json")
    assert await (await client.get("/inventory")).json() == []


async def test_nesting_within_the_limit_is_judged_by_the_model(products: Client) -> None:
    body = '{"name": "A", "price": 1, "description": ' + nested(31) + "}"
    response = await products.post("/products", data=body, headers={"Content-Type": "application/json"})
    await assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"999", "1"', 200),  # a list matches when one of its tags does
        ('"1", "999"', 200),
        ('"x,y", "1"', 200),  # a comma inside a tag does not split it
        (' , "1" ,', 200),  # empty list elements are allowed
        ("*", 200),
        ('W/"1"', 412),  # If-Match compares strongly: a weak tag never matches
        ('W/"1", "2"', 412),
        ('"999"', 412),
        ('"99999999999999999999"', 412),
        ('"\u0661"', 412),
        ("1", 412),  # not an entity-tag
        ('"1" "1"', 412),  # not a list
        ("", 412),
    ],
)
async def test_if_match_follows_rfc_9110(
    products: Client, client: Client, product_id: int, if_match: str, status: int
) -> None:
    record = await create_stock(client, product_id)
    spare = await create_stock(client, product_id, warehouse="Warehouse B")
    headers = {"If-Match": if_match}
    matched = status == 200
    # The product still has stock: once its precondition holds, its DELETE is refused with 409.
    assert (await products.delete(f"/products/{product_id}", headers=headers)).status == (
        409 if matched else 412
    )
    assert (await client.delete(f"/inventory/{spare['id']}", headers=headers)).status == (
        204 if matched else 412
    )
    for response in (
        await products.put(f"/products/{product_id}", json={"price": 2}, headers=headers),
        await client.put(f"/inventory/{record['id']}", json={"quantity": 2}, headers=headers),
    ):
        if matched:
            assert response.status == 200, (if_match, await response.text())
            assert response.headers["ETag"] == '"2"'
        else:
            await assert_problem(response, 412, "precondition-failed")
            assert response.headers["ETag"] == '"1"'


async def test_if_match_header_lines_combine_into_one_list(products: Client, product_id: int) -> None:
    response = await products.put(
        f"/products/{product_id}", json={"price": 2}, headers=[("If-Match", '"7"'), ("If-Match", '"1"')]
    )
    assert response.status == 200, await response.text()
    assert response.headers["ETag"] == '"2"'
