"""The gateway's OpenAPI document: its own routes (UI, health, composed views) plus every product and
inventory route it proxies, taken from the services' own documents under the /api prefix, so the
description of the proxied API cannot drift from the services that implement it."""

from __future__ import annotations

import copy
from typing import Any

from gateway import imports
from stockwiz_runtime import openapi as oa

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
# Problems the gateway itself can answer on any /api route.
GATEWAY_PROBLEMS = (401, 403, 413, 429, 502, 503, 504)
PROXIED_PREFIXES = ("/products", "/inventory", "/warehouses", "/stock-value")
API_PREFIX = "/api"

STOCK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The product's stock: total over every warehouse, the main warehouse (most units) "
    "and the per-warehouse breakdown. Absent when the product has no stock record.",
    "required": ["quantity", "warehouse", "warehouses"],
    "properties": {
        "quantity": {"type": "integer", "minimum": 0},
        "warehouse": {"type": "string"},
        "warehouses": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "warehouse", "quantity", "reorder_point", "reorder_quantity"],
                "properties": {
                    "id": {"type": "integer"},
                    "warehouse": {"type": "string"},
                    "quantity": {"type": "integer", "minimum": 0},
                    "reorder_point": {"type": "integer", "minimum": 0},
                    "reorder_quantity": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Units to order when low; 0 means not set.",
                    },
                },
            },
        },
    },
}
PRODUCT_WITH_STOCK: dict[str, Any] = {
    "description": "A product (see Product) with its stock.",
    "allOf": [
        {"$ref": "#/components/schemas/Product"},
        {"type": "object", "properties": {"inventory": {"$ref": "#/components/schemas/Stock"}}},
    ],
}
HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "service", "downstream_services"],
    "properties": {
        "status": {"enum": ["healthy", "unhealthy"]},
        "service": {"const": "api-gateway"},
        "downstream_services": {
            "type": "object",
            "properties": {
                "product_service": {"enum": ["healthy", "unhealthy"]},
                "inventory_service": {"enum": ["healthy", "unhealthy"]},
            },
        },
    },
}


NAME_PARAMETER = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def _secured(operation: dict[str, Any]) -> dict[str, Any]:
    operation = copy.deepcopy(operation)
    operation["security"] = BEARER
    responses = operation.setdefault("responses", {})
    for status in GATEWAY_PROBLEMS:
        responses.setdefault(str(status), oa.problem(status))
    return operation


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


STOCK_EXAMPLE: dict[str, Any] = {
    "quantity": 35,
    "warehouse": "Warehouse B",
    "warehouses": [
        {"id": 4, "warehouse": "Warehouse B", "quantity": 25, "reorder_point": 30, "reorder_quantity": 50},
        {"id": 9, "warehouse": "Warehouse A", "quantity": 10, "reorder_point": 30, "reorder_quantity": 50},
    ],
}
EXAMPLES: dict[str, Any] = {
    "Stock": STOCK_EXAMPLE,
    "ProductWithStock": {
        "id": 4,
        "name": "Monitor 4K",
        "description": "27-inch 4K monitor",
        "price": 499.99,
        "cost_price": 320.0,
        "category": "Electronics",
        "sku": "MON-4K",
        "archived": False,
        "created_at": "2026-03-01T09:30:00+00:00",
        "updated_at": "2026-03-02T14:05:00+00:00",
        "inventory": STOCK_EXAMPLE,
    },
    "Settings": {"currency": "USD"},
}
SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The shop's settings, from the gateway's environment.",
    "required": ["currency"],
    "properties": {
        "currency": {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 code of the shop's money (CURRENCY): prices, cost prices and the stock "
            "value are in it.",
        }
    },
}


def _export(operation_id: str, what: str, filters: list[tuple[str, str]]) -> dict[str, Any]:
    return _secured(
        {
            "operationId": operation_id,
            "summary": f"{what} as CSV (RFC 4180, UTF-8 with a byte-order mark), streamed; text cells that a "
            "spreadsheet would run as a formula start with an apostrophe.",
            "tags": ["export"],
            "parameters": [
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": text,
                }
                for name, text in filters
            ],
            "responses": oa.responses(
                {
                    "200": {
                        "description": "The CSV file (Content-Disposition: attachment).",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    }
                },
                422,
            ),
        }
    )


