"""Schemathesis against a real inventory process (with the product service on the same database, both
seeded): no 5xx, every response conforms to the inventory's own /openapi.json, and the ledger still
balances after the whole run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from inventory.openapi import openapi_document
from tests.fuzz.harness import FUZZ_SETTINGS
from tests.inventory.conftest import ledger_violations
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.processes import ServiceProcess, start_service

pytestmark = pytest.mark.slow  # starts the services as processes

# As the shared harness, plus 422: a schema-valid body can still name a product that does not exist, reuse
# an Idempotency-Key for another body, or transfer from a warehouse to itself.
FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"],
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(openapi_document(), config=FUZZ_CONFIG)


@pytest.fixture
async def ledger_invariant() -> AsyncIterator[None]:
    """Replaces the package's per-test check: this module checks its own database once, after the run."""
    yield


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def inventory_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("fuzz-inventory")
    database = (
        f"sqlite:///{tmp / 'fuzz.db'}"
        if request.param == "sqlite"
        else asyncio.run(create_postgres_database())
    )
    env = {"DATABASE_URL": database, "SEED_DEMO_DATA": "true", "LOG_LEVEL": "WARNING"}
    products = start_service("products", tmp, env=env)
    try:
        inventory = start_service("inventory", tmp, env=env)
        try:
            yield inventory
            assert asyncio.run(ledger_violations(database)) == []
            assert "Traceback" not in inventory.log()
        finally:
            inventory.stop()
    finally:
        products.stop()
        if request.param != "sqlite":
            asyncio.run(drop_postgres_database(database))


@schema.parametrize()
@FUZZ_SETTINGS
def test_inventory_api_conforms(case: schemathesis.Case[Any], inventory_service: ServiceProcess) -> None:
    case.call_and_validate(base_url=inventory_service.url)
