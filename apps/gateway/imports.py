"""CSV imports (`POST /api/import/{name}.csv?dry_run=true|false`): the public names of the services' import
routes. The gateway passes the file through as any proxied request (its size bounded by MAX_BODY_BYTES,
the actor named from the token); each service parses, checks and writes it in one transaction
(stockwiz_runtime.csvimport, products.imports, inventory.imports), because only the service holding the
rows can write them all or none. The names match the exports' (gateway.export), so a file downloaded from
/api/export/stock.csv goes back to /api/import/stock.csv."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stockwiz_runtime.problems import not_found


@dataclass(frozen=True)
class Import:
    service: str  # "products" or "inventory"
    path: str  # the service's route
    operation_id: str


IMPORTS: dict[str, Import] = {
    "products": Import("products", "/products/import.csv", "importProductsCsv"),
    "stock": Import("inventory", "/inventory/import.csv", "importStockCsv"),
}


def find_import(name: str) -> Import:
    found = IMPORTS.get(name)
    if found is None:
        raise not_found(f"no import {name!r}; there are {', '.join(sorted(IMPORTS))}")
    return found


def public_operations(service: str, service_document: dict[str, Any]) -> dict[str, Any]:
    """The service's import operations under their public paths (/api/import/...), described by the service
    itself so the columns cannot drift from what it reads."""
    paths: dict[str, Any] = {}
    for name, chosen in IMPORTS.items():
        operation = service_document.get("paths", {}).get(chosen.path, {}).get("post")
        if chosen.service == service and operation is not None:
            public = {**copy.deepcopy(operation), "operationId": chosen.operation_id, "tags": ["import"]}
            paths[f"/api/import/{name}.csv"] = {"post": public}
    return paths
