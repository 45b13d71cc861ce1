"""Warehouses, the stock value and the shop's settings through the gateway, in front of the real services:
the /api/warehouses and /api/stock-value routes are the inventory service's, proxied with the gateway's
guard; /api/settings is the gateway's own (CURRENCY)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.config import GatewayConfig
from stockwiz_runtime.config import ConfigError, load_config
from tests.gateway.conftest import API_TOKENS, READ, WRITE, Backends, GatewayClient

Build = Callable[..., Awaitable[GatewayClient]]


@pytest.fixture
async def gateway(gateway_for: Build, shared_backends: Backends) -> GatewayClient:
    return await gateway_for(
        shared_backends.products.url, shared_backends.inventory.url, API_TOKENS=API_TOKENS
    )


async def test_settings_give_the_currency_read_only(gateway_for: Build, shared_backends: Backends) -> None:
    default = await gateway_for(
        shared_backends.products.url, shared_backends.inventory.url, API_TOKENS=API_TOKENS
    )
    assert (await default.get("/api/settings")).status == 401
    response = await default.get("/api/settings", headers=READ)
    assert response.status == 200 and await response.json() == {"currency": "USD"}
    assert (await default.put("/api/settings", json={"currency": "EUR"}, headers=WRITE)).status == 405
    euros = await gateway_for(shared_backends.products.url, shared_backends.inventory.url, CURRENCY=" eur ")
    assert await (await euros.get("/api/settings")).json() == {"currency": "EUR"}


@pytest.mark.parametrize("value", ["EURO", "XYZ", "US$", "XAU", "1US"])
def test_a_currency_that_is_not_iso_4217_stops_the_gateway(value: str) -> None:
    with pytest.raises(ConfigError, match="CURRENCY") as error:
        load_config(GatewayConfig, {"CURRENCY": value})
    assert "ISO 4217" in str(error.value)
    # empty counts as unset, as for every setting
    assert load_config(GatewayConfig, {"CURRENCY": ""}).currency == "USD"


async def test_warehouses_are_proxied_with_the_guard_and_public_problems(gateway: GatewayClient) -> None:
    assert (await gateway.get("/api/warehouses")).status == 401
    refused = await gateway.post("/api/warehouses", json={"name": "Read only"}, headers=READ)
    assert refused.status == 403
    created = await gateway.post("/api/warehouses", json={"name": "Gateway hall"}, headers=WRITE)
    assert created.status == 201, await created.text()
    warehouse = await created.json()
    assert created.headers["Location"] == f"/api/warehouses/{warehouse['id']}"
    listed = await (await gateway.get("/api/warehouses", headers=READ)).json()
    assert "Gateway hall" in [w["name"] for w in listed]
    path = f"/api/warehouses/{warehouse['id']}"
    duplicate = await gateway.post("/api/warehouses", json={"name": "GATEWAY HALL"}, headers=WRITE)
    assert duplicate.status == 409 and duplicate.content_type == "application/problem+json"
    problem = await duplicate.json()
    assert problem["type"] == "urn:stockwiz:problem:duplicate-warehouse"
    assert problem["instance"] == "/api/warehouses"  # the public path, not the service's
    renamed = await gateway.put(path, json={"name": "Gateway hall 2"}, headers={**WRITE, "If-Match": '"1"'})
    assert renamed.status == 200 and renamed.headers["ETag"] == '"2"'
    assert (await (await gateway.get(path, headers=READ)).json())["name"] == "Gateway hall 2"

    product = await (
        await gateway.post("/api/products", json={"name": "Crate", "price": 5}, headers=WRITE)
    ).json()
    stock = {"product_id": product["id"], "warehouse": "Nowhere at all", "quantity": 1}
    unknown = await gateway.post("/api/inventory", json=stock, headers=WRITE)
    assert unknown.status == 422
    assert (await unknown.json())["type"] == "urn:stockwiz:problem:unknown-warehouse"


async def test_stock_value_through_the_gateway(gateway: GatewayClient) -> None:
    hall = await (await gateway.post("/api/warehouses", json={"name": "Value hall"}, headers=WRITE)).json()
    body = {"name": "Valued", "price": 30, "cost_price": 12.34}
    product = await (await gateway.post("/api/products", json=body, headers=WRITE)).json()
    assert product["cost_price"] == 12.34
    stock = {"product_id": product["id"], "warehouse": "Value hall", "quantity": 10}
    assert (await gateway.post("/api/inventory", json=stock, headers=WRITE)).status == 201
    response = await gateway.get("/api/stock-value", headers=READ)
    assert response.status == 200
    value = await response.json()
    [row] = [w for w in value["warehouses"] if w["id"] == hall["id"]]
    assert row == {
        "id": hall["id"],
        "name": "Value hall",
        "units": 10,
        "value": "123.40",
        "unpriced_units": 0,
        "unpriced_products": 0,
    }
    assert set(value["total"]) == {"units", "value", "unpriced_units", "unpriced_products"}
    assert (await gateway.post("/api/stock-value", headers=WRITE)).status == 405


async def test_the_public_document_has_the_new_routes(gateway: GatewayClient) -> None:
    for _ in range(50):
        document: dict[str, Any] = await (await gateway.get("/openapi.json")).json()
        if len(document["x-stockwiz-services"]) == 2:
            break
        await asyncio.sleep(0.1)
    paths = document["paths"]
    assert paths["/api/warehouses"]["post"]["operationId"] == "createWarehouse"
    assert paths["/api/warehouses/{id}"]["put"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/stock-value"]["get"]["operationId"] == "getStockValue"
    assert paths["/api/settings"]["get"]["operationId"] == "getSettings"
    assert "cost_price" in document["components"]["schemas"]["Product"]["required"]
    assert "/warehouses" not in paths and "/stock-value" not in paths
