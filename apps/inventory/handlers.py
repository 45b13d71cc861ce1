"""HTTP handlers of the inventory service: parse, call the stock module, shape the response."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from aiohttp import web
from pydantic import BaseModel

from inventory import imports, product_view, stock
from inventory import movements as ledger
from inventory.batching import AdjustmentBatcher
from inventory.config import InventoryConfig
from inventory.idempotency import REPLAYED_HEADER, Change, IdempotencyKey, key_from_request, run_once
from inventory.metrics import InventoryMetrics
from inventory.schemas import (
    AdjustRequest,
    InventoryCreate,
    InventoryQuery,
    InventoryUpdate,
    MovementQuery,
    SummaryQuery,
    TransferRequest,
)
from inventory.summary_json import summary_json
from stockwiz_runtime.bodies import read_csv, read_model, validate
from stockwiz_runtime.csvimport import ImportQuery
from stockwiz_runtime.db import DATABASE
from stockwiz_runtime.http import ID_SEGMENT, etag_for, if_match_versions, page_headers, path_id
from stockwiz_runtime.jsonio import JSON_CONTENT_TYPE, json_response
from stockwiz_runtime.problems import ProblemError

CONFIG = web.AppKey("inventory_config", InventoryConfig)
INVENTORY_METRICS = web.AppKey("inventory_metrics", InventoryMetrics)
BATCHER = web.AppKey("adjustment_batcher", AdjustmentBatcher)

routes = web.RouteTableDef()
RECORD_PATH = f"/inventory/{{id:{ID_SEGMENT}}}"


def _page(request: web.Request, page: stock.Page, query: InventoryQuery) -> web.Response:
    return json_response(
        page.items, headers=page_headers(request, total=page.total, limit=query.limit, offset=query.offset)
    )


def _idempotency_key(request: web.Request, body: BaseModel) -> IdempotencyKey | None:
    ttl = timedelta(hours=request.app[CONFIG].idempotency_key_ttl_hours)
    return key_from_request(request, body, ttl)


async def _respond(request: web.Request, pending: Awaitable[Change]) -> web.Response:
    """Count the change (or its refusal) and answer it; a stored response is answered the same way."""
    metrics = request.app[INVENTORY_METRICS]
    try:
        change = await pending
    except ProblemError as problem:
        if problem.status == 409 and problem.kind:
            metrics.refused.labels(problem.kind).inc()
        raise
    metrics.observe(change)
    if change.status == 204:
        return web.Response(status=204)
    headers: dict[str, str] = {}
    body = change.body
    if isinstance(body, dict) and "id" in body and "version" in body:
        headers["ETag"] = etag_for(body["version"])
        if change.status == 201:
            headers["Location"] = f"/inventory/{body['id']}"
    if change.replayed:
        headers[REPLAYED_HEADER] = "true"
    return json_response(body, status=change.status, headers=headers)


@routes.get("/inventory")
async def list_records(request: web.Request) -> web.Response:
    query = validate(InventoryQuery, dict(request.query))
    return _page(request, await stock.list_records(request.app[DATABASE], query), query)


@routes.post("/inventory")
async def create_record(request: web.Request) -> web.Response:
    body = await read_model(request, InventoryCreate)
    default_reorder_point = request.app[CONFIG].default_reorder_point
    return await _respond(
        request,
        run_once(
            request.app[DATABASE],
            _idempotency_key(request, body),
            lambda conn: stock.create_record(conn, body, default_reorder_point),
        ),
    )


@routes.get("/inventory/low-stock")
async def low_stock(request: web.Request) -> web.Response:
    query = validate(InventoryQuery, dict(request.query))
    return _page(request, await stock.low_stock(request.app[DATABASE], query), query)


@routes.get("/inventory/summary")
async def summary(request: web.Request) -> web.Response:
    query = validate(SummaryQuery, dict(request.query))
    written = await summary_json(request.app[DATABASE], query.product_ids)
    if written is not None:
        return web.Response(body=written, content_type=JSON_CONTENT_TYPE)
    return json_response(await stock.summary(request.app[DATABASE], query.product_ids))


@routes.get("/inventory/movements")
async def movements(request: web.Request) -> web.Response:
    query = validate(MovementQuery, dict(request.query))
    return _page(request, await ledger.list_movements(request.app[DATABASE], query), query)


@routes.post("/inventory/import.csv")
async def import_stock(request: web.Request) -> web.Response:
    query = validate(ImportQuery, dict(request.query))
    raw = await read_csv(request)
    report = await imports.import_stock(
        request.app[DATABASE],
        raw,
        dry_run=query.dry_run,
        default_reorder_point=request.app[CONFIG].default_reorder_point,
    )
    return json_response(report.as_json())


@routes.post("/inventory/transfer")
async def transfer(request: web.Request) -> web.Response:
    body = await read_model(request, TransferRequest)
    default_reorder_point = request.app[CONFIG].default_reorder_point
    return await _respond(
        request,
        run_once(
            request.app[DATABASE],
            _idempotency_key(request, body),
            lambda conn: stock.transfer(conn, body, default_reorder_point),
        ),
    )


@routes.get(f"/inventory/product/{{product_id:{ID_SEGMENT}}}")
async def product_stock(request: web.Request) -> web.Response:
    product_id = path_id(request, "product_id", what="product")
    return json_response(await stock.product_stock(request.app[DATABASE], product_id))


@routes.get(f"/inventory/product-view/{{product_id:{ID_SEGMENT}}}")
async def get_product_view(request: web.Request) -> web.Response:
    product_id = path_id(request, "product_id", what="product")
    view = await product_view.product_view(request.app[DATABASE], product_id)
    return web.Response(
        body=view.body, content_type=JSON_CONTENT_TYPE, headers={"ETag": etag_for(view.version)}
    )


@routes.get(RECORD_PATH)
async def get_record(request: web.Request) -> web.Response:
    record = await stock.get_record(request.app[DATABASE], path_id(request, what="stock record"))
    return json_response(record.data, headers={"ETag": etag_for(record.version)})


@routes.put(RECORD_PATH)
async def update_record(request: web.Request) -> web.Response:
    inventory_id = path_id(request, what="stock record")
    # A malformed request is a 4xx of its own before its precondition is looked at.
    body = await read_model(request, InventoryUpdate)
    expected = if_match_versions(request)
    return await _respond(request, stock.update_record(request.app[DATABASE], inventory_id, body, expected))


@routes.delete(RECORD_PATH)
async def delete_record(request: web.Request) -> web.Response:
    inventory_id = path_id(request, what="stock record")
    expected = if_match_versions(request)
    return await _respond(request, stock.delete_record(request.app[DATABASE], inventory_id, expected))


@routes.post(RECORD_PATH + "/adjust")
async def adjust(request: web.Request) -> web.Response:
    inventory_id = path_id(request, what="stock record")
    body = await read_model(request, AdjustRequest)
    key = _idempotency_key(request, body)
    if key is None:
        return await _respond(request, request.app[BATCHER].adjust(inventory_id, body))
    return await _respond(
        request, run_once(request.app[DATABASE], key, lambda conn: stock.adjust(conn, inventory_id, body))
    )


@routes.get(RECORD_PATH + "/movements")
async def record_movements(request: web.Request) -> web.Response:
    inventory_id = path_id(request, what="stock record")
    query = validate(MovementQuery, dict(request.query))
    return _page(request, await ledger.list_movements(request.app[DATABASE], query, inventory_id), query)
