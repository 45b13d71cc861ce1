"""Gateway fixtures: the real product and inventory services as processes on one database, fake upstreams
for faults, and the gateway in-process through aiohttp's test client."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import GatewayConfig
from stockwiz_runtime.config import load_config
from tests.support.processes import ServiceProcess, start_service
from tests.support.warehouses import make_warehouses

GatewayClient = TestClient[Any, Any]
ClientFactory = Callable[..., Awaitable[GatewayClient]]

READ_TOKEN = "swz_read-token-for-tests"
WRITE_TOKEN = "swz_write-token-for-tests"


def token_entry(name: str, scope: str, token: str) -> dict[str, str]:
    return {"name": name, "scope": scope, "sha256": hashlib.sha256(token.encode()).hexdigest()}


API_TOKENS = json.dumps(
    [token_entry("reader", "read", READ_TOKEN), token_entry("writer", "write", WRITE_TOKEN)]
)
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


def gateway_config(products_url: str, inventory_url: str, **env: str) -> GatewayConfig:
    settings = {
        "PRODUCT_SERVICE_URL": products_url,
        "INVENTORY_SERVICE_URL": inventory_url,
        "RATE_LIMIT_PER_MINUTE": "0",
        **env,
    }
    return load_config(GatewayConfig, settings)


@dataclass
class Backends:
    products: ServiceProcess
    inventory: ServiceProcess
    database_url: str


def start_backends(database_url: str, log_dir: Path) -> Generator[Backends, None, None]:
    env = {"DATABASE_URL": database_url, "CHAOS_ENABLED": "true"}
    # Products first: it creates the product table the inventory's foreign key points at.
    products = start_service("products", log_dir, env=env)
    try:
        inventory = start_service("inventory", log_dir, env=env)
        try:
            make_warehouses(inventory.url)
            yield Backends(products, inventory, database_url)
        finally:
            inventory.stop()
    finally:
        products.stop()


@pytest.fixture
def backends(database_url: str, log_dir: Path) -> Iterator[Backends]:
    """Fresh product and inventory processes on an empty database, per backend (SQLite and PostgreSQL)."""
    yield from start_backends(database_url, log_dir)


@pytest.fixture(scope="module")
def shared_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    """One pair of real services on a SQLite file for a whole test module: tests create their own data."""
    directory = tmp_path_factory.mktemp("shared-backends")
    log_dir = directory / "logs"
    log_dir.mkdir()
    yield from start_backends(f"sqlite:///{directory / 'stockwiz.db'}", log_dir)


@pytest.fixture
async def gateway_for(aiohttp_client: ClientFactory) -> Callable[..., Awaitable[GatewayClient]]:
    """Build a gateway in-process against the given upstream URLs and settings."""

    async def build(products_url: str, inventory_url: str, **env: str) -> GatewayClient:
        return await aiohttp_client(create_app(gateway_config(products_url, inventory_url, **env)))

    return build


@pytest.fixture
async def fake_upstream(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> Callable[..., Awaitable[str]]:
    """Start a small aiohttp app standing in for a service; returns its base URL."""

    async def start(app: web.Application) -> str:
        server = await aiohttp_server(app)
        return str(server.make_url("")).rstrip("/")

    return start


@pytest.fixture
async def no_listener() -> AsyncIterator[str]:
    """A URL where nothing listens: connections are refused at once."""
    from tests.support.processes import free_port

    yield f"http://127.0.0.1:{free_port()}"
