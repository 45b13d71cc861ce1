"""Schemathesis against a real service process: each service's own /openapi.json document drives generated
requests (valid and invalid), and every response must be no 5xx and conform to the document."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.processes import ServiceProcess, start_service

# Bounded so CI stays fast; raise STOCKWIZ_FUZZ_EXAMPLES for a deeper local run.
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("STOCKWIZ_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


# A generated If-Match cannot name the current version, so 412 is the right answer to a schema-valid write;
# everything else keeps schemathesis' defaults.
FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"allow-x00": False},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "429"],
            }
        },
        # A CSV import's body is a string to the schema, which cannot say which files have the right
        # columns and rows: a bad file is a 422 listing its rows, and that is the right answer.
        "operations": [
            {
                "include-path-regex": r"/import\.csv$",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"],
                    }
                },
            }
        ],
    }
)


def load_schema(document: dict[str, Any]) -> OpenApiSchema:
    return schemathesis.openapi.from_dict(document, config=FUZZ_CONFIG)


def running_service(
    module: str, backend: str, tmp: Path, env: dict[str, str] | None = None
) -> Iterator[ServiceProcess]:
    """The service as a process on a fresh database of `backend`, with the demo data to find."""
    database = (
        f"sqlite:///{tmp / 'fuzz.db'}" if backend == "sqlite" else asyncio.run(create_postgres_database())
    )
    service = start_service(
        module,
        tmp,
        env={"DATABASE_URL": database, "SEED_DEMO_DATA": "true", "LOG_LEVEL": "WARNING", **(env or {})},
    )
    try:
        yield service
    finally:
        service.stop()
        if backend != "sqlite":
            asyncio.run(drop_postgres_database(database))
