"""The warehouse routes' part of the inventory service's OpenAPI document (merged by inventory.openapi)."""

from __future__ import annotations

from typing import Any

from inventory.schemas import WarehouseCreate, WarehouseUpdate
from stockwiz_runtime import openapi as oa

_FIELDS = ["id", "name", "archived", "quantity", "name_clash", "version", "created_at", "updated_at"]
WAREHOUSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A managed warehouse; stock records and movements name it.",
    "required": _FIELDS,
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "archived": {"type": "boolean", "description": "An archived warehouse takes no new stock."},
        "quantity": {"type": "integer", "minimum": 0, "description": "Units held, over every product."},
        "name_clash": {
            "type": "boolean",
            "description": "true when another warehouse's name differs from this one only by case (kept "
            "apart when existing data was migrated; rename one of them).",
        },
        "version": {"type": "integer", "minimum": 1, "description": "Also the warehouse's ETag."},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
_ETAG = {"ETag": {"description": "The warehouse's version, for If-Match.", "schema": {"type": "string"}}}
_REF = {"$ref": "#/components/schemas/Warehouse"}
_EXAMPLE: dict[str, Any] = {
    "id": 2,
    "name": "Warehouse B",
    "archived": False,
    "quantity": 105,
    "name_clash": False,
    "version": 1,
    "created_at": "2026-03-01T09:00:00+00:00",
    "updated_at": "2026-03-01T09:00:00+00:00",
}
EXAMPLES: dict[str, Any] = {
    "Warehouse": _EXAMPLE,
    "WarehouseCreate": {"name": "Backroom"},
    "WarehouseUpdate": {"name": "Backroom (north)"},
}
SCHEMAS: dict[str, Any] = {"Warehouse": WAREHOUSE_SCHEMA, **oa.schemas_of(WarehouseCreate, WarehouseUpdate)}
PATHS: dict[str, Any] = {
    "/warehouses": {
        "get": {
            "operationId": "listWarehouses",
            "summary": "Every warehouse by name, with the units it holds.",
            "parameters": [
                oa.query(
                    "archived", {"type": "boolean"}, "true: only archived; false: only active; absent: all."
                )
            ],
            "responses": oa.responses({"200": oa.ok_json({"type": "array", "items": _REF})}, 422),
        },
        "post": {
            "operationId": "createWarehouse",
            "summary": "Create a warehouse; 409 duplicate-warehouse when its name is taken in any case.",
            "requestBody": oa.request_body(WarehouseCreate),
            "responses": oa.responses({"201": oa.ok_json(_REF, "Created", _ETAG)}, 400, 409, 413, 415, 422),
        },
    },
    "/warehouses/{id}": {
        "parameters": [oa.path_id()],
        "get": {
            "operationId": "getWarehouse",
            "summary": "One warehouse.",
            "responses": oa.responses({"200": oa.ok_json(_REF, headers=_ETAG)}, 404),
        },
        "put": {
            "operationId": "updateWarehouse",
            "summary": "Rename (its stock records and movements follow in the same transaction), archive "
            "(409 warehouse-has-stock while it holds units) or restore.",
            "parameters": [oa.IF_MATCH],
            "requestBody": oa.request_body(WarehouseUpdate),
            "responses": oa.responses(
                {"200": oa.ok_json(_REF, headers=_ETAG)}, 400, 404, 409, 412, 413, 415, 422
            ),
        },
    },
}

_AMOUNTS: dict[str, Any] = {
    "units": {"type": "integer", "minimum": 0},
    "value": {
        "type": "string",
        "pattern": r"^\d+\.\d{2}$",
        "description": "Sum of units x cost price over priced products, exact, 2 decimal places, in the "
        "shop's currency (GET /api/settings).",
    },
    "unpriced_units": {
        "type": "integer",
        "minimum": 0,
        "description": "Units of products without a cost price.",
    },
    "unpriced_products": {
        "type": "integer",
        "minimum": 0,
        "description": "Products holding units here without a cost price.",
    },
}
STOCK_VALUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The stock value of every active warehouse (by name) and in total.",
    "required": ["warehouses", "total"],
    "properties": {
        "warehouses": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name", *_AMOUNTS],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "name": {"type": "string"},
                    **_AMOUNTS,
                },
            },
        },
        "total": {"type": "object", "required": list(_AMOUNTS), "properties": _AMOUNTS},
    },
}
_VALUE_EXAMPLE = {"units": 105, "value": "18449.25", "unpriced_units": 30, "unpriced_products": 1}
EXAMPLES["StockValue"] = {
    "warehouses": [
        {
            "id": 1,
            "name": "Warehouse A",
            "units": 200,
            "value": "67497.50",
            "unpriced_units": 0,
            "unpriced_products": 0,
        },
        {"id": 2, "name": "Warehouse B", **_VALUE_EXAMPLE},
    ],
    "total": {"units": 305, "value": "85946.75", "unpriced_units": 30, "unpriced_products": 1},
}
SCHEMAS["StockValue"] = STOCK_VALUE_SCHEMA
PATHS["/stock-value"] = {
    "get": {
        "operationId": "getStockValue",
        "summary": "Units x cost price per active warehouse and in total (exact decimal strings); units of "
        "products without a cost price are counted as unpriced.",
        "responses": oa.responses({"200": oa.ok_json({"$ref": "#/components/schemas/StockValue"})}),
    }
}
