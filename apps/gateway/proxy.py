"""Pass one request through to a service and its answer back, like Go's httputil.ReverseProxy: only the
headers a service needs go out, only an allow-list of the answer's headers comes back (hop-by-hop ones
never do), X-Forwarded-* and the request id are set, and large answers stream through without being held in
memory."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.forwarding import Forwarded
from gateway.keys import PRINCIPAL
from gateway.upstream import Upstream
from stockwiz_runtime.request_context import ACTOR_HEADER, REQUEST_ID_HEADER, current_request_id
from stockwiz_runtime.timeouts import read_body

log = logging.getLogger("stockwiz.gateway.proxy")

# What the services read from a request. Authorization and cookies stay at the gateway, and so does any
# X-StockWiz-Actor a client sends: the gateway names the actor itself, from the token it admitted.
FORWARDED_REQUEST_HEADERS = ("Accept", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key")
# What a service's answer may tell the client: its body's type, versions, pagination, where a created
# resource is, when to retry, what is allowed. Nothing else passes, so a service (or anything answering in
# its place) cannot set cookies, CORS, HSTS, CSP or caching policy on the gateway's origin; the gateway sets
# its own security headers (gateway.security). Framing, Date and Server are aiohttp's; the request id is
# set by our middleware.
FORWARDED_RESPONSE_HEADERS = frozenset(
    {
        "allow",
        "content-encoding",
        "content-language",
        "content-type",
        "etag",
        "idempotent-replayed",
        "last-modified",
        "link",
        "location",
        "retry-after",
        "x-total-count",
    }
)
# Bodies up to this size are read whole and sent in one write; larger ones stream in chunks.
BUFFER_LIMIT = 256 * 1024
CHUNK_SIZE = 64 * 1024
PUBLIC_PREFIX = "/api"


def upstream_request_headers(request: web.Request, forwarded: Forwarded) -> dict[str, str]:
    incoming = request.headers
    headers = {name: incoming[name] for name in FORWARDED_REQUEST_HEADERS if name in incoming}
    headers["X-Forwarded-For"] = forwarded.chain
    headers["X-Forwarded-Proto"] = forwarded.proto
    headers["X-Forwarded-Host"] = forwarded.host
    request_id = current_request_id()
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    principal = request.get(PRINCIPAL)
    if principal is not None:
        headers[ACTOR_HEADER] = principal.name
    return headers


def client_response_headers(upstream_headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream_headers.items():
        if name.lower() in FORWARDED_RESPONSE_HEADERS:
            headers.add(name, value)
    location = headers.get("Location")
    if location is not None and location.startswith("/") and not location.startswith(PUBLIC_PREFIX + "/"):
        # The services name their resources by their own paths; clients see them under /api.
        headers["Location"] = PUBLIC_PREFIX + location
    return headers


async def proxy(
    request: web.Request, upstream: Upstream, path_and_query: str, forwarded: Forwarded
) -> web.StreamResponse:
    # Request bodies are bounded (MAX_BODY_BYTES, 413 beyond) and read whole: that enforces the limit
    # before anything reaches a service, and lets a safe retry send the same bytes again.
    body = await read_body(request) if request.body_exists else None
    response = await upstream.request(
        request.method,
        path_and_query,
        headers=upstream_request_headers(request, forwarded),
        body=body,
    )
    try:
        headers = client_response_headers(response.headers)
        length = response.content_length
        if request.method == "HEAD" or response.status in (204, 304):
            return web.Response(status=response.status, headers=headers)
        if length is not None and length <= BUFFER_LIMIT:
            try:
                payload = await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise upstream.failed(exc) from None
            return web.Response(status=response.status, headers=headers, body=payload)
        return await _stream(request, response, headers, upstream)
    finally:
        response.release()


async def _stream(
    request: web.Request, response: aiohttp.ClientResponse, headers: CIMultiDict[str], upstream: Upstream
) -> web.StreamResponse:
    out = web.StreamResponse(status=response.status, headers=headers)
    if response.content_length is not None:
        out.content_length = response.content_length
    # Read the first chunk before answering: a service failing at once still gets a clean problem.
    try:
        chunk = await response.content.read(CHUNK_SIZE)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise upstream.failed(exc) from None
    await out.prepare(request)
    try:
        while chunk:
            await out.write(chunk)
            chunk = await response.content.read(CHUNK_SIZE)
    except (TimeoutError, aiohttp.ClientError) as exc:
        # Headers are gone already: all we can do is cut the connection so the client sees a truncated
        # answer rather than a short one that looks complete.
        upstream.failed(exc)
        log.warning("%s stream broke: %s: %s", upstream.name, type(exc).__name__, exc)
        if request.transport is not None:
            request.transport.close()
        return out
    await out.write_eof()
    return out
