"""CSV imports through the gateway in front of the real services, on SQLite and PostgreSQL: a dry run
reports every bad row and writes nothing, a good file is written whole, an export goes back in unchanged,
and two imports at once do not interleave."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from stockwiz_runtime.csvimport import MAX_ROWS
from stockwiz_runtime.db import Database, normalize_database_url
from stockwiz_runtime.importlock import IMPORT_LOCK_KEY
from tests.gateway.conftest import API_TOKENS, READ, WRITE, Backends, GatewayClient

Build = Callable[..., Awaitable[GatewayClient]]
CSV = {**WRITE, "Content-Type": "text/csv"}
FORMULA = "=SUM(A1:A2)"


@pytest.fixture
async def gateway(gateway_for: Build, backends: Backends) -> GatewayClient:
    return await gateway_for(backends.products.url, backends.inventory.url, API_TOKENS=API_TOKENS)


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


async def send(gateway: GatewayClient, name: str, body: bytes, dry_run: bool) -> tuple[int, dict[str, Any]]:
    response = await gateway.post(
        f"/api/import/{name}.csv", params={"dry_run": str(dry_run).lower()}, data=body, headers=CSV
    )
    return response.status, dict(await response.json())


async def listed(gateway: GatewayClient, path: str) -> list[dict[str, Any]]:
    response = await gateway.get(path, params={"limit": "1000"}, headers=READ)
    assert response.status == 200
    return list(await response.json())


async def download(gateway: GatewayClient, name: str) -> bytes:
    response = await gateway.get(f"/api/export/{name}.csv", headers=READ)
    assert response.status == 200
    return await response.read()


GOOD_PRODUCTS = [
    ["sku", "name", "price", "category", "description"],
    ["LAP-1", "Laptop", "1,299.99", "Electronics", "13-inch"],
    ["MOU-1", "Mouse", "19.90", "", ""],
    ["FRM-1", "'" + FORMULA, "5", "'-5% off", "two\nlines"],
    ["", "No SKU", "2.50", "", ""],
]


async def test_a_dry_run_reports_every_bad_row_and_writes_nothing(gateway: GatewayClient) -> None:
    bad = as_csv(
        [
            ["sku", "name", "price", "archived"],
            ["OK-1", "Fine", "10", "false"],
            ["", "", "10", ""],
            ["BAD SKU", "", "ten", "maybe"],
            ["OK-1", "Again", "10", ""],
            ["OK-2", "Too many", "10", "false", "extra"],
        ]
    )
    for dry_run in (True, False):
        status, problem = await send(gateway, "products", bad, dry_run)
        assert status == 422, problem
        assert problem["type"] == "urn:stockwiz:problem:invalid-csv"
        assert problem["instance"] == "/api/import/products.csv"
        assert [(e["row"], e["column"]) for e in problem["row_errors"]] == [
            (3, "name"),
            (4, "archived"),
            (4, "name"),
            (4, "price"),
            (4, "sku"),
            (5, "sku"),
            (6, "row"),
        ]
        messages = {(e["row"], e["column"]): e["message"] for e in problem["row_errors"]}
        assert messages[(4, "price")] == "must be a price such as 12.50"
        assert messages[(5, "sku")] == "OK-1 is already in row 2"
        assert messages[(6, "row")] == "has 5 cells; the header has 4"
        assert problem["detail"].startswith("4 of 5 rows cannot be imported; nothing was imported")
    assert await listed(gateway, "/api/products") == []

    await send(gateway, "products", as_csv(GOOD_PRODUCTS), False)
    stock = as_csv(
        [
            ["sku", "warehouse", "quantity"],
            ["LAP-1", "Dock", "5"],
            ["NOPE", "Dock", "5"],
            ["MOU-1", "Dock", "-3"],
            ["LAP-1", "Dock", "6"],
        ]
    )
    status, problem = await send(gateway, "stock", stock, True)
    assert status == 422
    assert [(e["row"], e["column"], e["message"]) for e in problem["row_errors"]] == [
        (3, "sku", "no product has SKU NOPE; import the products first"),
        (4, "quantity", "must be a whole number of units, 0 or more"),
        (5, "warehouse", "Laptop in Dock is already in row 2"),
    ]
    assert await listed(gateway, "/api/inventory") == []


async def test_a_good_file_is_imported_whole_and_named_in_the_ledger(gateway: GatewayClient) -> None:
    status, report = await send(gateway, "products", as_csv(GOOD_PRODUCTS), True)
    assert (status, report) == (200, {"dry_run": True, "rows": 4, "created": 4, "updated": 0, "unchanged": 0})
    assert await listed(gateway, "/api/products") == []
    status, report = await send(gateway, "products", as_csv(GOOD_PRODUCTS), False)
    assert (status, report["created"]) == (200, 4)
    products = {p["sku"]: p for p in await listed(gateway, "/api/products")}
    assert products[None]["name"] == "No SKU"
    assert products["LAP-1"]["price"] == 1299.99 and products["LAP-1"]["description"] == "13-inch"
    # The export's protective apostrophe is gone: the shop's own text is stored.
    assert products["FRM-1"]["name"] == FORMULA and products["FRM-1"]["category"] == "-5% off"
    assert products["MOU-1"]["category"] is None

    stock = as_csv(
        [
            ["sku", "warehouse", "quantity", "reorder_point"],
            ["LAP-1", "Dock", "5", "2"],
            ["LAP-1", "Shop", "0", ""],
            ["MOU-1", "Dock", "1,200", "100"],
        ]
    )
    status, report = await send(gateway, "stock", stock, False)
    assert (status, report["created"], report["rows"]) == (200, 3, 3), report
    records = {(r["sku"], r["warehouse"]): r for r in await listed(gateway, "/api/inventory")}
    assert records[("MOU-1", "Dock")]["quantity"] == 1200
    assert records[("LAP-1", "Shop")]["reorder_point"] == 30  # the service's default
    movements = await listed(gateway, "/api/inventory/movements")
    assert {(m["reason"], m["note"], m["actor"]) for m in movements} == {("create", "CSV import", "writer")}

    # A second file sets quantities as a stock count; a row equal to the record changes nothing.
    recount = as_csv([["sku", "warehouse", "quantity"], ["LAP-1", "Dock", "3"], ["MOU-1", "Dock", "1200"]])
    status, report = await send(gateway, "stock", recount, False)
    assert (report["updated"], report["unchanged"]) == (1, 1)
    counts = await listed(gateway, "/api/inventory/movements?reason=count")
    assert [(m["delta"], m["quantity_after"]) for m in counts] == [(-2, 3)]


async def test_an_export_goes_back_in_unchanged_and_edited_rows_update(gateway: GatewayClient) -> None:
    await send(gateway, "products", as_csv(GOOD_PRODUCTS), False)
    await send(gateway, "stock", as_csv([["sku", "warehouse", "quantity"], ["LAP-1", "+Back", "4"]]), False)
    products_file, stock_file = await download(gateway, "products"), await download(gateway, "stock")
    assert "'" + FORMULA in products_file.decode()  # protected in the export
    status, report = await send(gateway, "products", products_file, False)
    # Every product comes back unchanged, the one without a SKU too (found by its id).
    assert (status, report["unchanged"], report["updated"]) == (200, 4, 0), report
    status, report = await send(gateway, "stock", stock_file, False)
    assert (status, report["unchanged"], report["updated"]) == (200, 1, 0), report

    text = products_file.decode().replace("Laptop", "Laptop Pro")
    text = text.replace("'" + FORMULA, "'" + FORMULA + "+1")
    status, report = await send(gateway, "products", text.encode(), False)
    assert (report["updated"], report["unchanged"]) == (2, 2)
    names = sorted(p["name"] for p in await listed(gateway, "/api/products"))
    assert names == sorted(["Laptop Pro", "Mouse", FORMULA + "+1", "No SKU"])
    # An id names its product even when the file gives it a new SKU; a SKU of another product is refused.
    by_sku = {p["sku"]: p for p in await listed(gateway, "/api/products")}
    renamed = as_csv(
        [
            ["id", "sku", "name", "price"],
            [str(by_sku["LAP-1"]["id"]), "LAP-2", "Laptop Pro", "1299.99"],
            [str(by_sku["MOU-1"]["id"]), "FRM-1", "Mouse", "19.90"],
        ]
    )
    status, problem = await send(gateway, "products", renamed, False)
    assert [(e["row"], e["column"], e["message"]) for e in problem["row_errors"]] == [
        (3, "sku", f"FRM-1 is the SKU of {FORMULA}+1 (id {by_sku['FRM-1']['id']})")
    ]
    renamed_only = as_csv(
        [["id", "sku", "name", "price"], [str(by_sku["LAP-1"]["id"]), "LAP-2", "Laptop Pro", "1299.99"]]
    )
    status, report = await send(gateway, "products", renamed_only, False)
    assert (status, report["updated"]) == (200, 1), report
    assert "LAP-2" in {p["sku"] for p in await listed(gateway, "/api/products")}
    assert len(await listed(gateway, "/api/inventory/movements")) == 1  # products import moves no stock


async def test_files_that_cannot_be_read_are_refused(gateway: GatewayClient) -> None:
    status, problem = await send(gateway, "products", b"sku,name,colour\r\n", True)
    assert status == 422
    assert [(e["row"], e["column"]) for e in problem["row_errors"]] == [(1, "colour"), (1, "price")]
    assert problem["row_errors"][0]["message"] == "is not a column of this import"
    status, problem = await send(gateway, "products", b"\xff\xfe\x00", True)
    assert problem["row_errors"][0]["message"] == "is not UTF-8 text; save it as CSV UTF-8"
    status, problem = await send(gateway, "stock", b"", True)
    assert status == 422
    many = as_csv([["sku", "name", "price"]] + [[f"S{n}", "x", "1"] for n in range(MAX_ROWS + 1)])
    status, problem = await send(gateway, "products", many, True)
    assert (status, problem["type"]) == (413, "urn:stockwiz:problem:too-many-rows")
    json = await gateway.post("/api/import/products.csv", json={"sku": "x"}, headers=WRITE)
    assert json.status == 415
    read_only = await gateway.post(
        "/api/import/products.csv", data=b"sku,name,price\r\n", headers={**READ, "Content-Type": "text/csv"}
    )
    assert read_only.status == 403
    assert (await gateway.post("/api/import/nothing.csv", data=b"", headers=CSV)).status == 404
    assert await listed(gateway, "/api/products") == []


async def test_two_imports_at_once_do_not_interleave(gateway: GatewayClient, backends: Backends) -> None:
    rows = as_csv([["sku", "name", "price"]] + [[f"S-{n}", f"Item {n}", "1"] for n in range(300)])
    outcomes = await asyncio.gather(*(send(gateway, "products", rows, False) for _ in range(2)))
    statuses = sorted(status for status, _ in outcomes)
    reports = [body for status, body in outcomes if status == 200]
    # One creates every product; the other ran wholly after it (nothing left to create) or was told that
    # an import was running (PostgreSQL) -- never half of each.
    assert sorted((r["created"], r["unchanged"]) for r in reports) in ([(0, 300), (300, 0)], [(300, 0)])
    if statuses == [200, 409]:
        refused = next(body for status, body in outcomes if status == 409)
        assert refused["type"] == "urn:stockwiz:problem:import-in-progress"
    assert len(await listed(gateway, "/api/products")) == 300

    db = Database(normalize_database_url(backends.database_url))
    try:
        if db.is_postgres:
            # While another import holds the lock, an import is refused at once and writes nothing.
            async with db.write() as conn:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(IMPORT_LOCK_KEY)))
                status, problem = await send(gateway, "products", as_csv(GOOD_PRODUCTS), False)
                assert (status, problem["type"]) == (409, "urn:stockwiz:problem:import-in-progress")
            assert len(await listed(gateway, "/api/products")) == 300
    finally:
        await db.dispose()


async def test_an_archived_product_takes_no_imported_stock(gateway: GatewayClient) -> None:
    await send(gateway, "products", as_csv(GOOD_PRODUCTS), False)
    await send(gateway, "stock", as_csv([["sku", "warehouse", "quantity"], ["MOU-1", "Dock", "4"]]), False)
    mouse = next(p for p in await listed(gateway, "/api/products") if p["sku"] == "MOU-1")
    archived = await gateway.put(f"/api/products/{mouse['id']}", json={"archived": True}, headers=WRITE)
    assert archived.status == 200
    more = as_csv([["sku", "warehouse", "quantity"], ["MOU-1", "Dock", "9"], ["MOU-1", "Shop", "1"]])
    status, problem = await send(gateway, "stock", more, True)
    assert status == 422
    assert [(e["row"], e["column"]) for e in problem["row_errors"]] == [(2, "quantity"), (3, "quantity")]
    assert problem["row_errors"][0]["message"] == "Mouse is archived and takes no new stock; restore it first"
    # Counting it down is allowed: a shop may still correct what an archived product holds.
    fewer = as_csv([["sku", "warehouse", "quantity"], ["MOU-1", "Dock", "1"]])
    status, report = await send(gateway, "stock", fewer, False)
    assert (status, report["updated"]) == (200, 1)


async def test_the_largest_files_import_in_one_go(gateway: GatewayClient) -> None:
    """5,000 products, then 5,000 stock records and their movements: within the request deadline, and past
    SQLite's limit of bound parameters per statement."""
    products = as_csv([["sku", "name", "price"]] + [[f"BULK-{n}", f"Bulk {n}", "1"] for n in range(MAX_ROWS)])
    status, report = await send(gateway, "products", products, False)
    assert (status, report["created"]) == (200, MAX_ROWS), report
    renamed = products.replace(b",Bulk ", b",Bulk item ")
    status, report = await send(gateway, "products", renamed, False)
    assert (status, report["updated"]) == (200, MAX_ROWS), report
    stock = as_csv(
        [["sku", "warehouse", "quantity"]] + [[f"BULK-{n}", "Dock", str(n)] for n in range(MAX_ROWS)]
    )
    status, report = await send(gateway, "stock", stock, False)
    assert (status, report["created"]) == (200, MAX_ROWS), report
    recount = as_csv(
        [["sku", "warehouse", "quantity"]] + [[f"BULK-{n}", "Dock", "7"] for n in range(MAX_ROWS)]
    )
    status, report = await send(gateway, "stock", recount, False)
    assert (status, report["updated"], report["unchanged"]) == (200, MAX_ROWS - 1, 1), report
    response = await gateway.get("/api/inventory/movements", params={"limit": "1"}, headers=READ)
    assert response.headers["X-Total-Count"] == str(2 * MAX_ROWS - 1)


