"""The gateway's application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway.breaker import CircuitBreaker
from gateway.config import GatewayConfig
from gateway.downstream import DownstreamHealth
from gateway.forwarding import ForwardingPolicy
from gateway.guard import Guard
from gateway.handlers import routes
from gateway.keys import CONFIG, DOWNSTREAM, GATEWAY_METRICS, GUARD, INVENTORY, PRODUCTS, STATIC
from gateway.metrics import GatewayMetrics
from gateway.middleware import api_guard_middleware, on_response_prepare, public_instance_middleware
from gateway.openapi import merge_service_document, openapi_document
from gateway.ratelimit import RateLimiter
from gateway.retry import RetryPolicy
from gateway.security import CorsPolicy
from gateway.tokens import TokenStore
from gateway.ui import StaticFiles
from gateway.upstream import Upstream
from stockwiz_runtime.app import create_service_app
from stockwiz_runtime.config import ConfigError
from stockwiz_runtime.keys import METRICS, OPENAPI, READINESS_CHECKS, ReadinessCheck

SERVICE_NAME = "api-gateway"
log = logging.getLogger("stockwiz.gateway")


def _upstream(name: str, url: str, config: GatewayConfig, metrics: GatewayMetrics) -> Upstream:
    return Upstream(
        name,
        url,
        connect_timeout=config.upstream_connect_timeout,
        total_timeout=config.upstream_timeout,
        pool_size=config.upstream_pool_size,
        retry=RetryPolicy(config.upstream_retries, config.upstream_retry_backoff),
        breaker=CircuitBreaker(config.breaker_failure_threshold, config.breaker_reset_seconds),
        metrics=metrics,
    )


def _check_exposure(config: GatewayConfig) -> None:
    if config.api_tokens:
        return
    if not config.listens_on_loopback and not config.allow_open:
        raise ConfigError(
            f"API_TOKENS is empty and HOST={config.host} is reachable from other machines: configure "
            "API_TOKENS (python -m gateway.tokens new), or set ALLOW_OPEN=true to serve the API without "
            "authentication on purpose"
        )
    if not config.listens_on_loopback:
        log.warning("ALLOW_OPEN=true: the API on %s:%s needs no token", config.host, config.port)
    else:
        log.info("no API_TOKENS: the API is open on loopback %s:%s", config.host, config.port)


def _readiness(downstream: DownstreamHealth, label: str) -> ReadinessCheck:
    async def check() -> None:
        if not (await downstream.statuses()).get(label, False):
            raise RuntimeError(f"{label} is not ready")

    return check


async def _fetch_service_documents(app: web.Application) -> None:
    """Merge each service's OpenAPI document into ours as soon as it answers (retrying with backoff)."""
    pending = {"products": app[PRODUCTS], "inventory": app[INVENTORY]}
    delay = 0.5
    while pending:
        for service, upstream in list(pending.items()):
            try:
                async with upstream.session.get(
                    upstream.url("/openapi.json"), timeout=aiohttp.ClientTimeout(total=5)
                ) as response:
                    if response.status == 200:
                        merge_service_document(app[OPENAPI], service, await response.json())
                        del pending[service]
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                log.debug("OpenAPI document of %s not available yet: %s", upstream.name, exc)
        if pending:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def _upstreams_context(app: web.Application) -> AsyncIterator[None]:
    upstreams = (app[PRODUCTS], app[INVENTORY])
    for upstream in upstreams:
        await upstream.start()
    documents = asyncio.create_task(_fetch_service_documents(app))
    try:
        yield
    finally:
        documents.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await documents
        for upstream in upstreams:
            await upstream.close()


def create_app(config: GatewayConfig) -> web.Application:
    _check_exposure(config)
    app = create_service_app(config, SERVICE_NAME, openapi_document(), with_health=False)
    metrics = GatewayMetrics(app[METRICS].registry)
    products = _upstream("product-service", config.product_service_url, config, metrics)
    inventory = _upstream("inventory-service", config.inventory_service_url, config, metrics)
    downstream = DownstreamHealth(
        {"product_service": products, "inventory_service": inventory},
        timeout=config.health_timeout,
        cache_seconds=config.health_cache_seconds,
    )
    app[CONFIG] = config
    app[GATEWAY_METRICS] = metrics
    app[PRODUCTS] = products
    app[INVENTORY] = inventory
    app[DOWNSTREAM] = downstream
    app[STATIC] = StaticFiles()
    cors = CorsPolicy(config.cors_allowed_origins)
    app[GUARD] = Guard(
        tokens=TokenStore(config.api_tokens),
        limiter=RateLimiter(config.rate_limit_per_minute / 60, config.rate_limit_burst),
        forwarding=ForwardingPolicy(config.trusted_proxies),
        cors=cors,
        metrics=metrics,
    )
    for label in downstream.upstreams:
        app[READINESS_CHECKS][label] = _readiness(downstream, label)
    app.middlewares.append(cors.middleware())
    app.middlewares.append(api_guard_middleware)
    app.middlewares.append(public_instance_middleware)
    app.on_response_prepare.append(on_response_prepare)
    app.cleanup_ctx.append(_upstreams_context)
    app.add_routes(routes)
    return app
