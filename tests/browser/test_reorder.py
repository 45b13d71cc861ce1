"""Reorder point and quantity per stock record, edited in the UI; the low-stock card, the level badges and
the products table follow every change (an edit, a movement, a transfer) without a reload. On desktop
and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import record_movement, signed_in_page, stocked_product, transfer_stock
from tests.gateway.conftest import Backends
from tests.support.processes import ServiceProcess


def low_count(page: Page) -> int:
    expect(page.locator("#card-low")).to_have_text(re.compile(r"^\d+$"))
    return int(page.locator("#card-low").inner_text())


@pytest.mark.browser
def test_reorder_settings_and_live_counts(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    page, watch = signed_in_page(browser, gateway, size)
    name = f"Desk lamp {size}"
    stocked_product(page, name, "24.90", "Warehouse A", 40)
    row = page.locator("#stock-body tr", has_text="Warehouse A")
    expect(row).to_contain_text("Medium")
    before = low_count(page)

    # Raise the reorder point above the quantity: the record turns low, and the card counts it at once.
    row.get_by_role("button", name="Reorder settings for Warehouse A").click()
    dialog = page.locator("#reorder-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Reorder point")).to_have_value("30")
    expect(dialog.get_by_label("Reorder quantity")).to_have_value("0")
    dialog.get_by_label("Reorder point").fill("-1")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator('.field-error[data-field="reorder_point"]')).not_to_be_empty()
    expect(dialog.locator("#reorder-error")).to_have_text("Please correct the marked fields.")
    dialog.get_by_label("Reorder point").fill("45")
    dialog.get_by_label("Reorder quantity").fill("100")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    cells = row.locator("td")
    expect(cells.nth(2)).to_have_text("45")
    expect(cells.nth(3)).to_have_text("100")
    expect(row).to_contain_text("Low")
    expect(page.locator("#card-low")).to_have_text(str(before + 1))

    # A transfer to a new warehouse makes a record at the default reorder point: low too, counted at once.
    transfer_stock(page, "Warehouse A", "Warehouse B", 10)
    expect(page.locator("#stock-body tr", has_text="Warehouse B")).to_contain_text("10")
    expect(page.locator("#card-low")).to_have_text(str(before + 2))

    # Receiving lifts Warehouse A above its reorder point again.
    record_movement(page, "receive", "Warehouse A", 50)
    expect(cells.nth(1)).to_have_text("80")
    expect(page.locator("#card-low")).to_have_text(str(before + 1))

    # A stale edit (someone changed the record meanwhile) is refused in the dialog, which then has the
    # current version, so the next save goes through.
    row.get_by_role("button", name="Reorder settings for Warehouse A").click()
    record_id = row.get_attribute("data-record-id")
    changed = page.evaluate(
        """async (id) => {
            const token = sessionStorage.getItem('stockwiz.token');
            const response = await fetch(`/api/inventory/${id}`, {
                method: 'PUT',
                headers: {'Content-Type': 'application/json', Authorization: `Bearer ${token}`},
                body: JSON.stringify({reorder_quantity: 7}),
            });
            return response.status;
        }""",
        record_id,
    )
    assert changed == 200
    dialog.get_by_label("Reorder point").fill("90")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#reorder-error")).to_contain_text("Someone changed this meanwhile")
    expect(cells.nth(3)).to_have_text("7")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(cells.nth(2)).to_have_text("90")
    expect(page.locator("#card-low")).to_have_text(str(before + 2))

    # The low-stock view shows both settings, and the products table the level.
    page.get_by_role("link", name="Low stock").click()
    low_row = page.locator("#low-body tr", has_text=name).filter(has_text="Warehouse A")
    expect(low_row.locator("td").nth(3)).to_have_text("90")
    expect(low_row.locator("td").nth(4)).to_have_text("100")
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