async def test_stock_goes_only_into_warehouses_that_exist_and_take_stock(gateway: GatewayClient) -> None:
    await send(gateway, "products", as_csv(GOOD_PRODUCTS), False)
    created = await gateway.post("/api/warehouses", json={"name": "Closed"}, headers=WRITE)
    assert created.status == 201
    closed = await created.json()
    archived = await gateway.put(
        f"/api/warehouses/{closed['id']}", json={"archived": True}, headers={**WRITE, "If-Match": '"1"'}
    )
    assert archived.status == 200, await archived.text()
    stock = as_csv(
        [
            ["sku", "warehouse", "quantity"],
            ["LAP-1", "Nowhere", "5"],
            ["LAP-1", "Closed", "5"],
            ["MOU-1", "closed", "0"],  # no new units: an archived warehouse may hold an empty record
        ]
    )
    status, problem = await send(gateway, "stock", stock, True)
    assert status == 422
    assert [(e["row"], e["column"], e["message"]) for e in problem["row_errors"]] == [
        (2, "warehouse", "no warehouse called Nowhere; create it first"),
        (3, "warehouse", "Closed is archived and takes no new stock; restore it first"),
    ]
    assert await listed(gateway, "/api/inventory") == []

    # A name in another case means the warehouse that exists: the record gets its stored name.
    status, report = await send(
        gateway, "stock", as_csv([["sku", "warehouse", "quantity"], ["LAP-1", "dOCK", "2"]]), False
    )
    assert (status, report["created"]) == (200, 1), report
    assert [r["warehouse"] for r in await listed(gateway, "/api/inventory")] == ["Dock"]


