"""Faults between the gateway and a service, with small in-test aiohttp apps as the services: down, slow,
flapping, and connections that break. Every failure is a quick problem+json naming the service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientResponse, web

from tests.gateway.conftest import GatewayClient

Build = Callable[..., Awaitable[GatewayClient]]
Start = Callable[[web.Application], Awaitable[str]]


async def assert_problem(response: ClientResponse, status: int, upstream: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = await response.json()
    assert problem["status"] == status and problem["upstream"] == upstream
    assert upstream in problem["detail"]
    return problem


async def test_a_service_that_is_down_is_a_fast_502(gateway_for: Build, no_listener: str) -> None:
    client = await gateway_for(no_listener, no_listener)
    started = time.monotonic()
    response = await client.get("/api/products")
    await assert_problem(response, 502, "product-service")
    response = await client.post("/api/inventory", json={"product_id": 1, "warehouse": "A"})
    await assert_problem(response, 502, "inventory-service")
    assert time.monotonic() - started < 2


async def test_a_slow_service_is_a_504_within_the_timeout(
    gateway_for: Build, fake_upstream: Start, no_listener: str
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/products", slow)
    app.router.add_get("/inventory/summary", slow)
    app.router.add_get(r"/inventory/product-view/{id:\d+}", slow)
    url = await fake_upstream(app)
    client = await gateway_for(url, url, UPSTREAM_TIMEOUT="0.5")
    for path, upstream in (("/api/products", "product-service"), ("/api/products/1", "inventory-service")):
        started = time.monotonic()
        response = await client.get(path)
        await assert_problem(response, 504, upstream)
        assert 0.45 < time.monotonic() - started < 2


async def test_composition_names_the_failing_service(
    gateway_for: Build, fake_upstream: Start, no_listener: str
) -> None:
    """One product with its stock is one call to the inventory service's product view: the product service
    being down does not matter to it, the inventory service being down is a 502 naming it, and the view's
    own 404 is the answer, with `instance` the path the client asked for."""
    app = web.Application()

    async def view(request: web.Request) -> web.Response:
        return web.json_response({"id": 1, "name": "A", "price": 1}, headers={"ETag": '"3"'})

    async def missing(request: web.Request) -> web.Response:
        body = {"status": 404, "detail": "product 2 does not exist", "instance": "/inventory/product-view/2"}
        return web.json_response(body, status=404, content_type="application/problem+json")

    app.router.add_get("/inventory/product-view/1", view)
    app.router.add_get("/inventory/product-view/2", missing)
    inventory = await fake_upstream(app)
    client = await gateway_for(no_listener, inventory)
    response = await client.get("/api/products/1")
    assert response.status == 200 and response.headers["ETag"] == '"3"'
    assert await response.json() == {"id": 1, "name": "A", "price": 1}
    response = await client.get("/api/products/2")
    assert response.status == 404 and response.content_type == "application/problem+json"
    assert (await response.json())["instance"] == "/api/products/2"
    down = await gateway_for(no_listener, no_listener)
    await assert_problem(await down.get("/api/products/1"), 502, "inventory-service")


async def test_an_inventory_service_without_the_product_view_is_composed_from_two_calls(
    gateway_for: Build, fake_upstream: Start
) -> None:
    """During a rolling deployment the gateway may be newer than the inventory service: a 404 that is not
    the view's "does not exist" means the route is missing, and the read is composed the old way."""

    async def product(request: web.Request) -> web.Response:
        return web.Response(
            body=b'{"id":1,"price":1.10}', content_type="application/json", headers={"ETag": '"4"'}
        )

    async def summary(request: web.Request) -> web.Response:
        assert request.query["product_ids"] == "1"
        return web.json_response({"1": {"quantity": 3, "warehouse": "A", "warehouses": []}})

    async def unknown_route(request: web.Request) -> web.Response:
        body = {"status": 404, "detail": "Not Found"}
        return web.json_response(body, status=404, content_type="application/problem+json")

    services = web.Application()
    services.router.add_get("/products/1", product)
    services.router.add_get("/inventory/summary", summary)
    services.router.add_get("/inventory/product-view/{id}", unknown_route)
    url = await fake_upstream(services)
    client = await gateway_for(url, url)
    response = await client.get("/api/products/1")
    assert response.status == 200 and response.headers["ETag"] == '"4"'
    expected = b'{"id":1,"price":1.10,"inventory":{"quantity":3,"warehouse":"A","warehouses":[]}}'
    assert await response.read() == expected
    # The product service's own 404 is still the answer.
    response = await client.get("/api/products/2")
    assert response.status == 404


