"""Views that join a product with its stock: one product in one call to the inventory service (its
product view), a page of products from the services' batch endpoints, at most two backend calls per request
whatever the number of products (the earlier gateway made one call per product)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from gateway.proxy import client_response_headers
from gateway.upstream import Upstream
from stockwiz_runtime.jsonio import JSON_CONTENT_TYPE, dumps, loads
from stockwiz_runtime.problems import ProblemError

_PASSED_THROUGH = ("ETag", "X-Total-Count", "Link")


_SUMMARY_PATH = "/inventory/summary?product_ids="
# The ids travel in the query string, and the inventory service (aiohttp, like most servers) refuses a
# request line over 8190 bytes: a page of 1000 large ids (up to 19 digits each) would not fit in one. Each
# call carries at most this many bytes of ids; a page that needs more takes a few calls, made at once.
SUMMARY_QUERY_BUDGET = 7000


def _summary_paths(product_ids: list[int]) -> list[str]:
    paths: list[str] = []
    chunk: list[str] = []
    size = 0
    for product_id in product_ids:
        text = str(product_id)
        if chunk and size + len(text) > SUMMARY_QUERY_BUDGET:
            paths.append(_SUMMARY_PATH + ",".join(chunk))
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        paths.append(_SUMMARY_PATH + ",".join(chunk))
    return paths


def _passed_through(response: aiohttp.ClientResponse, raw: bytes) -> web.Response:
    """A service's answer given to the client as it is, with the headers the proxy would pass."""
    headers = client_response_headers(response.headers)
    headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
    return web.Response(status=response.status, body=raw, headers=headers)


def _bad_answer(upstream: Upstream, status: int) -> ProblemError:
    return ProblemError(
        502,
        f"The {upstream.name} answered {status} where 200 was expected.",
        kind="upstream-bad-response",
        extra={"upstream": upstream.name},
    )


async def _stock_summary(
    inventory: Upstream, product_ids: list[int], headers: Mapping[str, str]
) -> dict[str, Any]:
    paths = _summary_paths(product_ids)
    if len(paths) == 1:
        return await _summary_part(inventory, paths[0], headers)
    parts = [asyncio.ensure_future(_summary_part(inventory, path, headers)) for path in paths]
    try:
        answers = await asyncio.gather(*parts)
    except BaseException:
        for part in parts:
            part.cancel()
        raise
    summary: dict[str, Any] = {}
    for answer in answers:
        summary.update(answer)
    return summary


async def _summary_part(inventory: Upstream, path: str, headers: Mapping[str, str]) -> dict[str, Any]:
    # Summaries hold integers and names only, so the fast decoder loses nothing.
    status, answer_headers, summary = await inventory.get_json(path, headers, decode=orjson.loads)
    if status == 503:
        # The service is unavailable for now (its database, say): so is this view, for as long.
        retry_after = answer_headers.get("Retry-After", "")
        raise inventory.unavailable(int(retry_after) if retry_after.isdigit() else 1)
    if status != 200 or not isinstance(summary, dict):
        raise _bad_answer(inventory, status)
    return summary


_PRODUCT_VIEW_PATH = "/inventory/product-view/"


async def product_with_stock(
    products: Upstream, inventory: Upstream, product_id: int, headers: Mapping[str, str]
) -> web.Response:
    """One product with `inventory` (total quantity, main warehouse, per-warehouse breakdown); no
    `inventory` key when the product has no stock. One call: the inventory service reads the product and its
    stock in one statement and writes them as the product service and the stock summary would (see
    inventory.product_view), so what the gateway used to splice from two calls arrives whole."""
    status, answer_headers, raw = await inventory.get_bytes(_PRODUCT_VIEW_PATH + str(product_id), headers)
    if status == 404 and _NO_SUCH_PRODUCT not in raw:
        # Not the view's "no such product" but a route it does not know: an inventory service older than
        # the gateway, during a rolling deployment. Compose from the two calls, as before the view existed.
        return await _composed_from_two_calls(products, inventory, product_id, headers)
    if status != 200:
        # A 404 problem (no such product), a 503 database-unavailable with Retry-After, ...: the service's
        # own answer is the answer.
        headers_out = client_response_headers(answer_headers)
        headers_out.setdefault("Content-Type", JSON_CONTENT_TYPE)
        return web.Response(status=status, body=raw, headers=headers_out)
    if not raw.startswith(b'{"id":'):
        # Not a product view (something else answering in the service's place): never passed on as one.
        # A prefix check, not a decode: the gateway no longer reads this body, it only vouches for its kind.
        raise _bad_answer(inventory, status)
    out_headers = {name: answer_headers[name] for name in _PASSED_THROUGH if name in answer_headers}
    return web.Response(body=raw, content_type=JSON_CONTENT_TYPE, headers=out_headers)


