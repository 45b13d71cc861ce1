"""The inventory service's OpenAPI document (request bodies from the validating models)."""

from __future__ import annotations

from typing import Any

from inventory import imports, warehouse_openapi
from inventory.schemas import (
    MAX_QUANTITY,
    MAX_SUMMARY_IDS,
    REASONS,
    AdjustRequest,
    InventoryCreate,
    InventoryUpdate,
    TransferRequest,
)
from stockwiz_runtime import csvimport
from stockwiz_runtime import openapi as oa
from stockwiz_runtime.validation import MAX_ID


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ID = {"type": "integer", "minimum": 1}
_QUANTITY = {"type": "integer", "minimum": 0, "maximum": MAX_QUANTITY}
RECORD_FIELDS = [
    "id",
    "product_id",
    "warehouse",
    "quantity",
    "reorder_point",
    "reorder_quantity",
    "last_updated",
    "version",
]
_REORDER_QUANTITY = {**_QUANTITY, "description": "Units to order when low; 0 means not set."}
RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Stock of one product in one warehouse.",
    "required": RECORD_FIELDS,
    "properties": {
        "id": _ID,
        "product_id": _ID,
        "warehouse": {"type": "string"},
        "quantity": _QUANTITY,
        "reorder_point": {**_QUANTITY, "description": "Low stock when quantity <= reorder_point."},
        "reorder_quantity": _REORDER_QUANTITY,
        "last_updated": {"type": "string", "format": "date-time"},
        "version": {"type": "integer", "minimum": 1, "description": "Also the record's ETag."},
    },
}
LISTED_RECORD_SCHEMA: dict[str, Any] = {
    **RECORD_SCHEMA,
    "description": "A stock record as lists give it: with its product's name and SKU.",
    "required": [*RECORD_FIELDS, "product_name", "sku"],
    "properties": {
        **RECORD_SCHEMA["properties"],
        "product_name": {"type": ["string", "null"], "description": "null only if the product is gone."},
        "sku": {"type": ["string", "null"]},
    },
}
MOVEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One entry of the append-only ledger, with its product's name and SKU; a record's "
    "movements sum to its quantity.",
    "required": [
        "id",
        "inventory_id",
        "product_id",
        "warehouse",
        "delta",
        "quantity_after",
        "reason",
        "note",
        "reference",
        "request_id",
        "actor",
        "created_at",
        "product_name",
        "sku",
    ],
    "properties": {
        "id": _ID,
        "inventory_id": _ID,
        "product_id": _ID,
        "warehouse": {"type": "string"},
        "delta": {"type": "integer"},
        "quantity_after": _QUANTITY,
        "reason": {"enum": list(REASONS)},
        "note": {"type": ["string", "null"]},
        "reference": {"type": ["string", "null"]},
        "request_id": {"type": ["string", "null"]},
        "actor": {
            "type": ["string", "null"],
            "description": "Who made the change: the name of the API token the gateway admitted; null when "
            "nobody was named (movements from before the actor was recorded, an open gateway).",
        },
        "created_at": {"type": "string", "format": "date-time"},
        "product_name": {"type": ["string", "null"], "description": "null only if the product is gone."},
        "sku": {"type": ["string", "null"]},
    },
}
PRODUCT_STOCK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The upstream single-record shape kept meaningful across warehouses: quantity is the "
    "total, id/warehouse/reorder_point those of the main warehouse (most units; oldest record on a tie).",
    "required": ["id", "product_id", "quantity", "warehouse", "reorder_point", "last_updated", "warehouses"],
    "properties": {
        "id": _ID,
        "product_id": _ID,
        "quantity": {"type": "integer", "minimum": 0},
        "warehouse": {"type": "string"},
        "reorder_point": _QUANTITY,
        "last_updated": {"type": "string", "format": "date-time"},
        "warehouses": {"type": "array", "items": _ref("InventoryRecord")},
    },
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Keyed by product id; products without stock records are absent.",
    "propertyNames": {"pattern": r"^[1-9][0-9]*$"},
    "additionalProperties": {
        "type": "object",
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
                        "id": _ID,
                        "warehouse": {"type": "string"},
                        "quantity": _QUANTITY,
                        "reorder_point": _QUANTITY,
                        "reorder_quantity": _REORDER_QUANTITY,
                    },
                },
            },
        },
    },
}
PRODUCT_VIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A product as the product service shows it, with its stock as the summary gives it.",
    "required": [
        "id",
        "name",
        "description",
        "price",
        "category",
        "sku",
        "archived",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": _ID,
        "name": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "price": {"type": "number", "description": "Exact, two decimals."},
        "category": {"type": ["string", "null"]},
        "sku": {"type": ["string", "null"]},
        "archived": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "inventory": SUMMARY_SCHEMA["additionalProperties"],
    },
}
TRANSFER_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["product_id", "quantity", "from", "to"],
    "properties": {
        "product_id": _ID,
        "quantity": {"type": "integer", "minimum": 1},
        "from": _ref("InventoryRecord"),
        "to": _ref("InventoryRecord"),
    },
}

