"""The product service's OpenAPI document (request bodies from the validating models)."""

from __future__ import annotations

from typing import Any, get_args

from products import imports
from products.schemas import ProductCreate, ProductUpdate, SortKey
from stockwiz_runtime import csvimport
from stockwiz_runtime import openapi as oa
from stockwiz_runtime.validation import SEARCH_PATTERN, id_list_pattern

PRODUCT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "name",
        "description",
        "price",
        "cost_price",
        "category",
        "sku",
        "archived",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "price": {"type": "number", "description": "Exact decimal, 2 decimal places."},
        "cost_price": {
            "type": ["number", "null"],
            "description": "What a unit costs the shop (exact decimal, 2 decimal places); null: not known, "
            "its stock counts as unpriced in the stock value.",
        },
        "category": {"type": ["string", "null"]},
        "sku": {"type": ["string", "null"]},
        "archived": {
            "type": "boolean",
            "description": "Hidden from lists unless ?archived=true; takes no new stock; its ledger is kept.",
        },
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
PRODUCT_REF = {"$ref": "#/components/schemas/Product"}
ETAG = {"ETag": {"description": "The product's version, for If-Match.", "schema": {"type": "string"}}}
LIST_PARAMETERS = [
    oa.query(
        "q",
        {"type": "string", "minLength": 1, "maxLength": 200, "pattern": SEARCH_PATTERN},
        "Case-insensitive search in name, sku, description.",
    ),
    oa.query(
        "category",
        {"type": "string", "minLength": 1, "maxLength": 100, "pattern": SEARCH_PATTERN},
        "Exact category.",
    ),
    oa.query("sort", {"enum": list(get_args(SortKey))}, "Sort key; '-' descends."),
    *oa.PAGING,
    oa.query("ids", {"type": "string", "pattern": id_list_pattern()}, "Comma-separated ids (at most 1000)."),
    oa.query(
        "archived",
        {"type": "boolean"},
        "true: only archived products; false: only active ones. Without it: active products, or every "
        "product named by `ids`.",
    ),
]


PRODUCT_EXAMPLE: dict[str, Any] = {
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
}
EXAMPLES: dict[str, Any] = {
    "ImportReport": csvimport.REPORT_EXAMPLE,
    "Product": PRODUCT_EXAMPLE,
    "ProductCreate": {
        "name": "Monitor 4K",
        "description": "27-inch 4K monitor",
        "price": 499.99,
        "category": "Electronics",
        "sku": "MON-4K",
    },
    "ProductUpdate": {"price": 459.0, "cost_price": 310.5, "category": None},
}


def openapi_document() -> dict[str, Any]:
    product = oa.ok_json(PRODUCT_REF, headers=ETAG)
    paths = {
        "/products": {
            "get": {
                "operationId": "listProducts",
                "summary": "List products (a bare array; pagination in headers).",
                "parameters": LIST_PARAMETERS,
                "responses": oa.responses(
                    {"200": oa.ok_json({"type": "array", "items": PRODUCT_REF}, headers=oa.PAGE_HEADERS)}, 422
                ),
            },
            "post": {
                "operationId": "createProduct",
                "summary": "Create a product.",
                "requestBody": oa.request_body(ProductCreate),
                "responses": oa.responses(
                    {"201": {**oa.ok_json(PRODUCT_REF, "Created", ETAG)}}, 409, 413, 415, 422
                ),
            },
        },
        "/products/import.csv": {
            "post": csvimport.import_operation(
                "importProducts",
                "Import products from CSV (the products export's columns), matched by SKU: a new SKU is "
                "created, a known one updated.",
                imports.COLUMNS,
                "sku,name,price,category\r\nMON-4K,Monitor 4K,499.99,Electronics\r\n",
            )
        },
        "/products/categories": {
            "get": {
                "operationId": "listCategories",
                "summary": "Distinct categories with their counts of active (not archived) products.",
                "responses": oa.responses(
                    {
                        "200": oa.ok_json(
                            {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["category", "count"],
                                    "properties": {
                                        "category": {"type": "string"},
                                        "count": {"type": "integer"},
                                    },
                                },
                            }
                        )
                    }
                ),
            }
        },
        "/products/{id}": {
            "parameters": [oa.path_id()],
            "get": {
                "operationId": "getProduct",
                "summary": "One product.",
                "responses": oa.responses({"200": product}, 404),
            },
            "put": {
                "operationId": "updateProduct",
                "summary": "Partial update; null clears description, category or sku; "
                "archived: true archives.",
                "parameters": [oa.IF_MATCH],
                "requestBody": oa.request_body(ProductUpdate),
                "responses": oa.responses({"200": product}, 404, 409, 412, 413, 415, 422),
            },
            "delete": {
                "operationId": "deleteProduct",
                "summary": "Delete a product whose stock is gone: its stock records, all at 0 units, go "
                "with it (each leaves a `delete` movement); 409 product-has-stock while any record holds "
                "units.",
                "parameters": [oa.IF_MATCH],
                "responses": oa.responses({"204": {"description": "Deleted"}}, 404, 409, 412),
            },
        },
    }
    return oa.document(
        title="StockWiz product service",
        version="1.0.0",
        description="The product catalogue. Errors are application/problem+json (RFC 9457).",
        paths=paths,
        schemas={
            "Product": PRODUCT_SCHEMA,
            "ImportReport": csvimport.REPORT_SCHEMA,
            **oa.schemas_of(ProductCreate, ProductUpdate),
        },
        examples=EXAMPLES,
    )
