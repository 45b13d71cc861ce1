"""Views that join a product with its stock, built from the services' batch endpoints: at most two backend
calls per request whatever the number of products (the earlier gateway made one call per product)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from gateway.upstream import Upstream
from stockwiz_runtime.jsonio import JSON_CONTENT_TYPE, dumps
from stockwiz_runtime.problems import ProblemError

_PASSED_THROUGH = ("ETag", "X-Total-Count", "Link")


def _consume_outcome(task: asyncio.Task[Any]) -> None:
    # A call abandoned because the other one failed: its own error is not news, but must be retrieved.
    if not task.cancelled():
        task.exception()


def _summary_path(product_ids: list[int]) -> str:
    return "/inventory/summary?product_ids=" + ",".join(map(str, product_ids))


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
    # Summaries hold integers and names only, so the fast decoder loses nothing.
    status, _, summary = await inventory.get_json(_summary_path(product_ids), headers, decode=orjson.loads)
    if status != 200 or not isinstance(summary, dict):
        raise _bad_answer(inventory, status)
    return summary


def _with_inventory(product_json: bytes, stock: Any) -> bytes | None:
    """The product object with `"inventory": stock` appended, spliced as bytes so the product's own
    fields (exact decimal prices included) go out exactly as the product service wrote them."""
    body = product_json.rstrip()
    if not (body.startswith(b"{") and body.endswith(b"}")) or body == b"{}":
        return None
    return body[:-1] + b',"inventory":' + orjson.dumps(stock) + b"}"


async def product_with_stock(
    products: Upstream, inventory: Upstream, product_id: int, headers: Mapping[str, str]
) -> web.Response:
    """One product with `inventory` (total quantity, main warehouse, per-warehouse breakdown); no
    `inventory` key when the product has no stock. Both calls run at the same time."""
    stock = asyncio.create_task(_stock_summary(inventory, [product_id], headers))
    stock.add_done_callback(_consume_outcome)
    try:
        response = await products.request("GET", f"/products/{product_id}", headers=headers)
        try:
            raw = await response.read()
        except Exception as exc:
            raise products.failed(exc) from None
        finally:
            response.release()
        out_headers = {name: response.headers[name] for name in _PASSED_THROUGH if name in response.headers}
        if response.status != 200:
            # The product service's own answer (a 404 problem, say) is the answer.
            stock.cancel()
            return web.Response(
                status=response.status,
                body=raw,
                headers={
                    **out_headers,
                    "Content-Type": response.headers.get("Content-Type", JSON_CONTENT_TYPE),
                },
            )
        summary = await stock
    except BaseException:
        stock.cancel()
        raise
    entry = summary.get(str(product_id))
    body = raw if entry is None else _with_inventory(raw, entry)
    if body is None:
        raise _bad_answer(products, response.status)
    return web.Response(body=body, content_type=JSON_CONTENT_TYPE, headers=out_headers)


async def products_with_stock(
    products: Upstream, inventory: Upstream, query_string: str, headers: Mapping[str, str]
) -> web.Response:
    """A page of products (the same filters and pagination as /api/products), each with its stock."""
    path = "/products" + (f"?{query_string}" if query_string else "")
    status, product_headers, page = await products.get_json(path, headers)
    passed = {name: product_headers[name] for name in _PASSED_THROUGH[1:] if name in product_headers}
    if status != 200:
        return web.Response(
            status=status,
            body=dumps(page),
            headers={**passed, "Content-Type": product_headers.get("Content-Type", JSON_CONTENT_TYPE)},
        )
    if not isinstance(page, list):
        raise _bad_answer(products, status)
    ids = [product["id"] for product in page]
    summary = await _stock_summary(inventory, ids, headers) if ids else {}
    for product in page:
        entry = summary.get(str(product["id"]))
        if entry is not None:
            product["inventory"] = entry
    return web.Response(body=dumps(page), content_type=JSON_CONTENT_TYPE, headers=passed)
