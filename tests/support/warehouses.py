"""The warehouses the older tests stock without making them first: since warehouses are managed records
(migration 0006), a stock record may only name one that exists, so suites make these up front."""

from __future__ import annotations

import json
import urllib.request

TEST_WAREHOUSES = (
    "Warehouse A",
    "Warehouse B",
    "Warehouse C",
    "A",
    "B",
    "C",
    "D",
    "Dock",
    "Attic",
    "Outlet",
    "Main",
    "Overflow",
    "Shop",
    "+Back",
    "+Backroom",
    "Warehouse with a rather long name",
)


def make_warehouses(inventory_url: str, names: tuple[str, ...] = TEST_WAREHOUSES) -> None:
    """POST each name to a running inventory service; one that exists already (409) is fine."""
    for name in names:
        request = urllib.request.Request(
            f"{inventory_url}/warehouses",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201
        except urllib.error.HTTPError as error:
            assert error.code == 409, error.read()
