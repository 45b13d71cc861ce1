"""Smoke test of a deployed StockWiz, run by deploy.yml right after `pulumi up`.

    STOCKWIZ_SMOKE_TOKEN=<read token> python -m tools.smoke_test --url https://stockwiz.example.com

Checks, in order: `/health` answers 200 (retried until --wait-seconds, while the new tasks settle);
`/api/products` refuses a request without a token; then real API calls through the load balancer with the
read token: `/api/products?limit=1` (gateway -> product service) and `/api/inventory?limit=1` (gateway ->
inventory service) answer JSON arrays, and when there is a product, the composed `/api/products/{id}`
(gateway -> both services at once) returns that product, with its stock when it has some. A gateway that
cannot reach a backend through Service Connect answers /livez but fails here. It only reads, so it is safe
in prod. Uses the standard library only, so it runs before or without the project's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TOKEN_ENV = "STOCKWIZ_SMOKE_TOKEN"


class SmokeFailure(Exception):
    """The deployment does not behave as a healthy StockWiz does."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise SmokeFailure(f"expected a JSON body, got {self.body[:200]!r}") from exc


def fetch(url: str, token: str | None = None, timeout: float = 10.0) -> Response:
    """GET url; HTTP error statuses are returned, network failures raise OSError."""
    if not url.startswith(("https://", "http://")):
        raise SmokeFailure(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Response(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read())


def wait_for_health(
    base_url: str,
    wait_seconds: float,
    interval: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    deadline = clock() + wait_seconds
    last = "no answer yet"
    while True:
        try:
            response = fetch(f"{base_url}/health")
            if response.status == 200:
                return response.json()
            last = f"status {response.status}: {response.body[:200]!r}"
        except OSError as error:
            last = f"{type(error).__name__}: {error}"
        if clock() >= deadline:
            raise SmokeFailure(f"/health did not answer 200 within {wait_seconds:.0f}s ({last})")
        print(f"waiting for /health ({last})", flush=True)
        sleep(interval)


def read_page(base_url: str, path: str, token: str) -> list[Any]:
    """GET a listing with the token: 200 and a JSON array of at most one object, or SmokeFailure."""
    response = fetch(f"{base_url}{path}", token)
    if response.status != 200:
        raise SmokeFailure(f"{path} with the read token answered {response.status}: {response.body[:200]!r}")
    page = response.json()
    if not isinstance(page, list) or len(page) > 1 or not all(isinstance(item, dict) for item in page):
        raise SmokeFailure(f"{path} is not a JSON array of at most one object: {page!r:.200}")
    return page


def run_smoke(
    base_url: str,
    token: str,
    wait_seconds: float = 300.0,
    interval: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Run every check; returns what passed, raises SmokeFailure at the first check that fails."""
    base_url = base_url.rstrip("/")
    passed: list[str] = []

    health = wait_for_health(base_url, wait_seconds, interval, sleep)
    passed.append(f"/health 200 (status {health.get('status') if isinstance(health, dict) else health!r})")

    anonymous = fetch(f"{base_url}/api/products")
    if anonymous.status not in (401, 403):
        raise SmokeFailure(f"/api/products without a token answered {anonymous.status}, expected 401/403")
    passed.append(f"/api/products without a token refused ({anonymous.status})")

    products = read_page(base_url, "/api/products?limit=1", token)
    passed.append(f"/api/products?limit=1 with the read token: {len(products)} product(s)")

    stock = read_page(base_url, "/api/inventory?limit=1", token)
    passed.append(f"/api/inventory?limit=1 with the read token: {len(stock)} record(s)")

    if products:
        product_id = products[0].get("id") if isinstance(products[0], dict) else None
        if not isinstance(product_id, int):
            raise SmokeFailure(f"first product has no integer id: {products[0]!r:.200}")
        single = fetch(f"{base_url}/api/products/{product_id}", token)
        if single.status != 200:
            raise SmokeFailure(f"/api/products/{product_id} (product and stock) answered {single.status}")
        product = single.json()
        if not isinstance(product, dict) or product.get("id") != product_id:
            raise SmokeFailure(f"/api/products/{product_id} returned another product: {product!r:.200}")
        inventory = product.get("inventory")
        if inventory is not None and not isinstance(inventory, dict):
            raise SmokeFailure(f"/api/products/{product_id} has a malformed inventory: {inventory!r:.200}")
        with_stock = "with its stock" if inventory is not None else "(no stock recorded)"
        passed.append(f"/api/products/{product_id} composes product and inventory {with_stock}")
    else:
        # An empty catalogue (a new prod) has no product to compose; both backends answered above.
        passed.append("no product yet: the composed /api/products/{id} is not exercised")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="public base URL of the deployment (stack output `url`)")
    parser.add_argument("--wait-seconds", type=float, default=300.0, help="how long /health may take")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"smoke test: set {TOKEN_ENV} to a read-scope API token", file=sys.stderr)
        return 2
    try:
        for line in run_smoke(args.url, token, args.wait_seconds):
            print(f"ok  {line}")
    except SmokeFailure as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
