"""Errors appear next to the action that caused them, in the shop's words, and the next submit clears them:
on desktop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import record_movement, signed_in_page, stocked_product, transfer_stock
from tests.gateway.conftest import Backends
from tests.support.processes import ServiceProcess


@pytest.mark.browser
def test_refusals_show_by_their_form(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    page, watch = signed_in_page(browser, gateway, size)
    name = f"Monitor 4K {size}"
    stocked_product(page, name, "499.99", "Warehouse B", 12)

    # Shipping more than there is: the refusal is in the movement form, on screen, in words a shop uses.
    record_movement(page, "ship", "Warehouse B", 20)
    error = page.locator("#movement-error")
    expect(error).to_have_text(f"Only 12 units of {name} in Warehouse B; cannot ship 20")
    expect(error).to_be_in_viewport()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#stock-total")).to_have_text("12")

    # The next submit clears it, whatever its outcome.
    record_movement(page, "ship", "Warehouse B", 2)
    expect(page.locator("#stock-total")).to_have_text("10")
    expect(error).to_be_empty()

    # A transfer's refusal is by the transfer form, and its field errors under the field they are about.
    transfer = page.locator("#transfer-form")
    transfer_stock(page, "Warehouse B", "Warehouse C", 11)
    transfer_error = page.locator("#transfer-error")
    expect(transfer_error).to_have_text(f"Only 10 units of {name} in Warehouse B; cannot transfer 11")
    expect(transfer_error).to_be_in_viewport()
    expect(error).to_be_empty()

    transfer.locator("select[name=to_warehouse]").select_option("Warehouse B")
    transfer.locator("input[name=quantity]").fill("1")
    transfer.get_by_role("button", name="Transfer").click()
    to_error = transfer.locator('.field-error[data-field="to_warehouse"]')
    expect(to_error).to_have_text("must differ from from_warehouse")
    expect(transfer_error).to_have_text("Please correct the marked fields.")
    expect(page.get_by_text("Value error")).to_have_count(0)

    transfer.locator("select[name=to_warehouse]").select_option("Warehouse C")
    transfer.get_by_role("button", name="Transfer").click()
    expect(page.locator("#stock-body tr", has_text="Warehouse C")).to_contain_text("1")
    expect(to_error).to_be_empty()
    expect(transfer_error).to_be_empty()
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
