"""The skeleton of every service's aiohttp application: middlewares, operations routes, metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from stockwiz_runtime.admission import ADMISSION, Admission, admission_middleware
from stockwiz_runtime.chaos import add_chaos_routes
from stockwiz_runtime.config import ServiceConfig
from stockwiz_runtime.health import health, livez, readyz
from stockwiz_runtime.keys import (
    BODY_READ_TIMEOUT,
    ERROR_MAPPERS,
    METRICS,
    OPENAPI,
    READINESS_CHECKS,
    SERVICE_NAME,
)
from stockwiz_runtime.metrics import METRICS_CONTENT_TYPE, HttpMetrics
from stockwiz_runtime.middleware import (
    deadline_middleware,
    error_middleware,
    observe_middleware,
    request_id_middleware,
)
from stockwiz_runtime.openapi import serve_openapi
from stockwiz_runtime.protocol import no_server_software


async def metrics_endpoint(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[METRICS].exposition(), headers={"Content-Type": METRICS_CONTENT_TYPE}
    )


def create_service_app(
    config: ServiceConfig, service_name: str, openapi_document: dict[str, Any], *, with_health: bool = True
) -> web.Application:
    """An application with the runtime's middlewares and routes; the service adds its own."""
    metrics = HttpMetrics(service_name)
    admission = Admission(
        config.max_in_flight, config.admission_queue, config.admission_wait, on_shed=metrics.shed.inc
    )
    app = web.Application(
        # The deadline first, so that a wait for admission counts against it (a trivial cost); then
        # admission, so a request refused for overload costs as little as possible.
        middlewares=[
            deadline_middleware(config.request_timeout),
            admission_middleware(admission),
            request_id_middleware,
            observe_middleware,
            error_middleware,
        ],
        client_max_size=config.max_body_bytes,
    )
    app[ADMISSION] = admission
    app[BODY_READ_TIMEOUT] = config.body_read_timeout
    app[SERVICE_NAME] = service_name
    app[METRICS] = metrics
    app[ERROR_MAPPERS] = []
    app[READINESS_CHECKS] = {}
    app[OPENAPI] = openapi_document
    app.on_response_prepare.append(no_server_software)
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)
    if with_health:
        app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/openapi.json", serve_openapi)
    if config.chaos_enabled:
        add_chaos_routes(app)
    return app
