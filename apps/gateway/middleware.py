"""The gateway's request pipeline, inside the runtime's request-id, metrics and error middlewares."""

from __future__ import annotations

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.keys import CONFIG, FORWARDED, GUARD, PRINCIPAL
from gateway.security import add_security_headers
from stockwiz_runtime.problems import ProblemError, not_found

API_PREFIX = "/api/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
# Operators scrape /metrics from inside the VPC, straight from the task. A request that came through a
# proxy (the ALB always adds X-Forwarded-For) is from outside: the ALB answers /metrics itself (see
# components/network.py), and this catches the spellings its path match does not decode (/%6Detrics).
METRICS_PATH = "/metrics"


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == "/api"


@web.middleware
async def api_guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == METRICS_PATH and "X-Forwarded-For" in request.headers:
        raise not_found(f"no route {METRICS_PATH}")
    config = request.app[CONFIG]
    forwarded = request.app[GUARD].forwarding.resolve(
        request.remote, request.headers, request.scheme, request.host
    )
    request[FORWARDED] = forwarded
    if not is_api(request.path):
        return await handler(request)
    principal = request.app[GUARD].admit(
        request.method, request.headers.get("Authorization"), forwarded.client
    )
    if principal is not None:
        request[PRINCIPAL] = principal
    length = request.content_length
    if length is not None and length > config.max_body_bytes:
        # Refused before a byte of the body is read.
        raise ProblemError(
            413,
            f"The body is {length} bytes; the limit is {config.max_body_bytes}.",
            kind="body-too-large",
        )
    return await handler(request)


def public_instance(body: bytes, path: str) -> bytes:
    """The problem with `instance` set to the path the client asked for."""
    try:
        problem = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(problem, dict) or "instance" not in problem or problem["instance"] == path:
        return body
    return orjson.dumps({**problem, "instance": path})


@web.middleware
async def public_instance_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A service names the subject of its problem by its own path (`/products/7`); the client asked for the
    public one (`/api/products/7`, or `/api/products-full` for a composed view), which is what `instance`
    must say. Problems are small and whole (never streamed), and only error answers pay for this."""
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and response.content_type == PROBLEM_CONTENT_TYPE
        and isinstance(response.body, bytes)
    ):
        response.body = public_instance(response.body, request.path)
    return response


async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    forwarded = request.get(FORWARDED)
    https = forwarded.proto == "https" if forwarded is not None else request.secure
    add_security_headers(response, https=https)
    request.app[GUARD].cors.decorate(request, response)
