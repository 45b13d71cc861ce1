"""The inventory service's application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler

from inventory import stock
from inventory.batching import AdjustmentBatcher
from inventory.config import InventoryConfig
from inventory.handlers import BATCHER, CONFIG, INVENTORY_METRICS, routes
from inventory.idempotency import purge_expired
from inventory.metrics import InventoryMetrics
from inventory.openapi import openapi_document
from inventory.warehouse_handlers import routes as warehouse_routes
from stockwiz_runtime.app import create_service_app
from stockwiz_runtime.db import DATABASE, Database, database_context
from stockwiz_runtime.keys import METRICS
from stockwiz_runtime.middleware import actor_middleware

SERVICE_NAME = "inventory-service"
PURGE_INTERVAL_SECONDS = 600.0

log = logging.getLogger("stockwiz.inventory")


@web.middleware
async def low_stock_gauge(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count low-stock records when Prometheus scrapes: one cheap query a scrape, none on the write path."""
    if request.path == "/metrics" and DATABASE in request.app:
        try:
            count = await stock.count_low_stock(request.app[DATABASE])
        except Exception as exc:  # the scrape still answers, with the last count
            log.warning("low-stock count failed: %s: %s", type(exc).__name__, exc)
        else:
            request.app[INVENTORY_METRICS].low_stock.set(count)
    return await handler(request)


async def purge_idempotency_keys(app: web.Application) -> AsyncIterator[None]:
    """Delete expired Idempotency-Keys in the background (an expired key is already reusable; this only
    keeps the table small)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)
            try:
                purged = await purge_expired(app[DATABASE])
            except Exception as exc:
                log.warning("purging expired idempotency keys failed: %s: %s", type(exc).__name__, exc)
            else:
                if purged:
                    log.info("purged %d expired idempotency keys", purged)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def adjustment_batcher(app: web.Application) -> AsyncIterator[None]:
    app[BATCHER] = AdjustmentBatcher(app[DATABASE], app[INVENTORY_METRICS])
    yield


def create_app(config: InventoryConfig) -> web.Application:
    app = create_service_app(config, SERVICE_NAME, openapi_document())
    app[CONFIG] = config
    app[INVENTORY_METRICS] = InventoryMetrics(app[METRICS].registry)
    app.middlewares.append(low_stock_gauge)
    app.middlewares.append(actor_middleware)

    async def seed(database: Database) -> None:
        await stock.seed_demo_stock(database, config.default_reorder_point, config.demo_seed_wait_seconds)

    app.cleanup_ctx.append(database_context(config, seed=seed))
    app.cleanup_ctx.append(adjustment_batcher)
    app.cleanup_ctx.append(purge_idempotency_keys)
    app.add_routes(routes)
    app.add_routes(warehouse_routes)
    return app
