"""The product service's read cache (products.cache), on SQLite and on PostgreSQL: a task reads its own
writes at once, another task's writes within PRODUCT_CACHE_SECONDS, stock is not its business, and it stays
within its memory bound. Two product-service apps on one database stand for two tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from products.app import create_app
from products.cache import ReadCache
from products.handlers import READ_CACHE
from tests.products.conftest import ProductsClient, products_config

Factory = Callable[..., Awaitable[ProductsClient]]
TTL = 0.6


async def task(aiohttp_client: Factory, database_url: str, **env: str) -> ProductsClient:
    return await aiohttp_client(create_app(products_config(database_url, **env)))


def cache_of(client: ProductsClient) -> ReadCache:
    assert client.app is not None
    cache: ReadCache = client.app[READ_CACHE]
    return cache


async def create(client: ProductsClient, name: str, price: float = 10.5) -> dict[str, Any]:
    response = await client.post("/products", json={"name": name, "price": price, "category": "Cached"})
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def name_of(client: ProductsClient, product_id: int) -> str:
    response = await client.get(f"/products/{product_id}")
    assert response.status == 200
    return str((await response.json())["name"])


async def names_listed(client: ProductsClient, query: str = "category=Cached") -> list[str]:
    response = await client.get(f"/products?{query}")
    assert response.status == 200
    return [product["name"] for product in await response.json()]


async def test_a_task_reads_its_own_writes_at_once(aiohttp_client: Factory, database_url: str) -> None:
    client = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS="60")
    product = await create(client, "Before")
    assert await name_of(client, product["id"]) == "Before"  # cached from here on
    assert await names_listed(client) == ["Before"]
    updated = await client.put(f"/products/{product['id']}", json={"name": "After", "price": 10.5})
    assert updated.status == 200
    assert await name_of(client, product["id"]) == "After"
    assert await names_listed(client) == ["After"]
    await create(client, "Second")
    assert await names_listed(client) == ["After", "Second"]
    response = await client.get(f"/products/{product['id']}")
    assert response.headers["ETag"] == '"2"'
    assert (await client.delete(f"/products/{product['id']}")).status == 204
    assert (await client.get(f"/products/{product['id']}")).status == 404
    assert await names_listed(client) == ["Second"]


async def test_another_tasks_write_shows_within_the_bound(aiohttp_client: Factory, database_url: str) -> None:
    reader = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS=str(TTL))
    writer = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS=str(TTL))
    product = await create(writer, "Old")
    assert await name_of(reader, product["id"]) == "Old"
    assert await names_listed(reader) == ["Old"]
    first = await reader.get(f"/products/{product['id']}")
    assert (await writer.put(f"/products/{product['id']}", json={"name": "New", "price": 1})).status == 200
    # Within the bound the reader may still answer what it cached, ETag included (a PUT with that stale
    # ETag is refused by the version check, so nothing is lost by it) ...
    stale = await reader.get(f"/products/{product['id']}")
    assert (await stale.json())["name"] == "Old" and stale.headers["ETag"] == first.headers["ETag"] == '"1"'
    refused = await reader.put(
        f"/products/{product['id']}", json={"name": "Lost", "price": 1}, headers={"If-Match": '"1"'}
    )
    assert refused.status == 412
    # ... and after it, never: the reader's own refused write dropped its cache anyway; the list too.
    await asyncio.sleep(TTL + 0.1)
    assert await name_of(reader, product["id"]) == "New"
    assert await names_listed(reader) == ["New"]


async def test_stale_answers_expire_without_any_write_through_the_reader(
    aiohttp_client: Factory, database_url: str
) -> None:
    reader = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS=str(TTL))
    writer = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS=str(TTL))
    product = await create(writer, "Old")
    assert await names_listed(reader) == ["Old"]
    assert await name_of(reader, product["id"]) == "Old"
    assert (await writer.put(f"/products/{product['id']}", json={"name": "New", "price": 1})).status == 200
    assert await names_listed(reader) == ["Old"]  # the cache is in use: this is what the bound allows
    await asyncio.sleep(TTL + 0.1)
    assert await names_listed(reader) == ["New"]
    assert await name_of(reader, product["id"]) == "New"


async def test_search_and_a_disabled_cache_always_read_the_database(
    aiohttp_client: Factory, database_url: str
) -> None:
    uncached = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS="0")
    cached = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS="60")
    writer = await task(aiohttp_client, database_url)
    product = await create(writer, "Old")
    assert await name_of(uncached, product["id"]) == "Old"
    assert await names_listed(cached, "q=Old") == ["Old"]
    assert (await writer.put(f"/products/{product['id']}", json={"name": "New", "price": 1})).status == 200
    assert await name_of(uncached, product["id"]) == "New"
    assert await names_listed(cached, "q=Old") == []
    assert len(cache_of(uncached)) == 0


async def test_the_cache_keeps_to_its_memory_bound(aiohttp_client: Factory, database_url: str) -> None:
    client = await task(aiohttp_client, database_url, PRODUCT_CACHE_SECONDS="60", PRODUCT_CACHE_BYTES="2000")
    ids = [(await create(client, f"Product {index}"))["id"] for index in range(12)]
    for product_id in ids:
        assert await name_of(client, product_id)
    cache = cache_of(client)
    assert 0 < len(cache) < len(ids)
    assert cache._bytes <= 2000
    # The newest answers are the ones kept.
    assert cache.get(("product", ids[-1])) is not None and cache.get(("product", ids[0])) is None


def test_a_read_that_overlapped_a_write_stores_nothing() -> None:
    cache = ReadCache(60, 1000)
    generation = cache.generation
    cache.invalidate()  # a write started (or ended) while the read was at the database
    cache.put(("product", 1), b"{}", {}, generation)
    assert cache.get(("product", 1)) is None
    cache.put(("product", 1), b"{}", {"ETag": '"1"'}, cache.generation)
    answer = cache.get(("product", 1))
    assert answer is not None and answer.headers == {"ETag": '"1"'}
    assert ReadCache(0, 1000).enabled is False
