"""Building blocks of each service's OpenAPI 3.1 document. Bodies come from the same pydantic models that
validate requests, so the document cannot drift from what the handlers accept."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from stockwiz_runtime.jsonio import json_response
from stockwiz_runtime.keys import OPENAPI
from stockwiz_runtime.validation import MAX_OFFSET, MAX_PAGE_SIZE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "instance", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "type"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


PAGE_HEADERS: dict[str, Any] = {
    "X-Total-Count": {"description": "Items matching the filters.", "schema": {"type": "integer"}},
    "Link": {"description": 'The next page, as <...>; rel="next".', "schema": {"type": "string"}},
}
IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "An ETag from a previous read; a stale one is refused with 412. Without it the write is "
    "unconditional.",
    "schema": {"type": "string"},
}


def path_id(name: str = "id") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PAGING = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 100}, "Page size."),
    query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, "Items to skip."),
]


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def problem(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def responses(ok: dict[str, dict[str, Any]], *problems: int) -> dict[str, Any]:
    """Success responses plus the listed problems; `default` documents that any other error is a problem."""
    result: dict[str, Any] = dict(ok)
    for status in problems:
        result[str(status)] = problem(status)
    result["default"] = problem(500, "Any other error, as problem+json.")
    return result


def ok_json(
    schema: dict[str, Any], description: str = "OK", headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": json_content(schema)}
    if headers:
        response["headers"] = headers
    return response


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": json_content(ref(model))}


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


# pydantic writes a bound that sits inside a nested Annotated (ProductId = Annotated[StrictInt, Field(ge=1)])
# under its own keyword, which JSON Schema does not know: validators and generated clients would ignore it.
_PYDANTIC_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _json_schema_bounds(node: Any) -> Any:
    if isinstance(node, dict):
        return {_PYDANTIC_BOUNDS.get(key, key): _json_schema_bounds(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_json_schema_bounds(item) for item in node]
    return node


def schemas_of(*models: type[BaseModel]) -> dict[str, Any]:
    collected: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        collected.update(schema.pop("$defs", {}))
        collected[model.__name__] = schema
    bounded: dict[str, Any] = _json_schema_bounds(collected)
    return bounded


def _runtime_paths() -> dict[str, Any]:
    status_schema = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}
    checks = {**status_schema, "properties": {"status": {"type": "string"}, "checks": {"type": "object"}}}
    health = {
        "type": "object",
        "required": ["status", "service"],
        "properties": {"status": {"enum": ["healthy", "unhealthy"]}, "service": {"type": "string"}},
    }
    return {
        "/livez": {
            "get": {
                "operationId": "getLiveness",
                "summary": "Liveness: the process serves.",
                "tags": ["operations"],
                "responses": {"200": ok_json(status_schema)},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "getReadiness",
                "summary": "Readiness: dependencies answer.",
                "tags": ["operations"],
                "responses": {"200": ok_json(checks), "503": ok_json(checks, "Not ready")},
            }
        },
        "/health": {
            "get": {
                "operationId": "getHealth",
                "summary": "Health in the earlier StockWiz shape.",
                "tags": ["operations"],
                "responses": {"200": ok_json(health), "503": ok_json(health, "Unhealthy")},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "getMetrics",
                "summary": "Prometheus metrics.",
                "tags": ["operations"],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApiDocument",
                "summary": "This document.",
                "tags": ["operations"],
                "responses": {"200": ok_json({"type": "object"})},
            }
        },
    }


PROBLEM_EXAMPLE: dict[str, Any] = {
    "type": "urn:stockwiz:problem:insufficient-stock",
    "title": "Conflict",
    "status": 409,
    "detail": "stock record 4 holds 12; cannot take 20",
    "instance": "/api/inventory/4/adjust",
    "request_id": "0b7f3c1e-2f4d-4a8e-9b61-2d0c5e7a9f13",
    "available": 12,
    "requested": 20,
}


def document(
    *,
    title: str,
    version: str,
    description: str,
    paths: dict[str, Any],
    schemas: dict[str, Any],
    examples: Mapping[str, Any],
) -> dict[str, Any]:
    """The document, with one example per component schema (`examples`: schema name -> a valid value).

    Every schema must have an example and every example a schema, so a new schema cannot be published
    without one; tests/runtime/test_openapi.py checks each example against its schema."""
    components = {"Problem": PROBLEM_SCHEMA, **schemas}
    all_examples = {"Problem": PROBLEM_EXAMPLE, **examples}
    if set(components) != set(all_examples):
        missing, unknown = set(components) - set(all_examples), set(all_examples) - set(components)
        raise ValueError(f"OpenAPI examples: missing for {sorted(missing)}, unknown {sorted(unknown)}")
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": {**paths, **_runtime_paths()},
        "components": {
            "schemas": {
                name: {**copy.deepcopy(schema), "examples": [copy.deepcopy(all_examples[name])]}
                for name, schema in components.items()
            }
        },
    }


async def serve_openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI])
