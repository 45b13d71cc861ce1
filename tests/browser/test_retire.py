"""Retiring products in the UI, with confirmations: deleting one whose stock is gone, being told by the row
when it still holds stock, archiving one with history (gone from the list, kept in "Archived only",
refusing new stock), restoring it. On desktop and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import create_product, open_product, record_movement, signed_in_page
from tests.gateway.conftest import Backends
from tests.support.processes import ServiceProcess


def product_row(page: Page, name: str) -> Locator:
    page.get_by_label("Search products").fill(name)
    row = page.locator("#products-body tr", has_text=name)
    expect(row).to_have_count(1)
    return row


def change_stock(page: Page, name: str, action: str, quantity: int, total: int) -> None:
    """On the product's page, `action` `quantity` units in Warehouse A; then back to the products list."""
    open_product(page, name)
    record_movement(page, action, "Warehouse A", quantity)
    expect(page.locator("#stock-total")).to_have_text(str(total))
    page.get_by_role("link", name="Products").first.click()


def confirm(page: Page, text: str, button: str) -> None:
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-text")).to_have_text(text)
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_be_hidden()


@pytest.mark.browser
def test_delete_when_empty_archive_with_history(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    page, watch = signed_in_page(browser, gateway, size)
    gone, kept = f"Old webcam {size}", f"Old keyboard {size}"
    create_product(page, gone, "9.99")
    create_product(page, kept, "19.99")
    expect(page.locator("#card-products")).to_have_text(re.compile(r"\d"))

    # A product with stock cannot be deleted: the row says why, by its buttons.
    change_stock(page, gone, "receive", 3, 3)
    row = product_row(page, gone)
    row.get_by_role("button", name="Delete").click()
    confirm(
        page,
        f"Delete “{gone}”? Its empty stock records (Warehouse A) go with it; their movement history stays "
        "readable. This cannot be undone.",
        "Delete",
    )
    error = row.locator(".row-error")
    expect(error).to_have_text(
        f"{gone} still holds 3 units (Warehouse A: 3); ship, transfer or count them to 0 before deleting it, "
        "or archive it"
    )
    expect(error).to_be_in_viewport()
    # A list reload that lands after the refusal (here a new sort order) redraws the row: the refusal stays.
    page.get_by_label("Sort by").select_option("-id")
    expect(page.locator("#products-body tr", has_text=gone).locator(".row-error")).to_contain_text(
        "still holds 3"
    )
    page.get_by_label("Sort by").select_option("id")

    # Once its stock is gone, it is deleted; Cancel first leaves it alone.
    change_stock(page, gone, "ship", 3, 0)
    products_before = int(page.locator("#card-products").inner_text())
    row = product_row(page, gone)
    row.get_by_role("button", name="Delete").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name="Delete").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#notice")).to_have_text(f"Deleted “{gone}”.")
    expect(page.locator("#products-body tr", has_text=gone)).to_have_count(0)
    expect(page.locator("#card-products")).to_have_text(str(products_before - 1))

    # A product with history is archived: it leaves the list, its page and history stay.
    change_stock(page, kept, "receive", 4, 4)
    row = product_row(page, kept)
    row.get_by_role("button", name="Archive").click()
    confirm(
        page,
        f"Archive “{kept}”? It leaves the product list and takes no new stock; its stock and history are "
        "kept. You can restore it from “Archived only”.",
        "Archive",
    )
    expect(page.locator("#notice")).to_have_text(f"Archived “{kept}”.")
    expect(page.locator("#products-body tr", has_text=kept)).to_have_count(0)
    expect(page.locator("#card-products")).to_have_text(str(products_before - 2))
    page.get_by_role("checkbox", name="Archived only").check()
    archived_row = page.locator("#products-body tr", has_text=kept)
    expect(archived_row).to_have_count(1)

    # Its page says it is archived; a receipt is refused by the form, a shipment still goes.
    archived_row.get_by_role("link", name=kept).click()
    expect(page.locator("#product-meta")).to_contain_text("Archived")
    record_movement(page, "receive", "Warehouse A", 1)
    refusal = f"{kept} is archived and takes no new stock; restore it first"
    expect(page.locator("#movement-error")).to_have_text(refusal)
    record_movement(page, "ship", "Warehouse A", 1)
    expect(page.locator("#stock-total")).to_have_text("3")
    # create (0), receive 4, ship 1: the refused receipt left nothing.
    expect(page.locator("#movements-body tr")).to_have_count(3)
    expect(page.locator("#movements-body tr").first).to_contain_text("Shipped")

    # Restored, it is back in the list.
    page.get_by_role("link", name="Products").first.click()
    page.get_by_label("Search products").fill(kept)
    page.locator("#products-body tr", has_text=kept).get_by_role("button", name="Restore").click()
    expect(page.locator("#notice")).to_have_text(f"Restored “{kept}”.")
    page.get_by_role("checkbox", name="Archived only").uncheck()
    expect(page.locator("#products-body tr", has_text=kept)).to_have_count(1)
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