def openapi_document() -> dict[str, Any]:
    """The gateway's own routes; `merge_service_document` adds the proxied ones when the services answer."""
    product_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "operationId": "getWebUi",
                "summary": "The web UI.",
                "tags": ["ui"],
                "responses": {"200": _html("The web UI")},
            }
        },
        "/docs": {
            "get": {
                "operationId": "getApiDocs",
                "summary": "This document as a readable page (operations, parameters, examples, schemas).",
                "tags": ["ui"],
                "responses": {"200": _html("The API docs page")},
            }
        },
        "/static/{name}": {
            "get": {
                "operationId": "getStaticAsset",
                "summary": "Web UI assets, with ETags (If-None-Match answers 304).",
                "tags": ["ui"],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "The file"},
                    "304": {"description": "Not modified"},
                    "404": oa.problem(404),
                },
            }
        },
        "/api/products/{id}": {
            "parameters": [product_id],
            "get": _secured(
                {
                    "operationId": "getProductWithStock",
                    "summary": "One product with its stock (one call: the inventory service's product view).",
                    "tags": ["composed"],
                    "responses": oa.responses(
                        {"200": oa.ok_json({"$ref": "#/components/schemas/ProductWithStock"})}, 404
                    ),
                }
            ),
        },
        "/api/export/products.csv": {
            "get": _export(
                "exportProducts",
                "Every product by id",
                [
                    ("q", "As /api/products: search."),
                    ("category", "As /api/products: exact category."),
                    ("archived", "As /api/products: true exports the archived products instead."),
                ],
            )
        },
        "/api/export/stock.csv": {
            "get": _export(
                "exportStock",
                "Every stock record by id, with its product's SKU and name",
                [("product_id", "Only this product."), ("warehouse", "Only this warehouse (exact).")],
            )
        },
        "/api/export/movements.csv": {
            "get": _export(
                "exportMovements",
                "The movement ledger, newest first",
                [
                    ("product_id", "Only this product."),
                    ("warehouse", "Only this warehouse (exact)."),
                    ("reason", "Only this reason."),
                    ("actor", "Only changes by this actor (an API token's name)."),
                    ("from", "Only movements at or after this ISO date or date-time."),
                    ("to", "Only movements at or before this ISO date-time, or on or before this date."),
                ],
            )
        },
        "/api/settings": {
            "get": _secured(
                {
                    "operationId": "getSettings",
                    "summary": "The shop's settings (read-only): its currency.",
                    "tags": ["settings"],
                    "responses": oa.responses({"200": oa.ok_json({"$ref": "#/components/schemas/Settings"})}),
                }
            )
        },
        "/api/products-full": {
            "get": _secured(
                {
                    "operationId": "listProductsWithStock",
                    "summary": "A page of products with their stock; the filters and pagination of "
                    "/api/products. Two backend calls whatever the page size.",
                    "tags": ["composed"],
                    "responses": oa.responses(
                        {
                            "200": oa.ok_json(
                                {"type": "array", "items": {"$ref": "#/components/schemas/ProductWithStock"}}
                            )
                        },
                        422,
                    ),
                }
            )
        },
    }
    document = oa.document(
        title="StockWiz API gateway",
        version="1.0.0",
        description=(
            "The public StockWiz API. /api/products... and /api/inventory... are the product and inventory "
            "services' routes under the /api prefix; every /api request needs 'Authorization: Bearer "
            "<token>' when tokens are configured (read tokens may GET and HEAD only). Errors are "
            "application/problem+json (RFC 9457)."
        ),
        paths=paths,
        schemas={"Stock": STOCK_SCHEMA, "ProductWithStock": PRODUCT_WITH_STOCK, "Settings": SETTINGS_SCHEMA},
        examples=EXAMPLES,
    )
    document["paths"]["/health"] = {
        "get": {
            "operationId": "getHealth",
            "summary": "Health in the earlier StockWiz shape: 200 when both services are ready, else 503.",
            "tags": ["operations"],
            "responses": {"200": oa.ok_json(HEALTH_SCHEMA), "503": oa.ok_json(HEALTH_SCHEMA, "Unhealthy")},
        }
    }
    document["components"]["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token (swz_...)."}
    }
    document["x-stockwiz-services"] = {}
    return document


def merge_service_document(document: dict[str, Any], service: str, service_document: dict[str, Any]) -> None:
    """Add a service's routes under /api (in place). The gateway's own operations win where both exist
    (GET /api/products/{id} is composed); the service's other methods on that path are kept."""
    paths = document["paths"]
    for path, item in service_document.get("paths", {}).items():
        if not path.startswith(PROXIED_PREFIXES):
            continue
        public = paths.setdefault(API_PREFIX + path, {})
        for method, operation in item.items():
            if method == "parameters":
                public.setdefault("parameters", copy.deepcopy(operation))
            elif isinstance(operation, dict) and method not in public:
                public[method] = _secured({**operation, "tags": [service]})
    for path, item in imports.public_operations(service, service_document).items():
        paths[path] = {method: _secured(operation) for method, operation in item.items()}
    schemas = document["components"]["schemas"]
    for name, schema in service_document.get("components", {}).get("schemas", {}).items():
        schemas.setdefault(name, copy.deepcopy(schema))
    document["x-stockwiz-services"][service] = service_document.get("info", {}).get("version", "unknown")
