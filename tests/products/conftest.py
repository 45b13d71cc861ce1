from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from products.app import create_app
from products.config import ProductsConfig
from stockwiz_runtime.config import load_config

ProductsClient = TestClient[Any, Any]


def products_config(database_url: str, **env: str) -> ProductsConfig:
    return load_config(ProductsConfig, {"DATABASE_URL": database_url, **env})


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[ProductsClient]], database_url: str
) -> ProductsClient:
    """The product service on an empty database, through aiohttp's test client."""
    return await aiohttp_client(create_app(products_config(database_url)))
