from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from products.openapi import openapi_document
from tests.fuzz.harness import FUZZ_SETTINGS, load_schema, running_service
from tests.support.processes import ServiceProcess

schema = load_schema(openapi_document())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def products_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    yield from running_service("products", request.param, tmp_path_factory.mktemp("fuzz-products"))


@schema.parametrize()
@FUZZ_SETTINGS
def test_products_api_conforms(case: schemathesis.Case[Any], products_service: ServiceProcess) -> None:
    case.call_and_validate(base_url=products_service.url)
