"""The sign-in token lives for the browser session: shared by the StockWiz tabs of one browser (a new tab
does not ask again), forgotten in every tab by "Sign out", never a cookie; dismissing the prompt says what
to do in plain words. On desktop and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import VIEWPORTS, Watch
from tests.gateway.conftest import WRITE_TOKEN, Backends
from tests.support.processes import ServiceProcess

NOT_SIGNED_IN = (
    "StockWiz needs a sign-in token to show your stock. Ask whoever runs your StockWiz for one, then choose "
    "“Sign in”."
)


def open_tab(context: BrowserContext, url: str) -> tuple[Page, Watch]:
    page = context.new_page()
    watch = Watch(page)
    page.goto(url)
    return page, watch


def token_of(page: Page) -> str | None:
    value = page.evaluate("sessionStorage.getItem('stockwiz.token')")
    return None if value is None else str(value)


def expect_signed_in(page: Page, view: str = "products") -> None:
    expect(page.locator(f"#view-{view}")).to_be_visible()
    expect(page.locator("#card-products")).to_have_text(re.compile(r"\d"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("#token-dialog")).to_be_hidden()


@pytest.mark.browser
def test_one_sign_in_per_browser_session(
    browser: Browser, stack: tuple[Backends, ServiceProcess], size: str
) -> None:
    _, gateway = stack
    context = browser.new_context(**VIEWPORTS[size])  # type: ignore[arg-type]
    first, first_watch = open_tab(context, gateway.url + "/")

    # Nobody to borrow a token from: the first tab asks. Dismissing the prompt explains, in plain words.
    dialog = first.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("This StockWiz asks everyone for a sign-in token. Enter yours.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(first.locator("#view-signed-out")).to_be_visible()
    # The page's other first requests answer 401 after the dismissal: none of them asks again.
    first.wait_for_load_state("networkidle")
    expect(dialog).to_be_hidden()
    expect(first.locator("#signed-out-text")).to_have_text(NOT_SIGNED_IN)
    expect(first.locator("body")).not_to_contain_text(re.compile("Bearer|Authorization|401"))
    expect(first.locator("#view-products")).to_be_hidden()

    # A wrong token is refused and asked again; the right one signs the tab in.
    first.locator("#signed-out-sign-in").click()
    dialog.get_by_label("Token").fill("swz_not-a-token")
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_contain_text("That token was not accepted. Check it and enter it again.")
    dialog.get_by_label("Token").fill(WRITE_TOKEN)
    dialog.get_by_role("button", name="Sign in").click()
    expect_signed_in(first)

    # A new tab of the same browser borrows it: no prompt, data at once; a reload keeps it too.
    second, second_watch = open_tab(context, gateway.url + "/#/low-stock")
    expect(second.locator("#view-low-stock")).to_be_visible()
    expect(second.locator("#card-products")).to_have_text(re.compile(r"\d"))
    assert second.evaluate("document.getElementById('token-dialog').open") is False
    assert token_of(second) == WRITE_TOKEN
    second.reload()
    expect(second.locator("#card-products")).to_have_text(re.compile(r"\d"))
    assert second.evaluate("document.getElementById('token-dialog').open") is False
    assert context.cookies() == []

    # Sign out in one tab: every tab forgets the token and shows nothing of the session any more.
    second.get_by_role("button", name="Sign out").click()
    expect(second.locator("#signed-out-text")).to_have_text(
        "You are signed out, in every StockWiz tab of this browser."
    )
    expect(first.locator("#signed-out-text")).to_have_text("You were signed out in another StockWiz tab.")
    for page in (first, second):
        expect(page.locator("#card-products")).to_have_text("\u2013")
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        assert token_of(page) is None

    # A third tab now has nobody to borrow from, so it asks; Escape dismisses like Cancel.
    third, third_watch = open_tab(context, gateway.url + "/")
    expect(third.locator("#token-dialog")).to_be_visible()
    third.keyboard.press("Escape")
    expect(third.locator("#signed-out-text")).to_have_text(NOT_SIGNED_IN)

    # Signing in there signs in the waiting tabs as well, without a reload.
    third.locator("#signed-out-sign-in").click()
    third.locator("#token-dialog").get_by_label("Token").fill(WRITE_TOKEN)
    third.locator("#token-dialog").get_by_role("button", name="Sign in").click()
    for page, view in ((first, "products"), (second, "low-stock"), (third, "products")):
        expect_signed_in(page, view)
        assert token_of(page) == WRITE_TOKEN
    for watch in (first_watch, second_watch, third_watch):
        assert watch.errors == [] and watch.dialogs == []
    context.close()