ETAG = {"ETag": {"description": "The record's version, for If-Match.", "schema": {"type": "string"}}}
PRODUCT_ETAG = {
    "ETag": {
        "description": "The product's version, for If-Match on the product.",
        "schema": {"type": "string"},
    }
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with the same key.",
        "schema": {"type": "string"},
    }
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A unique key (a UUID) per intended change: a retry with the same key and body returns "
    "the first response and changes nothing; the same key with another body is a 422. Keys expire after "
    "IDEMPOTENCY_KEY_TTL_HOURS (24 by default).",
    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
}


RECORD_FILTERS = [
    oa.query("product_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "Only this product."),
    oa.query(
        "warehouse", {"type": "string", "minLength": 1, "maxLength": 100}, "Only this warehouse (exact)."
    ),
]
_MOMENT = {
    "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
}
MOVEMENT_FILTERS = [
    *RECORD_FILTERS,
    oa.query("reason", {"enum": list(REASONS)}, "Only this reason."),
    oa.query(
        "actor", {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,64}$"}, "Only changes by this actor."
    ),
    oa.query(
        "from",
        _MOMENT,
        "Only movements at or after this ISO date or date-time (UTC unless it has an offset).",
    ),
    oa.query(
        "to",
        _MOMENT,
        "Only movements at or before this ISO date-time, or during and before this ISO date; before `from` "
        "is a 422.",
    ),
]


def _list(
    operation_id: str, items: str, summary: str, parameters: list[dict[str, Any]], *problems: int
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters,
        "responses": oa.responses(
            {"200": oa.ok_json({"type": "array", "items": _ref(items)}, headers=oa.PAGE_HEADERS)},
            422,
            *problems,
        ),
    }


RECORD_EXAMPLE: dict[str, Any] = {
    "id": 4,
    "product_id": 4,
    "warehouse": "Warehouse B",
    "quantity": 25,
    "reorder_point": 30,
    "reorder_quantity": 50,
    "last_updated": "2026-03-02T14:05:00+00:00",
    "version": 3,
}

# One product's stock as the summary and the product view show it.
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "quantity": 35,
    "warehouse": "Warehouse B",
    "warehouses": [
        {
            "id": 4,
            "warehouse": "Warehouse B",
            "quantity": 25,
            "reorder_point": 30,
            "reorder_quantity": 50,
        },
        {
            "id": 9,
            "warehouse": "Warehouse A",
            "quantity": 10,
            "reorder_point": 30,
            "reorder_quantity": 50,
        },
    ],
}

