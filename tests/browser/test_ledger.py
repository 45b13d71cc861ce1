"""The ledger in the web UI, on desktop and on a phone: the shop-wide movement log with its filters,
human reason labels and who made each change; CSV import with a dry run that shows every bad row before
anything is written; an export imported back unchanged; the low-stock count in the navigation following
every change without a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import signed_in_page, stocked_product, transfer_stock
from tests.gateway.conftest import Backends
from tests.support.processes import ServiceProcess


def nav_low(page: Page) -> int:
    badge = page.locator("#nav-low")
    expect(page.locator("#card-low")).to_have_text(re.compile(r"^\d+$"))
    return int(page.locator("#card-low").inner_text()) if badge.is_hidden() else int(badge.inner_text())


def no_sideways_scrolling(page: Page, size: str) -> None:
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


def upload(page: Page, kind: str, name: str, content: bytes) -> None:
    form = page.locator("#import-form")
    form.get_by_label("What").select_option(kind)
    form.get_by_label("CSV file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": content})
    form.get_by_role("button", name="Check file").click()


@pytest.mark.browser
def test_the_movement_log_filters_and_names_who(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    page, watch = signed_in_page(browser, gateway, size)
    name = f"Log lamp {size}"
    stocked_product(page, name, "12.00", "Dock", 60)
    before = nav_low(page)
    transfer_stock(page, "Dock", f"Shelf {size}", 5)
    expect(page.locator("#stock-body tr", has_text=f"Shelf {size}")).to_contain_text("5")
    # The new shelf record is low (5 <= 30): the count in the navigation follows without a reload.
    expect(page.locator("#nav-low")).to_have_text(str(before + 1))
    # The product's own history speaks the shop's words and names the token.
    history = page.locator("#movements-body tr").first
    expect(history).to_contain_text("Transfer in")
    expect(history).to_contain_text("writer")

    page.get_by_role("link", name="Movements").click()
    rows = page.locator("#log-body tr")
    expect(rows.first).to_contain_text(name)
    filters = page.locator("#log-filters")
    filters.get_by_label("Product", exact=True).select_option(label=name)
    filters.get_by_label("Reason", exact=True).select_option(label="Transfer out")
    filters.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Transfer out")
    expect(rows.first.locator("td").nth(4)).to_have_text("-5")
    expect(rows.first).to_contain_text("writer")
    filters.get_by_label("Reason", exact=True).select_option("")
    filters.get_by_label("Who", exact=True).fill("nobody")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#log-state")).to_have_text("No movement matches these filters.")
    filters.get_by_label("Who", exact=True).fill("writer")
    filters.get_by_label("From", exact=True).fill("2000-01-01")
    filters.get_by_label("To", exact=True).fill("2000-01-02")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#log-state")).to_have_text("No movement matches these filters.")
    filters.get_by_role("button", name="Clear").click()
    expect(rows.first).to_contain_text(name)

    # Paging: 21 more shipments of this product make two pages of its 26 movements, newest first.
    record_id = page.evaluate(
        """async (name) => {
            const headers = {Authorization: `Bearer ${sessionStorage.getItem('stockwiz.token')}`,
                             'Content-Type': 'application/json'};
            const records = await (await fetch('/api/inventory?limit=1000', {headers})).json();
            const dock = records.find((r) => r.product_name === name && r.warehouse === 'Dock');
            for (let n = 0; n < 21; n += 1) {
                await fetch(`/api/inventory/${dock.id}/adjust`, {method: 'POST', headers,
                    body: JSON.stringify({delta: -1, reason: 'ship'})});
            }
            return dock.id;
        }""",
        name,
    )
    assert record_id
    filters.get_by_label("Product", exact=True).select_option(label=name)
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#log-range")).to_have_text("1\u201320 of 26")
    expect(rows.first.locator("td").nth(5)).to_have_text("34")  # the last shipment: 55 - 21
    page.get_by_role("button", name="Older").click()
    expect(page.locator("#log-range")).to_have_text("21\u201326 of 26")
    expect(rows.last).to_contain_text("New stock record")
    no_sideways_scrolling(page, size)
    assert watch.errors == [] and watch.dialogs == []


@pytest.mark.browser
def test_import_dry_run_round_trip_and_live_low_count(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    page, watch = signed_in_page(browser, gateway, size)
    page.get_by_role("link", name="Import & export").click()
    before = nav_low(page)

    # A file with bad rows: every one is shown, and nothing can be imported.
    bad = f"sku,name,price\r\nIMP-{size}-1,Good,5\r\nIMP-{size}-2,,5\r\nIMP-{size}-3,,ten\r\n".encode()
    upload(page, "products", "bad.csv", bad)
    table = page.locator("#import-errors")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("must be a price such as 12.50")
    expect(page.locator("#import-error")).to_contain_text("2 of 3 rows cannot be imported")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    no_sideways_scrolling(page, size)

    # A good file: checked first (nothing written), then imported.
    good = f"sku,name,price,category\r\nIMP-{size}-1,Imported {size},5,Imports\r\n".encode()
    upload(page, "products", "good.csv", good)
    expect(page.locator("#import-summary")).to_contain_text("The file is fine: 1 row (1 new")
    expect(table).to_be_hidden()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-summary")).to_have_text("Imported 1 row: 1 new, 0 updated, 0 unchanged.")

    # Opening stock below the reorder point: the low-stock count in the navigation follows at once.
    upload(page, "stock", "stock.csv", f"sku,warehouse,quantity\r\nIMP-{size}-1,Dock,3\r\n".encode())
    expect(page.locator("#import-summary")).to_contain_text("1 new")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#nav-low")).to_have_text(str(before + 1))

    # Round trip: the products export goes back in unchanged.
    with page.expect_download() as download:
        page.locator("[data-export=products]").click()
    exported = Path(download.value.path()).read_bytes()
    assert f"Imported {size}".encode() in exported
    upload(page, "products", "export.csv", exported)
    unchanged = re.compile(r"\(0 new, 0 updated, \d+ unchanged\)")
    expect(page.locator("#import-summary")).to_contain_text(unchanged)
    no_sideways_scrolling(page, size)
    assert watch.errors == [] and watch.dialogs == []
