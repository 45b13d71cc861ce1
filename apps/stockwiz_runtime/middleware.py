"""The middlewares every service runs, outermost first: request id, access log and metrics, errors."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from stockwiz_runtime.keys import ERROR_MAPPERS, METRICS
from stockwiz_runtime.problems import ProblemError, problem_response
from stockwiz_runtime.request_context import (
    ACTOR_HEADER,
    REQUEST_ID_HEADER,
    accept_or_generate,
    sane_actor,
    set_actor,
    set_deadline,
    set_request_id,
)

access_log = logging.getLogger("stockwiz.access")
error_log = logging.getLogger("stockwiz.errors")

# An error mapper turns a library exception (a database that is down, say) into a problem, or returns None.
ErrorMapper = Callable[[Exception], ProblemError | None]


def route_template(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    # Unmatched paths share one label so a scanner cannot blow up the metric's cardinality.
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = accept_or_generate(request.headers.get(REQUEST_ID_HEADER))
    set_request_id(request_id)
    response = await handler(request)
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


@web.middleware
async def actor_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who the ledger names for this request's changes. Only services that write the ledger run it, behind
    the gateway, which sets the header from the admitted token and drops any a client sent."""
    set_actor(sane_actor(request.headers.get(ACTOR_HEADER)))
    return await handler(request)


def deadline_middleware(seconds: float) -> Middleware:
    """Give each request its deadline (REQUEST_TIMEOUT, below the gateway's UPSTREAM_TIMEOUT): work that
    cannot finish before it is abandoned and rolled back rather than committed after the caller gave up."""

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        set_deadline(time.monotonic() + seconds)
        return await handler(request)

    return deadline


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[METRICS]
    started = time.perf_counter()
    metrics.in_flight.inc()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        metrics.in_flight.dec()
        elapsed = time.perf_counter() - started
        route = route_template(request)
        metrics.observe(request.method, route, status, elapsed)
        access_log.info(
            "%s %s %s",
            request.method,
            route,
            status,
            extra={
                "fields": {
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                }
            },
        )


def _problem_from_http_exception(exc: web.HTTPException) -> ProblemError:
    default_text = f"{exc.status}: {exc.reason}"
    detail = exc.text if exc.text and exc.text != default_text else exc.reason
    headers = {name: value for name, value in exc.headers.items() if name in ("Allow", "Retry-After")}
    return ProblemError(exc.status, detail or exc.reason, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProblemError as problem:
        return problem_response(request, problem)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(request, _problem_from_http_exception(exc))
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:
        for mapper in request.app[ERROR_MAPPERS]:
            mapped = mapper(exc)
            if mapped is not None:  # the mapper logs what is worth logging (an outage once, not per request)
                return problem_response(request, mapped)
        error_log.exception("unexpected error handling %s %s", request.method, request.path)
        return problem_response(
            request, ProblemError(500, "An unexpected error occurred; it has been logged.", kind="internal")
        )
