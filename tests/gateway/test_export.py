"""CSV exports through the gateway in front of the real services: the same rows as the API, in pages,
safe to open in a spreadsheet, refused cleanly when asked for something that is not there."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway import export
from tests.gateway.conftest import API_TOKENS, READ, WRITE, Backends, GatewayClient

Build = Callable[..., Awaitable[GatewayClient]]
FORMULA = '=HYPERLINK("http://evil.example","click")'
AWKWARD = 'Comma, "quoted"'
MULTILINE = "two lines:\nÿ€ 倉庫"


@pytest.fixture
async def gateway(gateway_for: Build, backends: Backends, monkeypatch: pytest.MonkeyPatch) -> GatewayClient:
    # Pages of two: every export below crosses several pages.
    monkeypatch.setattr(export, "PAGE_SIZE", 2)
    return await gateway_for(backends.products.url, backends.inventory.url, API_TOKENS=API_TOKENS)


async def post(client: GatewayClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=WRITE)
    assert response.status in (200, 201), await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def api_list(client: GatewayClient, path: str) -> list[dict[str, Any]]:
    response = await client.get(path, params={"limit": "1000"}, headers=READ)
    assert response.status == 200
    data: list[dict[str, Any]] = await response.json()
    return data


async def download(client: GatewayClient, name: str, **params: str) -> list[list[str]]:
    response = await client.get(f"/api/export/{name}.csv", params=params, headers=READ)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="stockwiz-{name}-')
    text = (await response.read()).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def as_cells(item: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    return ["" if item[c] is None else str(item[c]) for c in columns]


async def test_exports_hold_the_same_rows_as_the_api(gateway: GatewayClient) -> None:
    plain = await post(gateway, "/api/products", {"name": "Widget", "price": 9.99, "sku": "W-1"})
    formula = await post(gateway, "/api/products", {"name": FORMULA, "price": 1, "category": "-5% off"})
    awkward = await post(
        gateway, "/api/products", {"name": AWKWARD, "price": 99999999.99, "description": MULTILINE}
    )
    record = await post(
        gateway, "/api/inventory", {"product_id": plain["id"], "warehouse": "Dock", "quantity": 5}
    )
    await post(
        gateway, "/api/inventory", {"product_id": formula["id"], "warehouse": "+Backroom", "quantity": 1}
    )
    await post(gateway, "/api/inventory", {"product_id": awkward["id"], "warehouse": "Dock", "quantity": 7})
    for delta in (-1, -2, 3):
        reason = "receive" if delta > 0 else "ship"
        await post(
            gateway,
            f"/api/inventory/{record['id']}/adjust",
            {"delta": delta, "reason": reason, "note": "@note"},
        )

    products = await download(gateway, "products")
    assert products[0] == list(export.EXPORTS["products"].columns)
    assert [row[0] for row in products[1:]] == [str(p["id"]) for p in (plain, formula, awkward)]
    assert products[1][:6] == [str(plain["id"]), "W-1", "Widget", "", "9.99", ""]  # no cost price yet
    assert products[2][2] == "'" + FORMULA and products[2][3] == "'-5% off"  # shown as text, never run
    assert products[3][2] == AWKWARD and products[3][4] == "99999999.99" and products[3][6] == MULTILINE

    stock = await download(gateway, "stock")
    listed = await api_list(gateway, "/api/inventory")
    columns = export.EXPORTS["stock"].columns
    expected = [as_cells(item, columns) for item in listed]
    expected[1][columns.index("product_name")] = "'" + FORMULA
    expected[1][columns.index("warehouse")] = "'+Backroom"
    assert stock == [list(columns), *expected]
    assert len(stock) == 4  # two full pages of two, then an empty one

    movements = await download(gateway, "movements")
    ledger = await api_list(gateway, "/api/inventory/movements")
    assert [row[0] for row in movements[1:]] == [str(m["id"]) for m in ledger]  # newest first, every one
    assert len(ledger) == 6
    notes = [row[export.EXPORTS["movements"].columns.index("note")] for row in movements[1:]]
    assert notes[:3] == ["'@note"] * 3

    only_dock = await download(gateway, "stock", warehouse="Dock")
    assert {row[columns.index("warehouse")] for row in only_dock[1:]} == {"Dock"}
    ships = await download(gateway, "movements", reason="ship", product_id=str(plain["id"]))
    assert [row[export.EXPORTS["movements"].columns.index("delta")] for row in ships[1:]] == ["-2", "-1"]


async def test_exports_are_refused_cleanly(gateway: GatewayClient) -> None:
    assert (await gateway.get("/api/export/products.csv")).status == 401  # tokens are on
    unknown = await gateway.get("/api/export/customers.csv", headers=READ)
    assert unknown.status == 404 and unknown.content_type == "application/problem+json"
    bad_filter = await gateway.get("/api/export/stock.csv", params={"colour": "red"}, headers=READ)
    assert bad_filter.status == 422
    assert [e["field"] for e in (await bad_filter.json())["errors"]] == ["colour"]
    # The service validates the filters it knows; its problem is the answer, with the public path.
    bad_reason = await gateway.get("/api/export/movements.csv", params={"reason": "theft"}, headers=READ)
    assert bad_reason.status == 422 and bad_reason.content_type == "application/problem+json"
    assert (await bad_reason.json())["instance"] == "/api/export/movements.csv"


def test_a_page_that_repeats_rows_already_written_adds_nothing() -> None:
    # New movements recorded during an export push older ones down a page: the repeats are dropped.
    ledger = export.EXPORTS["movements"]
    assert export.new_items(ledger, [{"id": 9}, {"id": 8}, {"id": 7}], last_id=8) == [{"id": 7}]
    catalogue = export.EXPORTS["products"]
    assert export.new_items(catalogue, [{"id": 3}, {"id": 4}], last_id=3) == [{"id": 4}]
    assert export.new_items(catalogue, [{"id": 1}], last_id=None) == [{"id": 1}]