EXAMPLES: dict[str, Any] = {
    "InventoryRecord": RECORD_EXAMPLE,
    "ListedStockRecord": {**RECORD_EXAMPLE, "product_name": "Monitor 4K", "sku": "MON-4K"},
    "Movement": {
        "id": 17,
        "inventory_id": 4,
        "product_id": 4,
        "warehouse": "Warehouse B",
        "delta": -5,
        "quantity_after": 25,
        "reason": "ship",
        "note": None,
        "reference": "order 1042",
        "request_id": "0b7f3c1e-2f4d-4a8e-9b61-2d0c5e7a9f13",
        "actor": "warehouse-desk",
        "created_at": "2026-03-02T14:05:00+00:00",
        "product_name": "Monitor 4K",
        "sku": "MON-4K",
    },
    "ProductStock": {
        "id": 4,
        "product_id": 4,
        "quantity": 35,
        "warehouse": "Warehouse B",
        "reorder_point": 30,
        "last_updated": "2026-03-02T14:05:00+00:00",
        "warehouses": [
            RECORD_EXAMPLE,
            {**RECORD_EXAMPLE, "id": 9, "warehouse": "Warehouse A", "quantity": 10, "version": 1},
        ],
    },
    "ProductView": {
        "id": 4,
        "name": "Monitor 4K",
        "description": "27-inch 4K monitor",
        "price": 499.99,
        "cost_price": 318.0,
        "category": "Electronics",
        "sku": "MON-4K",
        "archived": False,
        "created_at": "2026-03-01T09:30:00+00:00",
        "updated_at": "2026-03-02T14:05:00+00:00",
        "inventory": _SUMMARY_EXAMPLE,
    },
    "StockSummary": {"4": _SUMMARY_EXAMPLE},
    "TransferResult": {
        "product_id": 4,
        "quantity": 10,
        "from": {**RECORD_EXAMPLE, "quantity": 15, "version": 4},
        "to": {**RECORD_EXAMPLE, "id": 9, "warehouse": "Warehouse A", "quantity": 20, "version": 2},
    },
    "ImportReport": csvimport.REPORT_EXAMPLE,
    "InventoryCreate": {"product_id": 4, "warehouse": "Warehouse B", "quantity": 30, "reorder_point": 30},
    "InventoryUpdate": {"quantity": 28, "note": "stock count, aisle 3"},
    "AdjustRequest": {"delta": -5, "reason": "ship", "reference": "order 1042"},
    "TransferRequest": {
        "product_id": 4,
        "from_warehouse": "Warehouse B",
        "to_warehouse": "Warehouse A",
        "quantity": 10,
    },
}


