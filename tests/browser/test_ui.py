"""The web UI in real Chromium (Debian's package, driven by Playwright): the gateway as a process in front
of the real services, with tokens on, so the UI's token prompt is part of the walk. Fails, never skips,
when Chromium is missing (`make pytest` installs it first with tools/ensure_chromium.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from tests.browser.conftest import (
    SCREENSHOTS,
    XSS_NAME,
    Watch,
    create_product,
    record_movement,
    transfer_stock,
)
from tests.gateway.conftest import WRITE_TOKEN, Backends
from tests.support.processes import ServiceProcess


@pytest.mark.browser
def test_a_user_manages_products_and_stock(browser: Browser, stack: tuple[Backends, ServiceProcess]) -> None:
    _, gateway = stack
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page)
    page.goto(gateway.url + "/")

    # Tokens are on: the first API answer is 401 and the UI asks for a token.
    token_dialog = page.locator("#token-dialog")
    expect(token_dialog).to_be_visible()
    token_dialog.get_by_label("Token").fill(WRITE_TOKEN)
    token_dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("#products-state")).to_have_text("No products yet. Create the first one.")

    # Field errors come from the API's problem+json.
    create_product(page, "Broken", "abc", saved=False)
    expect(page.locator('#product-form .field-error[data-field="price"]')).not_to_be_empty()
    page.locator("#product-dialog").get_by_role("button", name="Cancel").click()

    create_product(page, "Test Widget", "12.50", "Tools")
    row = page.locator("#products-body tr", has_text="Test Widget")
    expect(row).to_be_visible()
    expect(row).to_contain_text("12.50")
    expect(row).to_contain_text("No stock")

    create_product(page, XSS_NAME, "1.00")
    link = page.locator("#products-body a.product-link", has_text=XSS_NAME)
    expect(link).to_have_text(XSS_NAME)
    assert page.locator("#products-body img").count() == 0

    # Receive, then ship, on the product's page.
    row.get_by_role("link", name="Test Widget").click()
    expect(page.locator("#product-title")).to_have_text("Test Widget")
    expect(page.locator("#stock-state")).to_contain_text("No stock yet")
    record_movement(page, "receive", "Main", 40)
    stock_row = page.locator("#stock-body tr", has_text="Main")
    expect(stock_row).to_contain_text("40")
    record_movement(page, "ship", "Main", 35)
    expect(stock_row).to_contain_text("5")
    expect(page.locator("#stock-total")).to_have_text("5")
    expect(stock_row).to_contain_text("Low")

    history = page.locator("#movements-body tr")
    # Reasons in the shop's words (the code is the tooltip).
    expect(history.first).to_contain_text("Shipped")
    expect(history.first).to_contain_text("-35")
    expect(page.locator("#movements-body")).to_contain_text("Received")
    expect(page.locator("#movements-body")).to_contain_text("+40")

    # Shipping more than there is is refused and said so; nothing changes.
    record_movement(page, "ship", "Main", 50)
    refusal = "Only 5 units of Test Widget in Main; cannot ship 50"
    expect(page.locator("#movement-error")).to_have_text(refusal)
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#stock-total")).to_have_text("5")

    # Transfer part of it to another warehouse (one the product has no stock in yet).
    transfer_stock(page, "Main", "Overflow", 2)
    expect(page.locator("#stock-body tr", has_text="Overflow")).to_contain_text("2")
    expect(page.locator("#stock-total")).to_have_text("5")

    # The low-stock view lists it, with the product's name.
    page.get_by_role("link", name="Low stock").click()
    low_row = page.locator("#low-body tr", has_text="Test Widget").first
    expect(low_row).to_be_visible()
    expect(page.locator("#card-low")).not_to_have_text("0")

    page.get_by_role("link", name="Products").first.click()
    expect(page.locator("#products-body tr", has_text="Test Widget")).to_contain_text("5")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "main.png"), full_page=True)

    # Search and delete.
    page.get_by_label("Search products").fill(XSS_NAME)
    expect(page.locator("#products-body tr")).to_have_count(1)
    page.locator("#products-body tr").get_by_role("button", name="Delete").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#products-state")).to_contain_text("No product matches")

    assert watch.dialogs == [], "the page ran script from data"
    assert watch.errors == []
    page.close()


@pytest.mark.browser
def test_the_ui_fits_a_phone(browser: Browser, stack: tuple[Backends, ServiceProcess]) -> None:
    _, gateway = stack
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    watch = Watch(page)
    page.add_init_script(f"sessionStorage.setItem('stockwiz.token', '{WRITE_TOKEN}')")
    page.goto(gateway.url + "/")
    expect(page.locator("#card-products")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#products-state")).not_to_have_text("Loading products…")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="Low stock").click()
    expect(page.locator("#view-low-stock")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phone.png"), full_page=True)
    assert watch.errors == [] and watch.dialogs == []
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_the_api_docs_page_shows_every_operation_with_examples(
    browser: Browser, stack: tuple[Backends, ServiceProcess], viewport: ViewportSize
) -> None:
    _, gateway = stack
    page = browser.new_page(viewport=viewport)
    watch = Watch(page)
    page.goto(gateway.url + "/docs")
    # The gateway's own routes and both services' routes under /api, from the served document.
    expect(page.locator("#docs-state")).to_have_text(re.compile(r"^\d+ operations\.$"))
    operations = page.locator(".op")
    count = operations.count()
    assert count >= 25
    adjust = page.locator("section.op#adjustStock")
    expect(adjust.locator(".op-path")).to_have_text("/api/inventory/{id}/adjust")
    expect(adjust.locator(".method")).to_have_text("POST")
    expect(adjust).to_contain_text("Needs Authorization: Bearer <token>")
    expect(adjust.locator("pre.example").first).to_contain_text('"reason": "ship"')
    expect(page.locator("#schema-Product pre.example")).to_contain_text('"sku": "MON-4K"')
    # An import: its columns and rules in the description, its CSV example as text.
    stock_import = page.locator("section.op#importStockCsv")
    expect(stock_import.locator(".op-path")).to_have_text("/api/import/stock.csv")
    expect(stock_import).to_contain_text("Columns: warehouse, quantity required")
    expect(stock_import.locator("pre.example").first).to_contain_text("sku,warehouse,quantity,reorder_point")

    page.get_by_label("Filter operations").fill("transfer")
    expect(page.locator("#docs-state")).to_have_text(re.compile(rf"^1 of {count} operations match\.$"))
    expect(page.locator("section.op#transferStock")).to_be_visible()
    expect(adjust).to_be_hidden()
    expect(page.locator("h2.docs-tag", has_text="products")).to_be_hidden()  # no match left in that group

    if viewport["width"] == 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"api-docs-{viewport['width']}.png"))
    assert watch.errors == [] and watch.dialogs == []
    page.close()
