"""Warehouses in the UI: created, refused under another case, picked (not typed) where stock is received and
transferred, archive refused while stock remains and allowed once it is gone, renamed with the stock
following; the cost price on the product form and the stock value card, updated after each change without
a reload. On desktop and on a 390 px phone, with no horizontal scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import (
    SCREENSHOTS,
    VIEWPORTS,
    open_product,
    record_movement,
    signed_in_page,
    transfer_stock,
)
from tests.gateway.conftest import Backends
from tests.support.processes import ServiceProcess


def open_warehouses(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Warehouses").click()
    expect(page.locator("#view-warehouses")).to_be_visible()


def create_warehouse(page: Page, name: str) -> None:
    form = page.locator("#warehouse-form")
    form.get_by_label("New warehouse").fill(name)
    form.get_by_role("button", name="Create warehouse").click()


def warehouse_row(page: Page, name: str) -> Locator:
    return page.locator("#warehouses-body tr").filter(
        has=page.locator("td:first-child", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def value_row(page: Page, name: str) -> Locator:
    return page.locator("#value-body tr").filter(has=page.locator("td:first-child", has_text=name))


def picker_options(page: Page, picker: str) -> list[str]:
    return [text.strip() for text in page.locator(f"{picker} option").all_text_contents()]


def set_cost_price(page: Page, product: str, cost: str) -> None:
    page.get_by_role("link", name="Products").first.click()
    page.get_by_label("Search products").fill(product)
    page.locator("#products-body tr", has_text=product).get_by_role("button", name="Edit").click()
    dialog = page.locator("#product-dialog")
    expect(dialog.get_by_label("Name")).to_have_value(product)
    dialog.get_by_label("Cost price").fill(cost)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()


@pytest.mark.browser
def test_warehouses_pickers_and_stock_value(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    width = int(VIEWPORTS[size]["viewport"]["width"])  # type: ignore[index]
    page, watch = signed_in_page(browser, gateway, size)
    north, south, renamed = f"North {size}", f"South {size}", f"North hall {size}"
    product = f"Lantern {size}"

    # Create two warehouses; the same name in another case is refused next to the form.
    open_warehouses(page)
    create_warehouse(page, north)
    expect(page.locator("#notice")).to_have_text(f"Created warehouse “{north}”.")
    expect(warehouse_row(page, north)).to_contain_text("Active")
    create_warehouse(page, south)
    expect(warehouse_row(page, south)).to_have_count(1)
    create_warehouse(page, north.upper())
    error = page.locator("#warehouse-form-error")
    expect(error).to_have_text(
        f"There is already a warehouse called {north}; warehouse names are unique whatever their case"
    )
    expect(error).to_be_in_viewport()
    expect(warehouse_row(page, north.upper())).to_have_count(0)
    expect(page.locator("#warehouses-body tr", has_text=north)).to_have_count(1)  # any case
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width

    # A product with a cost price; its stock is received into a warehouse picked from the list.
    page.get_by_role("link", name="Products").first.click()
    page.get_by_role("button", name="New product").click()
    dialog = page.locator("#product-dialog")
    dialog.get_by_label("Name").fill(product)
    dialog.get_by_label("Price", exact=True).fill("9.00")
    dialog.get_by_label("Cost price").fill("2.50")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    open_product(page, product)
    expect(page.locator("#product-meta")).to_contain_text("2.50")
    assert {north, south} <= set(picker_options(page, "#movement-warehouse"))
    record_movement(page, "receive", north, 4)
    expect(page.locator("#stock-total")).to_have_text("4")
    # The card shows the new total at once (other tests' stock is in it too: only its change is checked).
    expect(page.locator("#card-value")).to_contain_text(re.compile(r"\d"))

    # The stock value card of the Warehouses view: 4 x 2.50 in the North warehouse.
    open_warehouses(page)
    expect(page.locator("#warehouse-form-error")).to_have_text("")  # the earlier refusal is not kept
    expect(value_row(page, north)).to_contain_text("10.00")
    expect(page.locator("#value-currency")).to_have_text("USD")

    # Archiving is refused while it holds stock, in the warehouse's row.
    warehouse_row(page, north).get_by_role("button", name=f"Archive {north}").click()
    row_error = warehouse_row(page, north).locator(".row-error")
    expect(row_error).to_have_text(
        f"{north} still holds 4 units; transfer, ship or count them to 0 before archiving it"
    )
    expect(row_error).to_be_in_viewport()

    # A rename: the stock follows it, in the list, the value card and the product's page.
    warehouse_row(page, north).get_by_role("button", name=f"Rename {north}").click()
    rename = page.locator("#rename-dialog")
    expect(rename.get_by_label("Name")).to_have_value(north)
    rename.get_by_label("Name").fill(south.lower())
    rename.get_by_role("button", name="Rename").click()
    expect(rename.locator("#rename-error")).to_contain_text(f"There is already a warehouse called {south}")
    rename.get_by_label("Name").fill(renamed)
    rename.get_by_role("button", name="Rename").click()
    expect(rename).to_be_hidden()
    expect(page.locator("#notice")).to_have_text(f"Renamed “{north}” to “{renamed}”.")
    expect(warehouse_row(page, renamed)).to_contain_text("4")
    expect(warehouse_row(page, north)).to_have_count(0)
    expect(value_row(page, renamed)).to_contain_text("10.00")

    # Transfer everything out (both ends picked), then archiving is allowed and the pickers drop it.
    page.get_by_role("link", name="Products").first.click()
    open_product(page, product)
    expect(page.locator("#stock-body tr", has_text=renamed)).to_contain_text("4")
    transfer_stock(page, renamed, south, 4)
    expect(page.locator("#stock-body tr", has_text=south)).to_contain_text("4")
    open_warehouses(page)
    expect(warehouse_row(page, renamed).locator("td.num")).to_have_text("0")
    warehouse_row(page, renamed).get_by_role("button", name=f"Archive {renamed}").click()
    expect(page.locator("#notice")).to_have_text(f"Archived warehouse “{renamed}”.")
    expect(warehouse_row(page, renamed)).to_contain_text("Archived")
    expect(warehouse_row(page, renamed).locator(".row-error")).to_have_text("")
    expect(value_row(page, renamed)).to_have_count(0)
    expect(value_row(page, south)).to_contain_text("10.00")
    assert renamed not in picker_options(page, "#movement-warehouse")
    assert renamed not in picker_options(page, "#transfer-to")

    # A new cost price changes the value card without a reload.
    set_cost_price(page, product, "3")
    open_warehouses(page)
    expect(value_row(page, south)).to_contain_text("12.00")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"warehouses-{size}.png"), full_page=True)

    # Restored, it is offered again.
    warehouse_row(page, renamed).get_by_role("button", name=f"Restore {renamed}").click()
    expect(warehouse_row(page, renamed)).to_contain_text("Active")
    assert renamed in picker_options(page, "#movement-warehouse")
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