async def test_a_flapping_service_opens_the_breaker_then_it_closes_again(
    gateway_for: Build, fake_upstream: Start, no_listener: str
) -> None:
    state = {"healthy": False, "hits": 0}

    async def flappy(request: web.Request) -> web.Response:
        state["hits"] += 1
        if not state["healthy"]:
            return web.json_response({"status": 503}, status=503)
        return web.json_response([], headers={"X-Total-Count": "0"})

    app = web.Application()
    app.router.add_get("/products", flappy)
    url = await fake_upstream(app)
    client = await gateway_for(url, no_listener, BREAKER_FAILURE_THRESHOLD="3", BREAKER_RESET_SECONDS="0.4")
    for _ in range(3):
        assert (await client.get("/api/products")).status == 503  # the service's own 503s
    assert state["hits"] == 3
    started = time.monotonic()
    response = await client.get("/api/products")
    problem = await assert_problem(response, 503, "product-service")
    assert problem["type"] == "urn:stockwiz:problem:upstream-unavailable"
    assert response.headers["Retry-After"] == "1"
    assert state["hits"] == 3 and time.monotonic() - started < 0.2  # answered without calling the service
    metrics = await (await client.get("/metrics")).text()
    assert 'gateway_circuit_state{upstream="product-service"} 2.0' in metrics

    state["healthy"] = True
    await asyncio.sleep(0.45)
    response = await client.get("/api/products")  # the half-open probe
    assert response.status == 200 and state["hits"] == 4
    assert all([(await client.get("/api/products")).status == 200 for _ in range(5)])
    metrics = await (await client.get("/metrics")).text()
    assert 'gateway_circuit_state{upstream="product-service"} 0.0' in metrics
    assert 'gateway_upstream_requests_total{outcome="circuit_open",upstream="product-service"} 1.0' in metrics


async def test_a_refusing_service_opens_the_breaker_too(gateway_for: Build, no_listener: str) -> None:
    client = await gateway_for(
        no_listener,
        no_listener,
        BREAKER_FAILURE_THRESHOLD="2",
        BREAKER_RESET_SECONDS="30",
        UPSTREAM_RETRIES="0",
    )
    assert (await client.get("/api/inventory")).status == 502
    assert (await client.get("/api/inventory")).status == 502
    response = await client.get("/api/inventory")
    await assert_problem(response, 503, "inventory-service")
    assert 25 <= int(response.headers["Retry-After"]) <= 30
    # Each service has its own breaker.
    await assert_problem(await client.get("/api/products"), 502, "product-service")


