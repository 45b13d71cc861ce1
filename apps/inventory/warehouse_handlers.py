"""HTTP handlers of the warehouse routes and the stock value: parse, call inventory.warehouses or
inventory.valuation, shape the response. Domain errors are ProblemErrors, answered as problem+json by the
runtime's middleware like every other route's."""

from __future__ import annotations

from aiohttp import web

from inventory import valuation, warehouses
from inventory.schemas import WarehouseCreate, WarehouseQuery, WarehouseUpdate
from stockwiz_runtime.bodies import read_model, validate
from stockwiz_runtime.db import DATABASE
from stockwiz_runtime.http import ID_SEGMENT, etag_for, if_match_versions, path_id
from stockwiz_runtime.jsonio import json_response

routes = web.RouteTableDef()
WAREHOUSE_PATH = f"/warehouses/{{id:{ID_SEGMENT}}}"


def _answer(warehouse: warehouses.Warehouse, status: int = 200) -> web.Response:
    headers = {"ETag": etag_for(warehouse.version)}
    if status == 201:
        headers["Location"] = f"/warehouses/{warehouse.data['id']}"
    return json_response(warehouse.data, status=status, headers=headers)


@routes.get("/warehouses")
async def list_warehouses(request: web.Request) -> web.Response:
    query = validate(WarehouseQuery, dict(request.query))
    return json_response(await warehouses.list_warehouses(request.app[DATABASE], query.archived))


@routes.post("/warehouses")
async def create_warehouse(request: web.Request) -> web.Response:
    body = await read_model(request, WarehouseCreate)
    return _answer(await warehouses.create_warehouse(request.app[DATABASE], body), status=201)


@routes.get("/stock-value")
async def stock_value(request: web.Request) -> web.Response:
    return json_response(await valuation.stock_value(request.app[DATABASE]))


@routes.get(WAREHOUSE_PATH)
async def get_warehouse(request: web.Request) -> web.Response:
    return _answer(await warehouses.get_warehouse(request.app[DATABASE], path_id(request, what="warehouse")))


@routes.put(WAREHOUSE_PATH)
async def update_warehouse(request: web.Request) -> web.Response:
    warehouse_id = path_id(request, what="warehouse")
    body = await read_model(request, WarehouseUpdate)
    expected = if_match_versions(request)
    return _answer(await warehouses.update_warehouse(request.app[DATABASE], warehouse_id, body, expected))
