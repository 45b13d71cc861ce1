"""The product API through aiohttp's test client, on SQLite and on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from stockwiz_runtime.jsonio import loads
from tests.products.conftest import ProductsClient

LAPTOP = {"name": "Laptop Dell XPS 13", "price": 1299.99, "category": "Electronics"}


async def create(client: ProductsClient, **fields: object) -> dict[str, object]:
    response = await client.post("/products", json={**LAPTOP, **fields})
    assert response.status == 201, await response.text()
    created: dict[str, object] = await response.json()
    return created


async def test_create_then_read_keeps_the_upstream_shape(client: ProductsClient) -> None:
    created = await create(client, description="13-inch")
    assert {"id", "name", "description", "price", "category"} <= created.keys()
    response = await client.get(f"/products/{created['id']}")
    assert response.status == 200
    assert response.headers["ETag"] == '"1"'
    assert await response.json() == created


async def test_price_is_exact_decimal_in_and_out(client: ProductsClient) -> None:
    response = await client.post(
        "/products",
        data=b'{"name": "Precise", "price": 99999999.99}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201
    product_id = (await response.json())["id"]
    raw = await (await client.get(f"/products/{product_id}")).read()
    assert loads(raw)["price"] == Decimal("99999999.99")
    assert b'"price":99999999.99' in raw


async def test_validation_errors_are_problem_json_with_field_errors(client: ProductsClient) -> None:
    response = await client.post(
        "/products", json={"name": "   ", "price": 10.001, "category": "x" * 101, "colour": "red"}
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == 422 and problem["request_id"] == response.headers["X-Request-ID"]
    assert {error["field"] for error in problem["errors"]} == {"name", "price", "category", "colour"}
    # Our own rules read as written: no "Value error, " from the validation library.
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert messages["name"] == "must not be blank"
    assert not any("Value error" in message for message in messages.values())


async def test_wrong_types_and_media_types_are_refused(client: ProductsClient) -> None:
    assert (await client.post("/products", json={"name": 5, "price": 1})).status == 422
    assert (await client.post("/products", json={"name": "a", "price": "1.00"})).status == 422
    assert (await client.post("/products", json={"name": "a", "price": True})).status == 422
    response = await client.post("/products", data="name=a", headers={"Content-Type": "text/plain"})
    assert response.status == 415
    response = await client.post("/products", data=b"{", headers={"Content-Type": "application/json"})
    assert response.status == 400


async def test_price_bounds(client: ProductsClient) -> None:
    for price in (0, -1, 100000000, 1.005):
        assert (await client.post("/products", json={"name": "a", "price": price})).status == 422, price


async def test_put_is_partial_and_null_clears(client: ProductsClient) -> None:
    created = await create(client, description="old", sku="SKU-1")
    response = await client.put(f"/products/{created['id']}", json={"description": None, "price": 10})
    assert response.status == 200
    body = await response.json()
    assert body["description"] is None and body["price"] == 10 and body["name"] == LAPTOP["name"]
    assert body["sku"] == "SKU-1"
    assert (await client.put(f"/products/{created['id']}", json={"name": None})).status == 422


async def test_if_match_guards_updates(client: ProductsClient) -> None:
    created = await create(client)
    path = f"/products/{created['id']}"
    first = await client.put(path, json={"price": 5}, headers={"If-Match": '"1"'})
    assert first.status == 200 and first.headers["ETag"] == '"2"'
    stale = await client.put(path, json={"price": 6}, headers={"If-Match": '"1"'})
    assert stale.status == 412 and stale.headers["ETag"] == '"2"'
    assert (await (await client.get(path)).json())["price"] == 5
    assert (await client.put(path, json={"price": 7})).status == 200


async def test_duplicate_sku_is_409(client: ProductsClient) -> None:
    await create(client, sku="ABC-1")
    response = await client.post("/products", json={**LAPTOP, "sku": "ABC-1"})
    assert response.status == 409
    assert (await response.json())["type"].endswith("duplicate-sku")
    other = await create(client, sku="ABC-2")
    assert (await client.put(f"/products/{other['id']}", json={"sku": "ABC-1"})).status == 409


async def test_missing_and_non_numeric_ids(client: ProductsClient) -> None:
    assert (await client.get("/products/12345")).status == 404
    assert (await client.get("/products/abc")).status == 404
    assert (await client.get("/products/99999999999999999999")).status == 404
    assert (await client.delete("/products/12345")).status == 404
    assert (await client.put("/products/12345", json={"price": 1})).status == 404


async def test_delete(client: ProductsClient) -> None:
    created = await create(client)
    response = await client.delete(f"/products/{created['id']}")
    assert response.status == 204 and await response.read() == b""
    assert (await client.get(f"/products/{created['id']}")).status == 404


async def test_list_filters_sorting_and_pagination(client: ProductsClient) -> None:
    assert await (await client.get("/products")).json() == []
    for index, (name, price, category) in enumerate(
        [("Mouse", 20, "Peripherals"), ("Laptop", 1000, "Computers"), ("Keyboard", 50, "Peripherals")]
    ):
        await create(client, name=name, price=price, category=category, sku=f"S-{index}", description=None)
    response = await client.get("/products", params={"category": "Peripherals", "sort": "-price"})
    assert [p["name"] for p in await response.json()] == ["Keyboard", "Mouse"]
    assert response.headers["X-Total-Count"] == "2"
    response = await client.get("/products", params={"sort": "name", "limit": "2"})
    assert [p["name"] for p in await response.json()] == ["Keyboard", "Laptop"]
    assert response.headers["X-Total-Count"] == "3"
    assert response.headers["Link"] == '<?sort=name&limit=2&offset=2>; rel="next"'
    last = await client.get("/products", params={"sort": "name", "limit": "2", "offset": "2"})
    assert [p["name"] for p in await last.json()] == ["Mouse"] and "Link" not in last.headers
    assert [p["name"] for p in await (await client.get("/products", params={"q": "LAP"})).json()] == [
        "Laptop"
    ]
    assert [p["name"] for p in await (await client.get("/products", params={"q": "s-2"})).json()] == [
        "Keyboard"
    ]
    assert await (await client.get("/products", params={"q": "%"})).json() == []


async def test_batch_read_by_ids(client: ProductsClient) -> None:
    ids = [(await create(client, sku=f"B-{i}"))["id"] for i in range(3)]
    response = await client.get("/products", params={"ids": f"{ids[2]},{ids[0]},999999"})
    assert sorted(p["id"] for p in await response.json()) == sorted([int(str(ids[0])), int(str(ids[2]))])
    assert (await client.get("/products", params={"ids": "1,x"})).status == 422
    too_many = ",".join(str(i) for i in range(1, 1002))
    assert (await client.get("/products", params={"ids": too_many})).status == 422


async def test_bad_list_parameters_are_422(client: ProductsClient) -> None:
    for params in ({"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}, {"sort": "colour"}, {"limit": "ten"}):
        response = await client.get("/products", params=params)
        assert response.status == 422, params
        assert response.content_type == "application/problem+json"


async def test_categories_with_counts(client: ProductsClient) -> None:
    await create(client, category="B")
    await create(client, category="A")
    await create(client, category="B")
    await create(client, category=None)
    assert await (await client.get("/products/categories")).json() == [
        {"category": "A", "count": 1},
        {"category": "B", "count": 2},
    ]


async def test_body_size_limit_is_413(client: ProductsClient) -> None:
    response = await client.post("/products", json={"name": "a", "price": 1, "description": "x" * 2_000_000})
    assert response.status == 413
    assert response.content_type == "application/problem+json"


async def test_operations_endpoints(client: ProductsClient) -> None:
    assert (await client.get("/livez")).status == 200
    assert await (await client.get("/readyz")).json() == {"status": "ready", "checks": {"database": "ok"}}
    assert await (await client.get("/health")).json() == {
        "status": "healthy",
        "service": "product-service",
        "checks": {"database": "ok"},
    }
    await client.get("/products")
    metrics = await (await client.get("/metrics")).text()
    assert 'http_requests_total{method="GET",route="/products",status="200"} 1.0' in metrics
    assert "db_pool_checked_out" in metrics
    document = await (await client.get("/openapi.json")).json()
    assert set(document["paths"]) >= {"/products", "/products/{id}", "/products/categories"}


async def test_request_id_is_kept_when_sane_and_replaced_when_not(client: ProductsClient) -> None:
    response = await client.get("/products", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    response = await client.get("/products/0", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["X-Request-ID"] != "bad id\twith spaces"
    assert (await response.json())["request_id"] == response.headers["X-Request-ID"]
