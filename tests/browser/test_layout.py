"""Sortable product columns (a click or the keyboard on the header, aria-sort saying which) and a layout
that fits: no horizontal scrolling of any main view, names wrapping between words, every row's buttons
reachable. On desktop and on a 390 px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import (
    SCREENSHOTS,
    VIEWPORTS,
    create_product,
    record_movement,
    signed_in_page,
    stocked_product,
)
from tests.gateway.conftest import Backends
from tests.support.processes import ServiceProcess

LONG_NAME = "Ergonomic adjustable standing desk converter with cable management tray"

# For each word of a link's text, the number of boxes it is drawn in: 1 unless a line break cut it.
WORD_BOXES = """(link) => {
    const text = link.firstChild;
    const boxes = [];
    const pattern = /\\S+/g;
    let match;
    while ((match = pattern.exec(text.data))) {
        const range = document.createRange();
        range.setStart(text, match.index);
        range.setEnd(text, match.index + match[0].length);
        boxes.push(range.getClientRects().length);
    }
    return {boxes, lines: link.getClientRects().length};
}"""


def products_listed(page: Page) -> None:
    """Wait until the products table shows the answer to the latest request (the UI marks the wait)."""
    expect(page.locator("#products-table")).not_to_have_attribute("aria-busy", "true")


def expect_sorted(page: Page, header: str, direction: str, names: list[str]) -> None:
    cell = page.locator("#products-table thead th", has=page.get_by_role("button", name=header, exact=True))
    expect(cell).to_have_attribute("aria-sort", direction)
    expect(page.locator("#products-table thead th[aria-sort]")).to_have_count(1)
    expect(page.locator("#products-body a.product-link")).to_have_text(names)


def page_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def expect_reachable(button: Locator, width: int) -> None:
    button.scroll_into_view_if_needed()
    expect(button).to_be_in_viewport(ratio=1)
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.browser
def test_columns_sort_by_click_and_keyboard(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    page, watch = signed_in_page(browser, gateway, size)
    tag = f"Sorttest {size}"
    for name, price, category in (
        ("Bravo", "30.00", "Cables"),
        ("Alpha", "20.00", "Desks"),
        ("Charlie", "10.00", "Audio"),
    ):
        create_product(page, f"{tag} {name}", price, category)
    page.get_by_label("Search products").fill(tag)
    expect(page.locator("#products-body tr")).to_have_count(3)
    expect(page.locator("#products-table thead th[aria-sort]")).to_have_count(0)

    alpha, bravo, charlie = (f"{tag} {name}" for name in ("Alpha", "Bravo", "Charlie"))
    page.get_by_role("button", name="Name", exact=True).click()
    expect_sorted(page, "Name", "ascending", [alpha, bravo, charlie])
    page.get_by_role("button", name="Name", exact=True).click()
    expect_sorted(page, "Name", "descending", [charlie, bravo, alpha])

    # The keyboard: Enter and Space on a focused header sort it, as a click does.
    page.get_by_role("button", name="Price", exact=True).focus()
    page.keyboard.press("Enter")
    expect_sorted(page, "Price", "ascending", [charlie, alpha, bravo])
    page.keyboard.press("Space")
    expect_sorted(page, "Price", "descending", [bravo, alpha, charlie])
    page.get_by_role("button", name="Category", exact=True).focus()
    page.keyboard.press("Enter")
    expect_sorted(page, "Category", "ascending", [charlie, bravo, alpha])
    expect(page.get_by_label("Sort by")).to_have_value("category")

    # The sort menu and the headers agree both ways.
    page.get_by_label("Sort by").select_option("-name")
    expect_sorted(page, "Name", "descending", [charlie, bravo, alpha])
    page.get_by_label("Sort by").select_option("id")
    expect(page.locator("#products-table thead th[aria-sort]")).to_have_count(0)
    expect(page.locator("#products-body a.product-link")).to_have_text([bravo, alpha, charlie])
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()


@pytest.mark.browser
def test_main_views_fit_the_screen(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    width = int(VIEWPORTS[size]["viewport"]["width"])  # type: ignore[index]
    page, watch = signed_in_page(browser, gateway, size)
    name = f"{LONG_NAME} {size}"
    stocked_product(page, name, "349.00", "Warehouse with a rather long name", 12)
    record_movement(page, "ship", "Warehouse with a rather long name", 2)
    expect(page.locator("#stock-total")).to_have_text("10")
    assert page_width(page) <= width
    reorder = page.get_by_role("button", name="Reorder settings for Warehouse with a rather long name")
    expect_reachable(reorder, width)
    expect_reachable(page.get_by_role("button", name="Transfer"), width)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"product-{size}.png"), full_page=True)

    page.get_by_role("link", name="Low stock").click()
    expect(page.locator("#low-body tr", has_text=name)).to_have_count(1)
    assert page_width(page) <= width

    with page.expect_response(lambda response: "/api/products-full" in response.url):
        page.get_by_role("link", name="Products").first.click()
    products_listed(page)
    expect(page.locator("#products-body tr", has_text=name)).to_have_count(1)
    assert page_width(page) <= width
    row = page.locator("#products-body tr", has_text=name)
    for button in ("Edit", "Archive", "Delete"):
        expect_reachable(row.get_by_role("button", name=button), width)
    # The long name wraps, and only between words.
    link = row.locator("a.product-link")
    layout = link.evaluate(WORD_BOXES)
    assert set(layout["boxes"]) == {1}, layout
    if size == "phone":
        assert layout["lines"] > 1, layout
    heading_width = page.evaluate("document.querySelector('.cards').scrollWidth")
    assert heading_width <= width
    page.screenshot(path=str(SCREENSHOTS / f"products-{size}.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#view-signed-out")).to_be_visible()
    assert page_width(page) <= width
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
