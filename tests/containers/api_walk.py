"""An API walk through a gateway, as a client does it: list, create, stock, adjust, the composed read."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def request(
    url: str, token: str, method: str = "GET", body: Any = None, timeout: float = 30
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    message = urllib.request.Request(url, data=data, method=method)
    message.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        message.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(message, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def walk(gateway: str, token: str) -> list[dict[str, Any]]:
    """Run the walk against `gateway` (a base URL); assert every step; the first page of products."""
    status, page = request(f"{gateway}/api/products?limit=5", token)
    assert status == 200 and isinstance(page, list), page
    sku = f"WALK-{time.time_ns()}"
    status, product = request(
        f"{gateway}/api/products",
        token,
        "POST",
        {"name": "Walk lamp", "price": 24.90, "category": "Lighting", "sku": sku},
    )
    assert status == 201 and product["sku"] == sku and product["price"] == 24.90, product
    # Stock goes only into a managed warehouse; an earlier walk on the same stack made it already.
    status, warehouse = request(f"{gateway}/api/warehouses", token, "POST", {"name": "Main"})
    assert status == 201 or (status == 409 and warehouse["type"].endswith("duplicate-warehouse")), warehouse
    status, record = request(
        f"{gateway}/api/inventory",
        token,
        "POST",
        {"product_id": product["id"], "warehouse": "Main", "quantity": 5},
    )
    assert status == 201 and record["quantity"] == 5, record
    status, adjusted = request(
        f"{gateway}/api/inventory/{record['id']}/adjust", token, "POST", {"delta": -2, "reason": "ship"}
    )
    assert status == 200 and adjusted["quantity"] == 3, adjusted
    status, composed = request(f"{gateway}/api/products/{product['id']}", token)
    assert status == 200, composed
    assert composed["name"] == "Walk lamp" and composed["inventory"]["quantity"] == 3, composed
    status, refused = request(
        f"{gateway}/api/inventory/{record['id']}/adjust", token, "POST", {"delta": -4, "reason": "ship"}
    )
    assert status == 409 and refused["type"].endswith("insufficient-stock"), refused
    return list(page)
