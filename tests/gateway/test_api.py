"""The gateway in front of the real product and inventory services (processes on loopback, one shared
database): composition, the earlier StockWiz contract, auth, request ids and the OpenAPI document."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stockwiz_runtime.jsonio import loads
from stockwiz_runtime.validation import MAX_ID
from tests.gateway.conftest import API_TOKENS, READ, WRITE, Backends, GatewayClient, start_backends

Build = Callable[..., Awaitable[GatewayClient]]
PRODUCT_KEYS = {"id", "name", "description", "price", "category"}
RECORD_KEYS = {"id", "product_id", "quantity", "warehouse", "last_updated"}


@pytest.fixture
async def gateway(gateway_for: Build, shared_backends: Backends) -> GatewayClient:
    return await gateway_for(shared_backends.products.url, shared_backends.inventory.url)


async def create_product(client: GatewayClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Widget", "price": 9.99, "category": "Gadgets", **fields}
    response = await client.post("/api/products", json=body)
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def add_stock(client: GatewayClient, product_id: int, warehouse: str, quantity: int) -> dict[str, Any]:
    # Stock goes only into a managed warehouse: made here unless an earlier test made it (409).
    made = await client.post("/api/warehouses", json={"name": warehouse})
    assert made.status in (201, 409), await made.text()
    body = {"product_id": product_id, "warehouse": warehouse, "quantity": quantity}
    response = await client.post("/api/inventory", json=body)
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


def upstream_calls(metrics: str) -> dict[str, float]:
    """gateway_upstream_requests_total per upstream, summed over outcomes."""
    calls: dict[str, float] = {}
    for match in re.finditer(
        r'gateway_upstream_requests_total\{outcome="[^"]+",upstream="([^"]+)"\} (\S+)', metrics
    ):
        calls[match[1]] = calls.get(match[1], 0) + float(match[2])
    return calls


async def count_calls(client: GatewayClient) -> dict[str, float]:
    return upstream_calls(await (await client.get("/metrics")).text())


async def test_product_with_stock_is_one_call_to_the_inventory_service(gateway: GatewayClient) -> None:
    product = await create_product(gateway, name="Composed", price=99999999.99)
    path = f"/api/products/{product['id']}"
    response = await gateway.get(path)
    assert response.status == 200 and response.headers["ETag"] == '"1"'
    assert "inventory" not in await response.json()  # upstream: absent without stock

    await add_stock(gateway, product["id"], "Warehouse A", 20)
    await add_stock(gateway, product["id"], "Warehouse B", 35)
    before = await count_calls(gateway)
    raw = await (await gateway.get(path)).read()
    after = await count_calls(gateway)
    assert after.get("product-service", 0) - before.get("product-service", 0) == 0
    assert after["inventory-service"] - before["inventory-service"] == 1
    body = loads(raw)
    assert body["price"] == Decimal("99999999.99") and b'"price":99999999.99' in raw  # exact, not via float
    stock = body["inventory"]
    assert (stock["quantity"], stock["warehouse"]) == (55, "Warehouse B")
    assert [(w["warehouse"], w["quantity"]) for w in stock["warehouses"]] == [
        ("Warehouse A", 20),
        ("Warehouse B", 35),
    ]

    missing = await gateway.get("/api/products/2147483647")
    assert missing.status == 404 and missing.content_type == "application/problem+json"
    problem = await missing.json()
    assert problem["instance"] == "/api/products/2147483647"
    assert problem["detail"] == "product 2147483647 does not exist"
    assert (await gateway.get("/api/products/99999999999")).status == 404


async def test_products_full_makes_two_calls_for_any_page_size(gateway: GatewayClient) -> None:
    category = "FullPage"
    products = [await create_product(gateway, name=f"Full {i}", category=category) for i in range(12)]
    for product in products[:6]:
        await add_stock(gateway, product["id"], "Main", product["id"] % 7 + 1)
    before = await count_calls(gateway)
    response = await gateway.get(f"/api/products-full?category={category}&limit=10&sort=-id")
    after = await count_calls(gateway)
    assert response.status == 200
    assert after["product-service"] - before["product-service"] == 1
    assert after["inventory-service"] - before["inventory-service"] == 1
    assert response.headers["X-Total-Count"] == "12"
    assert response.headers["Link"] == f'<?category={category}&limit=10&sort=-id&offset=10>; rel="next"'
    page = await response.json()
    assert [p["id"] for p in page] == [p["id"] for p in reversed(products)][:10]
    stocked = {p["id"] for p in products[:6]}
    for item in page:
        assert item.keys() >= PRODUCT_KEYS
        if item["id"] in stocked:
            assert item["inventory"]["quantity"] == item["id"] % 7 + 1
            assert item["inventory"]["warehouse"] == "Main"
        else:
            assert "inventory" not in item
    searched = await gateway.get("/api/products-full", params={"q": "Full 1%", "category": category})
    assert searched.status == 200 and searched.headers["X-Total-Count"] == "0"
    searched = await gateway.get("/api/products-full", params={"q": "full 1", "category": category})
    assert [p["name"] for p in await searched.json()] == ["Full 1", "Full 10", "Full 11"]
    empty = await gateway.get("/api/products-full?category=NoSuchCategory")
    assert empty.status == 200 and await empty.json() == []
    assert (await gateway.get("/api/products-full?limit=0")).status == 422


async def test_request_id_reaches_both_services(gateway: GatewayClient, shared_backends: Backends) -> None:
    await create_product(gateway)
    # products-full calls both services (one product with its stock calls only the inventory service).
    response = await gateway.get("/api/products-full?limit=1", headers={"X-Request-ID": "trace-4711"})
    assert response.status == 200 and response.headers["X-Request-ID"] == "trace-4711"
    await asyncio.sleep(0.2)  # the services write their access log after answering
    assert '"request_id":"trace-4711"' in shared_backends.products.log()
    assert '"request_id":"trace-4711"' in shared_backends.inventory.log()


async def test_writes_pass_through_with_location_etag_and_idempotency(gateway: GatewayClient) -> None:
    product = await create_product(gateway)
    created = await gateway.post(
        "/api/inventory",
        json={"product_id": product["id"], "warehouse": "Dock", "quantity": 5},
        headers={"Idempotency-Key": "gw-key-1"},
    )
    assert created.status == 201
    record = await created.json()
    assert created.headers["Location"] == f"/api/inventory/{record['id']}"
    replay = await gateway.post(
        "/api/inventory",
        json={"product_id": product["id"], "warehouse": "Dock", "quantity": 5},
        headers={"Idempotency-Key": "gw-key-1"},
    )
    assert replay.status == 201 and (await replay.json())["id"] == record["id"]
    adjusted = await gateway.post(
        f"/api/inventory/{record['id']}/adjust", json={"delta": -2, "reason": "ship"}
    )
    assert adjusted.status == 200 and (await adjusted.json())["quantity"] == 3
    refused = await gateway.post(
        f"/api/inventory/{record['id']}/adjust", json={"delta": -9, "reason": "ship"}
    )
    assert refused.status == 409 and refused.content_type == "application/problem+json"
    etag = (await gateway.get(f"/api/products/{product['id']}")).headers["ETag"]
    stale = await gateway.put(
        f"/api/products/{product['id']}", json={"price": 1}, headers={"If-Match": '"99"'}
    )
    assert stale.status == 412
    fresh = await gateway.put(f"/api/products/{product['id']}", json={"price": 1}, headers={"If-Match": etag})
    assert fresh.status == 200


async def test_problems_name_the_public_path_the_client_asked_for(gateway: GatewayClient) -> None:
    product = await create_product(gateway)
    record = await add_stock(gateway, product["id"], "Dock", 1)
    cases = [
        # proxied: the inventory service's own problem
        ("POST", f"/api/inventory/{record['id']}/adjust", {"delta": -9, "reason": "ship"}, 409),
        ("GET", "/api/inventory/9223372036854775807", None, 404),
        ("PUT", f"/api/products/{product['id']}", {"price": -1}, 422),
        # composed: the product service's problem passed on as the answer of the composed view
        ("GET", "/api/products/9223372036854775807", None, 404),
        ("GET", "/api/products-full?limit=0", None, 422),
        # the gateway's own problem
        ("GET", "/api/nothing-here", None, 404),
    ]
    for method, path, body, status in cases:
        response = await gateway.request(method, path, json=body)
        assert (response.status, response.content_type) == (status, "application/problem+json"), path
        problem = await response.json()
        assert problem["instance"] == path.split("?")[0], problem
        assert problem["request_id"] == response.headers["X-Request-ID"]


async def test_tokens_guard_the_real_api(gateway_for: Build, shared_backends: Backends) -> None:
    client = await gateway_for(
        shared_backends.products.url, shared_backends.inventory.url, API_TOKENS=API_TOKENS
    )
    assert (await client.get("/api/products")).status == 401
    assert (await client.get("/api/products", headers=READ)).status == 200
    assert (await client.get("/api/inventory/low-stock", headers=READ)).status == 200
    response = await client.post("/api/products", json={"name": "No", "price": 1}, headers=READ)
    assert response.status == 403
    response = await client.post("/api/products", json={"name": "Yes", "price": 1}, headers=WRITE)
    assert response.status == 201


async def test_low_stock_pages_through_the_gateway(gateway: GatewayClient) -> None:
    product = await create_product(gateway)
    for index in range(3):
        await add_stock(gateway, product["id"], f"Low {index}", index)
    response = await gateway.get("/api/inventory/low-stock?limit=2")
    assert response.status == 200
    total = int(response.headers["X-Total-Count"])
    assert total >= 3 and 'rel="next"' in response.headers["Link"]
    records = await response.json()
    assert len(records) == 2
    assert {
        "id",
        "product_id",
        "warehouse",
        "quantity",
        "reorder_point",
        "last_updated",
        "version",
    } <= records[0].keys()


async def test_health_reports_each_service(
    gateway_for: Build, shared_backends: Backends, no_listener: str
) -> None:
    healthy = await gateway_for(shared_backends.products.url, shared_backends.inventory.url)
    response = await healthy.get("/health")
    assert response.status == 200
    assert await response.json() == {
        "status": "healthy",
        "service": "api-gateway",
        "downstream_services": {"product_service": "healthy", "inventory_service": "healthy"},
    }
    assert (await healthy.get("/readyz")).status == 200
    assert (await healthy.get("/livez")).status == 200

    half = await gateway_for(shared_backends.products.url, no_listener, HEALTH_CACHE_SECONDS="30")
    response = await half.get("/health")
    assert response.status == 503
    assert (await response.json())["downstream_services"] == {
        "product_service": "healthy",
        "inventory_service": "unhealthy",
    }
    assert (await half.get("/readyz")).status == 503
    assert (await half.get("/livez")).status == 200  # the load balancer keeps this task


async def test_health_checks_are_cached_and_shared(gateway_for: Build, shared_backends: Backends) -> None:
    client = await gateway_for(
        shared_backends.products.url, shared_backends.inventory.url, HEALTH_CACHE_SECONDS="30"
    )
    before = shared_backends.products.log().count('"path":"/readyz"')
    responses = await asyncio.gather(*(client.get("/health") for _ in range(20)))
    assert all(r.status == 200 for r in responses)
    assert (await client.get("/health")).status == 200
    await asyncio.sleep(0.2)
    assert shared_backends.products.log().count('"path":"/readyz"') - before == 1


async def test_openapi_covers_gateway_and_proxied_routes(gateway: GatewayClient) -> None:
    for _ in range(50):
        document = await (await gateway.get("/openapi.json")).json()
        if len(document["x-stockwiz-services"]) == 2:
            break
        await asyncio.sleep(0.1)
    paths = document["paths"]
    for path in (
        "/",
        "/health",
        "/api/products-full",
        "/api/products/{id}",
        "/api/products",
        "/api/inventory",
        "/api/inventory/{id}/adjust",
        "/api/inventory/transfer",
        "/api/inventory/summary",
        "/api/inventory/low-stock",
    ):
        assert path in paths, path
    assert {"get", "put", "delete"} <= paths["/api/products/{id}"].keys()
    assert paths["/api/products/{id}"]["get"]["tags"] == ["composed"]
    assert paths["/api/inventory"]["post"]["security"] == [{"bearerAuth": []}]
    assert "ProductWithStock" in document["components"]["schemas"]
    assert "/products" not in paths  # only the public /api paths


async def test_an_earlier_client_keeps_working(gateway_for: Build, backends: Backends) -> None:
    """Walks every route of the earlier StockWiz gateway with its payloads, on both databases."""
    client = await gateway_for(backends.products.url, backends.inventory.url)
    response = await client.get("/")
    assert response.status == 200 and response.content_type == "text/html"
    response = await client.get("/api/inventory")
    assert response.status == 200 and await response.json() == []  # never null
    health = await (await client.get("/health")).json()
    assert health["service"] == "api-gateway" and set(health["downstream_services"]) == {
        "product_service",
        "inventory_service",
    }

    laptop = {
        "name": "Laptop Dell XPS 13",
        "description": "13-inch",
        "price": 1299.99,
        "category": "Electronics",
    }
    response = await client.post("/api/products", json=laptop)
    assert response.status == 201
    product = await response.json()
    assert product.keys() >= PRODUCT_KEYS and product["price"] == 1299.99
    pid = product["id"]
    await client.post("/api/products", json={"name": "Chair", "price": 50, "category": "Furniture"})
    listed = await (await client.get("/api/products")).json()
    assert isinstance(listed, list) and len(listed) == 2
    assert [p["name"] for p in await (await client.get("/api/products?category=Electronics")).json()] == [
        laptop["name"]
    ]
    assert "inventory" not in await (await client.get(f"/api/products/{pid}")).json()
    response = await client.put(f"/api/products/{pid}", json={"price": 1199.99})
    assert response.status == 200 and (await response.json())["price"] == 1199.99
    assert (await response.json())["name"] == laptop["name"]

    response = await client.post(
        "/api/inventory", json={"product_id": pid, "quantity": 50, "warehouse": "Warehouse A"}
    )
    assert response.status == 201
    record = await response.json()
    assert record.keys() >= RECORD_KEYS and record["quantity"] == 50
    rid = record["id"]
    assert (await (await client.get(f"/api/inventory/{rid}")).json()).keys() >= RECORD_KEYS
    by_product = await (await client.get(f"/api/inventory/product/{pid}")).json()
    assert (by_product["product_id"], by_product["quantity"], by_product["warehouse"]) == (
        pid,
        50,
        "Warehouse A",
    )
    assert len(await (await client.get("/api/inventory")).json()) == 1

    composed = await (await client.get(f"/api/products/{pid}")).json()
    assert composed["inventory"]["quantity"] == 50 and composed["inventory"]["warehouse"] == "Warehouse A"
    full = await (await client.get("/api/products-full")).json()
    assert [("inventory" in p) for p in full] == [True, False]

    response = await client.put(f"/api/inventory/{rid}", json={"quantity": 40, "warehouse": "Warehouse B"})
    assert response.status == 200
    assert {k: (await response.json())[k] for k in ("quantity", "warehouse")} == {
        "quantity": 40,
        "warehouse": "Warehouse B",
    }

    for path, body in (
        ("/api/products", {"name": "", "price": 1}),
        ("/api/products", {"name": "x", "price": -1}),
        ("/api/inventory", {"product_id": pid, "quantity": -5, "warehouse": "A"}),
        ("/api/inventory", {"product_id": pid, "quantity": 1, "warehouse": ""}),
    ):
        response = await client.post(path, json=body)
        assert response.status == 422, (path, body)
        assert response.content_type == "application/problem+json"
    unknown = await client.post(
        "/api/inventory", json={"product_id": 999999, "quantity": 1, "warehouse": "A"}
    )
    assert 400 <= unknown.status < 500 and unknown.content_type == "application/problem+json"
    for path in ("/api/products/999999", "/api/inventory/999999", "/api/inventory/product/999999"):
        response = await client.get(path)
        assert response.status == 404 and response.content_type == "application/problem+json", path

    response = await client.delete(f"/api/inventory/{rid}")
    assert response.status == 204 and await response.read() == b""
    response = await client.delete(f"/api/products/{pid}")
    assert response.status == 204 and await response.read() == b""
    assert (await client.get(f"/api/products/{pid}")).status == 404


async def test_products_full_takes_a_whole_page_of_large_ids(
    gateway_for: Build, tmp_path: Path, log_dir: Path
) -> None:
    """limit=1000 (the largest page) of ids near the top of their 64-bit range: their list is longer than a
    request line may be (8190 bytes), so the gateway asks the inventory service in a few calls."""
    database = tmp_path / "big.db"
    services = start_backends(f"sqlite:///{database}", log_dir)
    backends = next(services)
    try:
        first = MAX_ID - 999
        with sqlite3.connect(database) as db:
            db.executemany(
                "INSERT INTO products (id, name, price, category, version, created_at, updated_at) "
                "VALUES (?, ?, 1.5, 'Big', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                [(first + i, f"Big {i:04d}") for i in range(1000)],
            )
        gateway = await gateway_for(backends.products.url, backends.inventory.url)
        stocked = (first, first + 500, MAX_ID)
        for product_id in stocked:
            await add_stock(gateway, product_id, "Main", 7)
        before = await count_calls(gateway)
        started = time.perf_counter()
        response = await gateway.get("/api/products-full?category=Big&limit=1000&sort=id")
        elapsed = time.perf_counter() - started
        after = await count_calls(gateway)
        assert response.status == 200, await response.text()
        page = await response.json()
        assert [p["id"] for p in page] == list(range(first, MAX_ID + 1))
        assert {p["id"] for p in page if "inventory" in p} == set(stocked)
        assert all(p["inventory"]["quantity"] == 7 for p in page if "inventory" in p)
        assert after["product-service"] - before.get("product-service", 0) == 1
        # 1,000 ids of 19 digits are 20,000 bytes of query, in calls of at most 7,000 bytes each.
        assert after["inventory-service"] - before["inventory-service"] == 3
        assert elapsed < 2
    finally:
        services.close()
