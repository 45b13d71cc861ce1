"""`make screenshots`: the README's pictures of the web UI, taken from the running app.

Starts the whole app as `make run` does (tools/devrun.py: demo data, SQLite) in a throw-away directory on
free ports, opens each main view in Debian's Chromium through Playwright on a desktop and a 390 px phone
viewport, and writes docs/screenshots/<view>-<size>.png. Re-run it after a change to the UI; the README
embeds the files.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

from tests.support.processes import free_port, wait_ready

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
# (file name, hash route, the element that says the view has its data). "{product}" is a product with stock.
VIEWS = [
    ("products", "#/products", "#view-products table tbody tr"),
    ("product", "#/product/{product}", "#view-product h1, #view-product h2"),
    ("low-stock", "#/low-stock", "#view-low-stock"),
    ("warehouses", "#/warehouses", "#warehouses-body tr"),
    ("movements", "#/movements", "#log-table tbody tr"),
    ("import", "#/import", "#view-import h1"),
]


def first_stocked_product(gateway: str) -> int:
    with urllib.request.urlopen(f"{gateway}/api/inventory?limit=1", timeout=5) as answer:
        records = json.loads(answer.read())
    return int(records[0]["product_id"])


def shoot(
    page: Page, gateway: str, views: Sequence[tuple[str, str, str]], size: str, product: int
) -> list[Path]:
    written = []
    for name, route, ready in views:
        page.goto(f"{gateway}/{route.format(product=product)}")
        page.wait_for_selector(ready, state="attached", timeout=10_000)
        page.wait_for_load_state("networkidle")
        path = OUT / f"{name}-{size}.png"
        page.screenshot(path=str(path), full_page=False)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chromium", default=os.environ.get("STOCKWIZ_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    ports = {name: free_port() for name in ("gateway", "products", "inventory")}
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{scratch}/shop.db",
            "API_TOKENS": "",
            "PYTHONPATH": f"{REPO / 'apps'}{os.pathsep}{REPO}",
        }
        app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.devrun",
                *(f"--{name}-port={port}" for name, port in ports.items()),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Fails at once, not after the timeout, if `make run` itself stops (a port taken, say).
            wait_ready(gateway, app, timeout=90)
            product = first_stocked_product(gateway)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                for size, viewport in SIZES.items():
                    page = browser.new_page(viewport=viewport)
                    for path in shoot(page, gateway, VIEWS, size, product):
                        print(path.relative_to(REPO))
                    page.close()
                browser.close()
        finally:
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
