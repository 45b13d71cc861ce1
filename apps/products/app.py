"""The product service's application factory."""

from __future__ import annotations

from aiohttp import web

from products.catalogue import seed_demo_products
from products.config import ProductsConfig
from products.handlers import routes
from products.openapi import openapi_document
from stockwiz_runtime.app import create_service_app
from stockwiz_runtime.db import database_context
from stockwiz_runtime.middleware import actor_middleware

SERVICE_NAME = "product-service"


def create_app(config: ProductsConfig) -> web.Application:
    app = create_service_app(config, SERVICE_NAME, openapi_document())
    app.cleanup_ctx.append(database_context(config, seed=seed_demo_products))
    # A product deleted with its empty stock records leaves ledger movements that name who did it.
    app.middlewares.append(actor_middleware)
    app.add_routes(routes)
    return app
