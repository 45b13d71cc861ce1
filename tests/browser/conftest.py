"""Shared by the browser tests: the stack (the gateway as a process, with tokens on, in front of the real
services on SQLite), Debian's Chromium through Playwright, a watch on what a page must never do, and
pages at the two sizes every flow is tried at: desktop and a 390 px phone."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect, sync_playwright

from tests.gateway.conftest import API_TOKENS, WRITE_TOKEN, Backends, start_backends
from tests.support.processes import REPO, ServiceProcess, start_service

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO / "build" / "screenshots"
XSS_NAME = "<img src=x onerror=alert(1)>"


def chromium_path() -> str:
    path = os.environ.get("STOCKWIZ_CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"Chromium is missing at {path}: run `python tools/ensure_chromium.py` (as root it installs "
            "Debian's chromium) or set STOCKWIZ_CHROMIUM. Browser tests never skip."
        )
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backends, ServiceProcess]]:
    directory = tmp_path_factory.mktemp("browser")
    logs = directory / "logs"
    logs.mkdir()
    for backends in start_backends(f"sqlite:///{directory / 'ui.db'}", logs):
        gateway = start_service(
            "gateway",
            logs,
            env={
                "PRODUCT_SERVICE_URL": backends.products.url,
                "INVENTORY_SERVICE_URL": backends.inventory.url,
                "API_TOKENS": API_TOKENS,
            },
        )
        try:
            yield backends, gateway
        finally:
            gateway.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """What the page did that it should not: script errors, alerts, CSP violations."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)


def create_product(page: Page, name: str, price: str, category: str = "", *, saved: bool = True) -> None:
    """Fill in and save the new-product dialog; with `saved`, wait until the product was created."""
    page.get_by_role("button", name="New product").click()
    dialog = page.locator("#product-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Price", exact=True).fill(price)
    dialog.get_by_label("Category").fill(category)
    dialog.get_by_role("button", name="Save").click()
    if saved:
        expect(dialog).to_be_hidden()


def record_movement(page: Page, action: str, warehouse: str, quantity: int) -> None:
    form = page.locator("#movement-form")
    form.get_by_label("Action").select_option(action)
    form.get_by_label("Warehouse").select_option(warehouse)
    form.locator("input[name=quantity]").fill(str(quantity))
    form.get_by_role("button", name="Record").click()


VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(params=list(VIEWPORTS))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def signed_in_page(browser: Browser, gateway: ServiceProcess, size: str) -> tuple[Page, Watch]:
    """A page of its own browser context at `size`, signed in with the write token."""
    context = browser.new_context(**VIEWPORTS[size])  # type: ignore[arg-type]
    context.add_init_script(f"sessionStorage.setItem('stockwiz.token', '{WRITE_TOKEN}')")
    page = context.new_page()
    watch = Watch(page)
    page.goto(gateway.url + "/")
    return page, watch


def open_product(page: Page, name: str) -> None:
    page.get_by_label("Search products").fill(name)
    page.locator("#products-body a.product-link", has_text=name).first.click()
    expect(page.locator("#product-title")).to_have_text(name)


def stocked_product(page: Page, name: str, price: str, warehouse: str, quantity: int) -> None:
    """A new product with `quantity` received into `warehouse`; leaves its page open."""
    create_product(page, name, price)
    open_product(page, name)
    record_movement(page, "receive", warehouse, quantity)
    expect(page.locator("#stock-total")).to_have_text(str(quantity))


def transfer_stock(page: Page, source: str, target: str, quantity: int) -> None:
    form = page.locator("#transfer-form")
    form.locator("select[name=from_warehouse]").select_option(source)
    form.locator("select[name=to_warehouse]").select_option(target)
    form.locator("input[name=quantity]").fill(str(quantity))
    form.get_by_role("button", name="Transfer").click()
