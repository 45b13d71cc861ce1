"""CSV exports of the catalogue, the stock and the ledger (`GET /api/export/{name}.csv`), streamed page by
page from the services, so memory stays flat whatever their size and the first bytes leave at once."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.upstream import Upstream
from stockwiz_runtime.jsonio import loads
from stockwiz_runtime.problems import FieldError, ProblemError, not_found, validation_failed

log = logging.getLogger("stockwiz.gateway.export")

PAGE_SIZE = 1000  # the services' largest page
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection): a text cell that
# does is written with a leading apostrophe, which spreadsheets take as "this is text" and do not show.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a UTF-8 CSV as UTF-8 only after a byte-order mark; other tools skip it.
BOM = "\ufeff"


@dataclass(frozen=True)
class Export:
    service: str  # "products" or "inventory"
    path: str
    columns: tuple[str, ...]
    text_columns: frozenset[str]  # free text a user typed: where a formula could hide
    filters: tuple[str, ...]  # query parameters passed on to the service, which validates them
    newest_first: bool = False


EXPORTS: dict[str, Export] = {
    "products": Export(
        service="products",
        path="/products",
        columns=(
            "id",
            "sku",
            "name",
            "category",
            "price",
            "cost_price",
            "description",
            "archived",
            "created_at",
            "updated_at",
        ),
        text_columns=frozenset({"sku", "name", "category", "description"}),
        filters=("q", "category", "archived"),
    ),
    "stock": Export(
        service="inventory",
        path="/inventory",
        columns=(
            "id",
            "product_id",
            "sku",
            "product_name",
            "warehouse",
            "quantity",
            "reorder_point",
            "reorder_quantity",
            "version",
            "last_updated",
        ),
        text_columns=frozenset({"sku", "product_name", "warehouse"}),
        filters=("product_id", "warehouse"),
    ),
    "movements": Export(
        service="inventory",
        path="/inventory/movements",
        columns=(
            "id",
            "created_at",
            "inventory_id",
            "product_id",
            "sku",
            "product_name",
            "warehouse",
            "reason",
            "delta",
            "quantity_after",
            "note",
            "reference",
            "request_id",
            "actor",
        ),
        text_columns=frozenset(
            {"sku", "product_name", "warehouse", "note", "reference", "request_id", "actor"}
        ),
        filters=("product_id", "warehouse", "reason", "actor", "from", "to"),
        newest_first=True,
    ),
}


def find_export(name: str) -> Export:
    export = EXPORTS.get(name)
    if export is None:
        raise not_found(f"no export {name!r}; there are {', '.join(sorted(EXPORTS))}")
    return export


def cell(value: Any, text: bool) -> str:
    if value is None:
        return ""
    out = str(value)
    if text and out.startswith(_FORMULA_START):
        return "'" + out
    return out


def csv_lines(export: Export, items: Iterable[Mapping[str, Any]], header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    if header:
        writer.writerow(export.columns)
    for item in items:
        writer.writerow([cell(item.get(column), column in export.text_columns) for column in export.columns])
    return buffer.getvalue()


def new_items(
    export: Export, items: Sequence[Mapping[str, Any]], last_id: int | None
) -> list[Mapping[str, Any]]:
    """The items of a page not written yet. Pages are read by offset while writes go on: the ledger is
    append-only and read newest first, so a movement recorded meanwhile pushes older ones down and a page
    can repeat the end of the one before (never skip); ids say which rows were written already."""
    if last_id is None:
        return list(items)
    if export.newest_first:
        return [item for item in items if item["id"] < last_id]
    return [item for item in items if item["id"] > last_id]


def filter_query(export: Export, query: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(query) - set(export.filters))
    if unknown:
        raise validation_failed(
            [
                FieldError(name, f"not a filter of this export (use {', '.join(export.filters)})")
                for name in unknown
            ]
        )
    return dict(query)


async def _page(
    upstream: Upstream, export: Export, query: Mapping[str, str], offset: int, headers: Mapping[str, str]
) -> tuple[int, bytes, list[dict[str, Any]]]:
    extra = {"sort": "id"} if export.service == "products" else {}
    url = f"{export.path}?{urlencode({**query, **extra, 'limit': PAGE_SIZE, 'offset': offset})}"
    status, _, raw = await upstream.get_bytes(url, headers)
    if status != 200:
        return status, raw, []
    items = loads(raw)  # Decimal prices: written exactly as the service stores them
    if not isinstance(items, list) or not all(isinstance(item, dict) and "id" in item for item in items):
        raise ProblemError(
            502,
            f"{upstream.name} answered {url} with something that is not a page",
            kind="upstream-bad-response",
        )
    return 200, raw, items


async def stream_export(
    request: web.Request, name: str, upstream: Upstream, export: Export, headers: Mapping[str, str]
) -> web.StreamResponse:
    query = filter_query(export, request.query)
    status, raw, items = await _page(upstream, export, query, 0, headers)
    if status != 200:
        # The service refused (a bad filter, say): its problem is the answer, before any CSV is sent.
        return web.Response(status=status, body=raw, content_type="application/problem+json")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="stockwiz-{name}-{stamp}.csv"',
            "Cache-Control": "no-store",
        }
    )
    await out.prepare(request)
    await out.write((BOM + csv_lines(export, [], header=True)).encode())
    offset, last_id, rows = 0, None, 0
    while True:
        fresh = new_items(export, items, last_id)
        if fresh:
            await out.write(csv_lines(export, fresh).encode())
            last_id, rows = fresh[-1]["id"], rows + len(fresh)
        if len(items) < PAGE_SIZE:
            break
        offset += PAGE_SIZE
        try:
            status, _, items = await _page(upstream, export, query, offset, headers)
            if status != 200:
                raise ProblemError(status, f"{upstream.name} answered {status} at offset {offset}")
        except ProblemError as exc:
            # Headers are gone: cut the connection so the client sees a broken download, not a short file
            # that looks complete.
            log.warning("export %s broke after %d rows: %s", name, rows, exc.detail)
            if request.transport is not None:
                request.transport.close()
            return out
    await out.write_eof()
    log.info("export %s: %d rows", name, rows)
    return out