# The product view's (and the product service's) words for a product that does not exist.
_NO_SUCH_PRODUCT = b"does not exist"


async def _composed_from_two_calls(
    products: Upstream, inventory: Upstream, product_id: int, headers: Mapping[str, str]
) -> web.Response:
    status, answer_headers, raw = await products.get_bytes(f"/products/{product_id}", headers)
    if status != 200:
        headers_out = client_response_headers(answer_headers)
        headers_out.setdefault("Content-Type", JSON_CONTENT_TYPE)
        return web.Response(status=status, body=raw, headers=headers_out)
    body = raw.rstrip()
    if not body.startswith(b'{"id":') or not body.endswith(b"}"):
        raise _bad_answer(products, status)
    entry = (await _stock_summary(inventory, [product_id], headers)).get(str(product_id))
    if entry is not None:
        body = body[:-1] + b',"inventory":' + orjson.dumps(entry) + b"}"
    out_headers = {name: answer_headers[name] for name in _PASSED_THROUGH if name in answer_headers}
    return web.Response(body=body, content_type=JSON_CONTENT_TYPE, headers=out_headers)


async def products_with_stock(
    products: Upstream, inventory: Upstream, query_string: str, headers: Mapping[str, str]
) -> web.Response:
    """A page of products (the same filters and pagination as /api/products), each with its stock."""
    path = "/products" + (f"?{query_string}" if query_string else "")
    response = await products.request("GET", path, headers=headers)
    try:
        raw = await response.read()
    except Exception as exc:
        raise products.failed(exc) from None
    finally:
        response.release()
    passed = {name: response.headers[name] for name in _PASSED_THROUGH[1:] if name in response.headers}
    if response.status != 200:
        return _passed_through(response, raw)
    try:
        # Only the ids are read from this decoding: prices go out as the product service wrote them.
        page = orjson.loads(raw)
    except ValueError:
        raise _bad_answer(products, response.status) from None
    if not isinstance(page, list) or not all(isinstance(product, dict) for product in page):
        raise _bad_answer(products, response.status)
    ids = [product["id"] for product in page]
    summary = await _stock_summary(inventory, ids, headers) if ids else {}
    spans = _product_spans(raw, ids)
    if spans is None:
        body = _recomposed(raw, summary)
    else:
        parts = []
        for product_id, (start, end) in zip(ids, spans, strict=True):
            entry = summary.get(str(product_id))
            product = raw[start:end]
            parts.append(
                product if entry is None else product[:-1] + b',"inventory":' + orjson.dumps(entry) + b"}"
            )
        body = b"[" + b",".join(parts) + b"]"
    return web.Response(body=body, content_type=JSON_CONTENT_TYPE, headers=passed)


_PRODUCT_OPENING = b'{"id":'


def _product_spans(raw: bytes, ids: list[Any]) -> list[tuple[int, int]] | None:
    """Where each product object starts and ends in the product service's array, or None when its bytes are
    not laid out as expected (then the page is decoded and encoded again). In valid JSON `{"id":` can only
    open an object (a quote inside a string is escaped), and products are flat objects whose first key is
    their id; each span is checked against the id decoded at that place."""
    starts: list[int] = []
    position = raw.find(_PRODUCT_OPENING)
    while position != -1:
        starts.append(position)
        position = raw.find(_PRODUCT_OPENING, position + len(_PRODUCT_OPENING))
    if len(starts) != len(ids):
        return None
    spans: list[tuple[int, int]] = []
    closing = raw.rfind(b"]")
    for index, (start, product_id) in enumerate(zip(starts, ids, strict=True)):
        after_id = raw.find(b",", start)
        if raw[start + len(_PRODUCT_OPENING) : after_id] != str(product_id).encode():
            return None
        stop = starts[index + 1] if index + 1 < len(starts) else closing
        end = raw.rfind(b"}", start, stop) + 1
        if end <= start:
            return None
        spans.append((start, end))
    return spans


def _recomposed(raw: bytes, summary: Mapping[str, Any]) -> bytes:
    page = loads(raw)  # prices as exact Decimals
    for product in page:
        entry = summary.get(str(product["id"]))
        if entry is not None:
            product["inventory"] = entry
    return dumps(page)
