"""HTTP handlers of the gateway: pick the upstream or the composition, nothing more."""

from __future__ import annotations

from aiohttp import web

from gateway import composition, export, imports
from gateway.keys import CONFIG, DOWNSTREAM, FORWARDED, INVENTORY, PRODUCTS, STATIC
from gateway.proxy import proxy, upstream_request_headers
from gateway.upstream import Upstream
from stockwiz_runtime.http import path_id
from stockwiz_runtime.jsonio import json_response
from stockwiz_runtime.keys import SERVICE_NAME
from stockwiz_runtime.problems import not_found

routes = web.RouteTableDef()
PROXIED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Percent-encoded dots, slashes and backslashes in a path could climb out of /products or /inventory
# once a service decodes them; no StockWiz route needs them.
_SUSPICIOUS = ("%2e", "%2f", "%5c")


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    return request.app[STATIC].response(request, "index.html")


@routes.get("/docs")
async def api_docs(request: web.Request) -> web.Response:
    return request.app[STATIC].response(request, "docs.html")


@routes.get("/static/{name}")
async def static(request: web.Request) -> web.Response:
    return request.app[STATIC].response(request, request.match_info["name"])


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    statuses = await request.app[DOWNSTREAM].statuses()
    healthy = all(statuses.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "service": request.app[SERVICE_NAME],
        "downstream_services": {
            label: "healthy" if ready else "unhealthy" for label, ready in statuses.items()
        },
    }
    return json_response(body, status=200 if healthy else 503)


@routes.get("/api/settings")
async def settings(request: web.Request) -> web.Response:
    """The shop's settings the UI needs, read-only (they are the gateway's environment)."""
    return json_response({"currency": request.app[CONFIG].currency})


@routes.get("/api/products-full")
async def products_full(request: web.Request) -> web.Response:
    headers = upstream_request_headers(request, request[FORWARDED])
    # The raw query, still percent-encoded: request.query_string is decoded and would not survive as a URL.
    raw_query = request.raw_path.partition("?")[2]
    return await composition.products_with_stock(
        request.app[PRODUCTS], request.app[INVENTORY], raw_query, headers
    )


@routes.get(r"/api/products/{id:\d+}")
async def product_with_stock(request: web.Request) -> web.Response:
    product_id = path_id(request, what="product")
    headers = upstream_request_headers(request, request[FORWARDED])
    return await composition.product_with_stock(
        request.app[PRODUCTS], request.app[INVENTORY], product_id, headers
    )


@routes.get(r"/api/export/{name:[a-z]+}.csv")
async def export_csv(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    chosen = export.find_export(name)
    upstream = request.app[PRODUCTS] if chosen.service == "products" else request.app[INVENTORY]
    headers = upstream_request_headers(request, request[FORWARDED])
    return await export.stream_export(request, name, upstream, chosen, headers)


@routes.post(r"/api/import/{name:[a-z]+}.csv")
async def import_csv(request: web.Request) -> web.StreamResponse:
    chosen = imports.find_import(request.match_info["name"])
    upstream = request.app[PRODUCTS] if chosen.service == "products" else request.app[INVENTORY]
    query = request.raw_path.partition("?")[2]
    return await proxy(request, upstream, chosen.path + (f"?{query}" if query else ""), request[FORWARDED])


def _service_path(request: web.Request) -> str:
    """The service's path and query for this /api request: the same bytes without the /api prefix."""
    raw = request.raw_path
    path = raw.split("?", 1)[0]
    segments = path.split("/")
    if "." in segments or ".." in segments or any(s in path.lower() for s in _SUSPICIOUS):
        raise not_found(f"no API route {path}")
    return raw[len("/api") :]


async def _proxy(request: web.Request, upstream: Upstream) -> web.StreamResponse:
    return await proxy(request, upstream, _service_path(request), request[FORWARDED])


async def proxy_products(request: web.Request) -> web.StreamResponse:
    return await _proxy(request, request.app[PRODUCTS])


async def proxy_inventory(request: web.Request) -> web.StreamResponse:
    return await _proxy(request, request.app[INVENTORY])


# After the composed routes: a path they match with another method (PUT /api/products/1) falls through
# to the proxy. `(/...)?` keeps /api/productsX from reaching /productsX.
for _method in PROXIED_METHODS:
    routes.route(_method, "/api/products{tail:(/.*)?}")(proxy_products)
    routes.route(_method, "/api/inventory{tail:(/.*)?}")(proxy_inventory)
    routes.route(_method, "/api/warehouses{tail:(/.*)?}")(proxy_inventory)
routes.get("/api/stock-value")(proxy_inventory)
