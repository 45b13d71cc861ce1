"""Smoke test of a deployed StockWiz, run by deploy.yml right after `pulumi up`.

    STOCKWIZ_SMOKE_TOKEN=<read token> python -m tools.smoke_test --url https://stockwiz.example.com

Checks, in order: `/health` answers 200 (retried until --wait-seconds, while the new tasks settle);
`/api/products` refuses a request without a token; with the read token it answers a JSON array, and
when that array has a product, that product reads back by id. It only reads, so it is safe in prod.
Uses the standard library only, so it runs before or without the project's virtualenv.
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

    listing = fetch(f"{base_url}/api/products", token)
    if listing.status != 200:
        raise SmokeFailure(f"/api/products with the read token answered {listing.status}")
    products = listing.json()
    if not isinstance(products, list):
        raise SmokeFailure(f"/api/products is not a JSON array: {products!r:.200}")
    passed.append(f"/api/products with the read token: {len(products)} product(s) on the first page")

    if products:
        product_id = products[0].get("id") if isinstance(products[0], dict) else None
        if not isinstance(product_id, int):
            raise SmokeFailure(f"first product has no integer id: {products[0]!r:.200}")
        single = fetch(f"{base_url}/api/products/{product_id}", token)
        if single.status != 200:
            raise SmokeFailure(f"/api/products/{product_id} answered {single.status}")
        product = single.json()
        if not isinstance(product, dict) or product.get("id") != product_id:
            raise SmokeFailure(f"/api/products/{product_id} returned another product: {product!r:.200}")
        passed.append(f"/api/products/{product_id} reads back")
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
