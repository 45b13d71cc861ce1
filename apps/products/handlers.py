"""HTTP handlers of the product service: parse, call the catalogue, shape the response."""

from __future__ import annotations

from aiohttp import web

from products import catalogue, imports
from products.schemas import ProductCreate, ProductQuery, ProductUpdate
from stockwiz_runtime.bodies import read_csv, read_model, validate
from stockwiz_runtime.csvimport import ImportQuery
from stockwiz_runtime.db import DATABASE
from stockwiz_runtime.http import ID_SEGMENT, etag_for, if_match_versions, page_headers, path_id
from stockwiz_runtime.jsonio import json_response

routes = web.RouteTableDef()
PRODUCT_PATH = f"/products/{{id:{ID_SEGMENT}}}"


def _product_response(product: catalogue.Product, status: int = 200) -> web.Response:
    headers = {"ETag": etag_for(product.version)}
    if status == 201:
        headers["Location"] = f"/products/{product.data['id']}"
    return json_response(product.data, status=status, headers=headers)


@routes.get("/products")
async def list_products(request: web.Request) -> web.Response:
    query = validate(ProductQuery, dict(request.query))
    page = await catalogue.list_products(request.app[DATABASE], query)
    return json_response(
        page.items, headers=page_headers(request, total=page.total, limit=query.limit, offset=query.offset)
    )


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
    return _product_response(await catalogue.get_product(request.app[DATABASE], product_id))


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
