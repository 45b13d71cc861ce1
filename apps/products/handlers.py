"""HTTP handlers of the product service: parse, call the catalogue, shape the response."""

from __future__ import annotations

from aiohttp import web

from products import catalogue, imports
from products.cache import ReadCache
from products.schemas import ProductCreate, ProductQuery, ProductUpdate
from stockwiz_runtime.bodies import read_csv, read_model, validate
from stockwiz_runtime.csvimport import ImportQuery
from stockwiz_runtime.db import DATABASE
from stockwiz_runtime.http import ID_SEGMENT, etag_for, if_match_versions, page_headers, path_id
from stockwiz_runtime.jsonio import JSON_CONTENT_TYPE, json_response

READ_CACHE = web.AppKey("product_read_cache", ReadCache)

routes = web.RouteTableDef()
PRODUCT_PATH = f"/products/{{id:{ID_SEGMENT}}}"


def _product_response(product: catalogue.Product, status: int = 200) -> web.Response:
    headers = {"ETag": etag_for(product.version)}
    if status == 201:
        headers["Location"] = f"/products/{product.data['id']}"
    return json_response(product.data, status=status, headers=headers)


def _cached(request: web.Request, key: tuple[str, int | str]) -> web.Response | None:
    answer = request.app[READ_CACHE].get(key)
    if answer is None:
        return None
    return web.Response(body=answer.body, content_type=JSON_CONTENT_TYPE, headers=answer.headers)


def _keep(request: web.Request, key: tuple[str, int | str], response: web.Response, generation: int) -> None:
    assert isinstance(response.body, bytes)
    headers = {name: value for name in _CACHED_HEADERS if (value := response.headers.get(name)) is not None}
    request.app[READ_CACHE].put(key, response.body, headers, generation)


# What a cached answer carries besides its body (the request id and the rest are the middlewares').
_CACHED_HEADERS = ("ETag", "X-Total-Count", "Link")


@routes.get("/products")
async def list_products(request: web.Request) -> web.Response:
    cache = request.app[READ_CACHE]
    # The query string as sent is the key: the same bytes validate the same way and name the same page.
    # Search text is not cached (see products.cache).
    key = ("list", request.query_string)
    cacheable = cache.enabled and "q" not in request.query
    if cacheable and (cached := _cached(request, key)) is not None:
        return cached
    generation = cache.generation
    query = validate(ProductQuery, dict(request.query))
    page = await catalogue.list_products(request.app[DATABASE], query)
    response = json_response(
        page.items, headers=page_headers(request, total=page.total, limit=query.limit, offset=query.offset)
    )
    if cacheable:
        _keep(request, key, response, generation)
    return response


@routes.post("/products")
async def create_product(request: web.Request) -> web.Response:
    body = await read_model(request, ProductCreate)
    return _product_response(await catalogue.create_product(request.app[DATABASE], body), status=201)


@routes.post("/products/import.csv")
async def import_products(request: web.Request) -> web.Response:
    query = validate(ImportQuery, dict(request.query))
    raw = await read_csv(request)
    report = await imports.import_products(request.app[DATABASE], raw, dry_run=query.dry_run)
    return json_response(report.as_json())


@routes.get("/products/categories")
async def categories(request: web.Request) -> web.Response:
    return json_response(await catalogue.categories(request.app[DATABASE]))


@routes.get(PRODUCT_PATH)
async def get_product(request: web.Request) -> web.Response:
    product_id = path_id(request, what="product")
    cache = request.app[READ_CACHE]
    key = ("product", product_id)
    if cache.enabled and (cached := _cached(request, key)) is not None:
        return cached
    generation = cache.generation
    response = _product_response(await catalogue.get_product(request.app[DATABASE], product_id))
    _keep(request, key, response, generation)
    return response


@routes.put(PRODUCT_PATH)
async def update_product(request: web.Request) -> web.Response:
    product_id = path_id(request, what="product")
    body = await read_model(request, ProductUpdate)
    expected = if_match_versions(request)
    return _product_response(
        await catalogue.update_product(request.app[DATABASE], product_id, body, expected)
    )


@routes.delete(PRODUCT_PATH)
async def delete_product(request: web.Request) -> web.Response:
    product_id = path_id(request, what="product")
    await catalogue.delete_product(request.app[DATABASE], product_id, if_match_versions(request))
    return web.Response(status=204)