def openapi_document() -> dict[str, Any]:
    record = oa.ok_json(_ref("InventoryRecord"), headers=ETAG)
    paths = {
        "/inventory": {
            "get": _list(
                "listStockRecords",
                "ListedStockRecord",
                "List stock records by id, each with its product's name and SKU (a bare array; pagination "
                "in headers).",
                [
                    *RECORD_FILTERS,
                    *oa.PAGING,
                ],
            ),
            "post": {
                "operationId": "createStockRecord",
                "summary": "Create the stock record of a product in a warehouse (a `create` movement).",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": oa.request_body(InventoryCreate),
                "responses": oa.responses(
                    {"201": oa.ok_json(_ref("InventoryRecord"), "Created", {**ETAG, **REPLAYED})},
                    400,
                    409,
                    413,
                    415,
                    422,
                ),
            },
        },
        "/inventory/low-stock": {
            "get": _list(
                "listLowStock",
                "ListedStockRecord",
                "Records with quantity <= reorder_point, by id, each with its product's name and SKU.",
                [*RECORD_FILTERS, *oa.PAGING],
            )
        },
        "/inventory/summary": {
            "get": {
                "operationId": "getStockSummary",
                "summary": "Total and per-warehouse stock of several products in one call.",
                "parameters": [
                    {
                        "name": "product_ids",
                        "in": "query",
                        "required": True,
                        "description": f"Comma-separated product ids (at most {MAX_SUMMARY_IDS}).",
                        "schema": {"type": "string", "pattern": r"^\d+(,\d+)*$"},
                    }
                ],
                "responses": oa.responses({"200": oa.ok_json(_ref("StockSummary"))}, 422),
            }
        },
        "/inventory/movements": {
            "get": _list(
                "listMovements",
                "Movement",
                "The shop-wide movement log, newest first, each with its product's name and SKU.",
                [*MOVEMENT_FILTERS, *oa.PAGING],
            ),
        },
        "/inventory/import.csv": {
            "post": csvimport.import_operation(
                "importStock",
                "Import opening stock from CSV (the stock export's columns): new records are created, "
                "existing ones set to the file's quantity as a count.",
                imports.COLUMNS,
                "sku,warehouse,quantity,reorder_point\r\nMON-4K,Warehouse B,30,10\r\n",
            )
        },
        "/inventory/transfer": {
            "post": {
                "operationId": "transferStock",
                "summary": "Move units between two warehouses of a product; the target record is created if "
                "missing. Both records change or neither does. Both warehouses must exist (422 "
                "unknown-warehouse); the target must not be archived (409 warehouse-archived).",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": oa.request_body(TransferRequest),
                "responses": oa.responses(
                    {"200": oa.ok_json(_ref("TransferResult"), headers=REPLAYED)},
                    400,
                    404,
                    409,
                    413,
                    415,
                    422,
                ),
            }
        },
        "/inventory/product/{product_id}": {
            "parameters": [oa.path_id("product_id")],
            "get": {
                "operationId": "getProductStock",
                "summary": "A product's stock: total, main warehouse, and every warehouse's record.",
                "responses": oa.responses({"200": oa.ok_json(_ref("ProductStock"))}, 404),
            },
        },
        "/inventory/product-view/{product_id}": {
            "parameters": [oa.path_id("product_id")],
            "get": {
                "operationId": "getProductView",
                "summary": "A product (as the product service shows it) with its stock summary under "
                "`inventory`, read in one statement: the gateway's GET /api/products/{id}. No `inventory` "
                "key when the product has no stock records.",
                "responses": oa.responses(
                    {"200": oa.ok_json(_ref("ProductView"), headers=PRODUCT_ETAG)}, 404
                ),
            },
        },
        "/inventory/{id}": {
            "parameters": [oa.path_id()],
            "get": {
                "operationId": "getStockRecord",
                "summary": "One stock record.",
                "responses": oa.responses({"200": record}, 404),
            },
            "put": {
                "operationId": "updateStockRecord",
                "summary": "Set absolute values; a quantity is recorded as a `count` movement.",
                "parameters": [oa.IF_MATCH],
                "requestBody": oa.request_body(InventoryUpdate),
                "responses": oa.responses({"200": record}, 404, 409, 412, 413, 415, 422),
            },
            "delete": {
                "operationId": "deleteStockRecord",
                "summary": "Delete a stock record; its units leave the ledger as a `delete` movement.",
                "parameters": [oa.IF_MATCH],
                "responses": oa.responses({"204": {"description": "Deleted"}}, 404, 412),
            },
        },
        "/inventory/{id}/adjust": {
            "parameters": [oa.path_id()],
            "post": {
                "operationId": "adjustStock",
                "summary": "Add or take units atomically; taking more than is there is a 409 and changes "
                "nothing.",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": oa.request_body(AdjustRequest),
                "responses": oa.responses(
                    {"200": oa.ok_json(_ref("InventoryRecord"), headers={**ETAG, **REPLAYED})},
                    400,
                    404,
                    409,
                    413,
                    415,
                    422,
                ),
            },
        },
        "/inventory/{id}/movements": {
            "parameters": [oa.path_id()],
            "get": _list(
                "listStockRecordMovements",
                "Movement",
                "A record's ledger, newest first (readable after the record is deleted).",
                [*MOVEMENT_FILTERS, *oa.PAGING],
                404,
            ),
        },
        **warehouse_openapi.PATHS,
    }
    return oa.document(
        title="StockWiz inventory service",
        version="1.0.0",
        description="Stock per product and warehouse; every change is an atomic movement in a ledger. Errors "
        "are application/problem+json (RFC 9457).",
        paths=paths,
        schemas={
            "InventoryRecord": RECORD_SCHEMA,
            "ListedStockRecord": LISTED_RECORD_SCHEMA,
            "Movement": MOVEMENT_SCHEMA,
            "ProductStock": PRODUCT_STOCK_SCHEMA,
            "ProductView": PRODUCT_VIEW_SCHEMA,
            "StockSummary": SUMMARY_SCHEMA,
            "TransferResult": TRANSFER_RESULT_SCHEMA,
            "ImportReport": csvimport.REPORT_SCHEMA,
            **oa.schemas_of(InventoryCreate, InventoryUpdate, AdjustRequest, TransferRequest),
            **warehouse_openapi.SCHEMAS,
        },
        examples={**EXAMPLES, **warehouse_openapi.EXAMPLES},
    )
