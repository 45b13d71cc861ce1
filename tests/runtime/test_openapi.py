"""The three OpenAPI documents as an integrator reads them: every operation named, every schema with an
example that the schema (and, for request bodies, the validating model) accepts, JSON Schema keywords only."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from gateway.openapi import merge_service_document
from gateway.openapi import openapi_document as gateway_document
from inventory.openapi import openapi_document as inventory_document
from inventory.schemas import (
    AdjustRequest,
    InventoryCreate,
    InventoryUpdate,
    TransferRequest,
    WarehouseCreate,
    WarehouseUpdate,
)
from products.openapi import openapi_document as products_document
from products.schemas import ProductCreate, ProductUpdate
from stockwiz_runtime import openapi as oa

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ProductCreate,
    ProductUpdate,
    InventoryCreate,
    InventoryUpdate,
    AdjustRequest,
    TransferRequest,
    WarehouseCreate,
    WarehouseUpdate,
)


def public_document() -> dict[str, Any]:
    """The gateway's document as it serves it once both services answered."""
    document = gateway_document()
    merge_service_document(document, "products", products_document())
    merge_service_document(document, "inventory", inventory_document())
    return document


DOCUMENTS = {
    "products": products_document,
    "inventory": inventory_document,
    "gateway": public_document,
}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_operation_has_a_unique_operation_id(name: str) -> None:
    document = DOCUMENTS[name]()
    ids = [
        (operation.get("operationId"), f"{method.upper()} {path}")
        for method, path, operation in operations(document)
    ]
    assert [where for op_id, where in ids if not op_id] == []
    seen: dict[str, str] = {}
    for op_id, where in ids:
        assert isinstance(op_id, str), where
        assert op_id not in seen, f"{op_id} names both {seen[op_id]} and {where}"
        seen[op_id] = where
    assert len(seen) >= 10


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_schema_has_an_example_that_it_accepts(name: str) -> None:
    document = DOCUMENTS[name]()
    schemas = document["components"]["schemas"]
    for schema_name, schema in schemas.items():
        examples = schema.get("examples")
        assert examples, f"{schema_name} has no example"
        # The component resolves its $refs against the document's other components.
        validator = Draft202012Validator(
            {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for example in examples:
            errors = [error.message for error in validator.iter_errors(example)]
            assert errors == [], f"{name}: the {schema_name} example is invalid: {errors}"


def test_the_schema_validator_would_notice_a_wrong_example() -> None:
    # The check above is only worth something if a wrong example fails it.
    document = inventory_document()
    validator = Draft202012Validator(
        {"$ref": "#/components/schemas/TransferResult", "components": document["components"]}
    )
    wrong = copy.deepcopy(document["components"]["schemas"]["TransferResult"]["examples"][0])
    wrong["from"]["quantity"] = -1
    assert list(validator.iter_errors(wrong))


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda model: model.__name__)
def test_request_body_examples_are_accepted_by_the_api_models(model: type[BaseModel]) -> None:
    for document in (products_document(), inventory_document()):
        schema = document["components"]["schemas"].get(model.__name__)
        if schema is not None:
            for example in schema["examples"]:
                model.model_validate(example)
            return
    pytest.fail(f"{model.__name__} is in no document")


def _schema_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key in ("properties", "schemas") and isinstance(value, dict):
                # Property and schema names are data, not keywords: only their schemas are walked.
                for schema in value.values():
                    yield from _schema_keys(schema)
            else:
                yield from _schema_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_keys(item)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_bounds_are_json_schema_keywords(name: str) -> None:
    keys = set(_schema_keys(DOCUMENTS[name]()["components"]["schemas"]))
    assert keys & {"ge", "le", "gt", "lt"} == set()
    assert "minimum" in keys and "maximum" in keys


def test_a_document_without_an_example_for_a_schema_is_refused() -> None:
    with pytest.raises(ValueError, match=r"missing for \['Thing'\]"):
        oa.document(
            title="t",
            version="1",
            description="d",
            paths={},
            schemas={"Thing": {"type": "object"}},
            examples={},
        )


def test_the_imports_are_documented_under_their_public_paths() -> None:
    """The gateway's /api/import/{name}.csv are the services' import operations, described by the services
    (so the columns cannot drift), under their own operationIds."""
    paths = public_document()["paths"]
    for name, operation_id, service_path in (
        ("products", "importProductsCsv", "/api/products/import.csv"),
        ("stock", "importStockCsv", "/api/inventory/import.csv"),
    ):
        operation = paths[f"/api/import/{name}.csv"]["post"]
        assert operation["operationId"] == operation_id
        assert operation["security"] == [{"bearerAuth": []}]
        assert "text/csv" in operation["requestBody"]["content"]
        assert operation["parameters"][0]["name"] == "dry_run"
        assert operation["description"] == paths[service_path]["post"]["description"]
        assert {"200", "409", "413", "415", "422"} <= set(operation["responses"])