def problem_app(kind: str, hits: dict[str, int]) -> web.Application:
    """A service whose every answer is a 503 problem of `kind`, as the services send them."""

    async def answer(request: web.Request) -> web.Response:
        if request.path not in ("/openapi.json", "/readyz"):  # the gateway's own background calls
            hits[request.path] = hits.get(request.path, 0) + 1
        body = {"type": f"urn:stockwiz:problem:{kind}", "title": "Service Unavailable", "status": 503}
        return web.json_response(
            body, status=503, content_type="application/problem+json", headers={"Retry-After": "2"}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


async def test_a_database_outage_opens_the_breaker_but_load_shedding_does_not(
    gateway_for: Build, fake_upstream: Start
) -> None:
    """A service answering 503 database-unavailable is unwell: the breaker counts it, on proxied and composed
    reads alike. A 503 overloaded is a healthy service refusing a surplus: the breaker keeps calling it."""
    outage: dict[str, int] = {}
    shedding: dict[str, int] = {}
    down = await fake_upstream(problem_app("database-unavailable", outage))
    busy = await fake_upstream(problem_app("overloaded", shedding))
    client = await gateway_for(down, busy, BREAKER_FAILURE_THRESHOLD="3", BREAKER_RESET_SECONDS="30")
    for path in ("/api/products", "/api/products?limit=2", "/api/products?limit=5"):
        response = await client.get(path)
        assert response.status == 503 and response.headers["Retry-After"] == "2"
        assert (await response.json())["type"] == "urn:stockwiz:problem:database-unavailable"
    response = await client.get("/api/products")
    problem = await assert_problem(response, 503, "product-service")
    assert problem["type"] == "urn:stockwiz:problem:upstream-unavailable"
    assert sum(outage.values()) == 3  # the fourth was answered by the open breaker
    for _ in range(6):
        response = await client.get("/api/inventory")
        assert response.status == 503 and response.headers["Retry-After"] == "2"
        assert (await response.json())["type"] == "urn:stockwiz:problem:overloaded"
    assert shedding["/inventory"] == 6
    # The composed read is the inventory service's: its refusal is passed on, the breaker stays closed.
    response = await client.get("/api/products/1")
    assert response.status == 503 and (await response.json())["type"] == "urn:stockwiz:problem:overloaded"
    assert shedding["/inventory/product-view/1"] == 1
    metrics = await (await client.get("/metrics")).text()
    assert 'gateway_circuit_state{upstream="inventory-service"} 0.0' in metrics
    assert 'gateway_circuit_state{upstream="product-service"} 2.0' in metrics


def dropping_app(state: dict[str, int]) -> web.Application:
    """Drops the first two requests without answering (a service restarting), then answers. Two, because
    aiohttp itself retries an idempotent request once when a reused keep-alive connection was closed."""

    async def handler(request: web.Request) -> web.Response:
        state["hits"] += 1
        if state["hits"] <= 2:
            assert request.transport is not None
            request.transport.close()
            raise web.HTTPInternalServerError()
        return web.json_response({"id": 1}, status=201 if request.method == "POST" else 200)

    app = web.Application()
    app.router.add_route("*", "/inventory", handler)
    return app


async def test_connection_failures_are_retried_for_idempotent_requests(
    gateway_for: Build, fake_upstream: Start, no_listener: str
) -> None:
    state = {"hits": 0}
    url = await fake_upstream(dropping_app(state))
    client = await gateway_for(no_listener, url, UPSTREAM_RETRY_BACKOFF="0.01")
    response = await client.get("/api/inventory")
    assert response.status == 200 and state["hits"] == 3
    metrics = await (await client.get("/metrics")).text()
    assert 'gateway_upstream_retries_total{upstream="inventory-service"}' in metrics


async def test_a_post_is_retried_only_with_an_idempotency_key(
    gateway_for: Build, fake_upstream: Start, no_listener: str
) -> None:
    state = {"hits": 0}
    url = await fake_upstream(dropping_app(state))
    client = await gateway_for(no_listener, url, UPSTREAM_RETRY_BACKOFF="0.01")
    await assert_problem(await client.post("/api/inventory", json={}), 502, "inventory-service")
    assert state["hits"] == 1
    state["hits"] = 0
    response = await client.post("/api/inventory", json={}, headers={"Idempotency-Key": "k-1"})
    assert response.status == 201 and state["hits"] == 3


async def test_a_service_answering_garbage_is_a_502(
    gateway_for: Build, fake_upstream: Start, no_listener: str
) -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html>oops", content_type="text/html")

    app = web.Application()
    app.router.add_get("/products", garbage)
    app.router.add_get("/inventory/summary", garbage)
    app.router.add_get("/inventory/product-view/1", garbage)
    url = await fake_upstream(app)
    client = await gateway_for(url, url)
    for path in ("/api/products-full", "/api/products/1"):
        response = await client.get(path)
        assert response.status == 502, path
        assert (await response.json())["type"] == "urn:stockwiz:problem:upstream-bad-response"