async def test_cost_prices_go_in_and_come_back_out_unchanged(gateway: GatewayClient) -> None:
    rows = [
        ["sku", "name", "price", "cost_price"],
        ["LAP-1", "Laptop", "1299.99", "850.10"],
        ["MOU-1", "Mouse", "19.90", ""],
    ]
    status, report = await send(gateway, "products", as_csv(rows), False)
    assert (status, report["created"]) == (200, 2), report
    products = {p["sku"]: p for p in await listed(gateway, "/api/products")}
    assert products["LAP-1"]["cost_price"] == 850.10 and products["MOU-1"]["cost_price"] is None
    exported = await download(gateway, "products")
    assert "cost_price" in next(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    status, report = await send(gateway, "products", exported, True)
    assert (status, report["updated"], report["unchanged"]) == (200, 0, 2), report
    # A blank cell clears a cost price; a new one sets it.
    cleared = [
        ["sku", "name", "price", "cost_price"],
        ["LAP-1", "Laptop", "1299.99", ""],
        ["MOU-1", "Mouse", "19.90", "7"],
    ]
    status, report = await send(gateway, "products", as_csv(cleared), False)
    assert (status, report["updated"]) == (200, 2), report
    products = {p["sku"]: p for p in await listed(gateway, "/api/products")}
    assert products["LAP-1"]["cost_price"] is None and products["MOU-1"]["cost_price"] == 7
