"""The product service's application factory."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from products.cache import ReadCache
from products.catalogue import seed_demo_products
from products.config import ProductsConfig
from products.handlers import READ_CACHE, routes
from products.openapi import openapi_document
from stockwiz_runtime.app import create_service_app
from stockwiz_runtime.db import database_context
from stockwiz_runtime.middleware import actor_middleware

SERVICE_NAME = "product-service"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@web.middleware
async def invalidate_on_write(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Any request that may write drops the read cache before it starts and after it ends (products.cache):
    a read overlapping it stores nothing, and a read after it sees the write."""
    if request.method in _READS:
        return await handler(request)
    cache = request.app[READ_CACHE]
    cache.invalidate()
    try:
        return await handler(request)
    finally:
        cache.invalidate()


def create_app(config: ProductsConfig) -> web.Application:
    app = create_service_app(config, SERVICE_NAME, openapi_document())
    app[READ_CACHE] = ReadCache(config.product_cache_seconds, config.product_cache_bytes)
    app.middlewares.append(invalidate_on_write)
    app.cleanup_ctx.append(database_context(config, seed=seed_demo_products))
    # A product deleted with its empty stock records leaves ledger movements that name who did it.
    app.middlewares.append(actor_middleware)
    app.add_routes(routes)
    return app
