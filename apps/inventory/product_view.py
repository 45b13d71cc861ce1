"""One product with its stock in one statement: the gateway's composed read (`GET /api/products/{id}`).

The gateway used to make two calls for it, the product service for the product and this service for the
stock summary, and splice the answers. Profiling put most of the composed read's CPU in the second HTTP hop
(a server, a client, a query and their per-request middlewares), so the whole view is read here: the
products table is in the same database and this service already reads it (names and SKUs for low stock,
the archive flag). The product's fields are written exactly as the product service writes them (the same
columns in the same order, the price as the text of its numeric(10,2), timestamps through orjson) and the
stock exactly as `stock.summary` gives it, so the answer is byte for byte the one the gateway composed
before (tests/inventory/test_product_view.py compares them). Stock is read in the same statement as the
product, never cached: a client reads its own write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from inventory.tables import inventory as stock
from inventory.tables import products
from stockwiz_runtime.db import Database, ReadQuery, Row
from stockwiz_runtime.jsonio import dumps
from stockwiz_runtime.problems import ProblemError, not_found

# The product service's fields, in its order (products.catalogue._COLUMNS).
PRODUCT_FIELDS = (
    "id",
    "name",
    "description",
    "price",
    "cost_price",
    "category",
    "sku",
    "archived",
    "created_at",
    "updated_at",
)
_PRODUCT_COLUMNS = tuple(products.c[name] for name in PRODUCT_FIELDS)
# Where the product's own values end in a row; the version and one stock record follow.
_PRODUCT_WIDTH = len(PRODUCT_FIELDS)
_STOCK_COLUMNS = (
    stock.c.id.label("record_id"),
    stock.c.warehouse,
    stock.c.quantity,
    stock.c.reorder_point,
    stock.c.reorder_quantity,
)


_MONEY = ("price", "cost_price")


def _view_statement(*, money_as_text: bool) -> sa.Select[Any]:
    # One row per warehouse (ordered as the summary orders them), or one row with NULL stock columns when
    # the product has no stock records; none when the product does not exist.
    columns = [
        sa.cast(column, sa.Text).label(column.name) if money_as_text and column.name in _MONEY else column
        for column in _PRODUCT_COLUMNS
    ]
    return (
        sa.select(*columns, products.c.version, *_STOCK_COLUMNS)
        .select_from(products.outerjoin(stock, stock.c.product_id == products.c.id))
        .where(products.c.id == sa.bindparam("product_id", type_=sa.BigInteger))
        .order_by(stock.c.warehouse)
    )


_VIEW = ReadQuery(
    _view_statement(money_as_text=False),
    # The exact digits of numeric(10,2), as the product service sends them (no Decimal round trip).
    postgres=_view_statement(money_as_text=True),
)


@dataclass(frozen=True)
class ProductView:
    """The product with `inventory` as the gateway answers it, and the product's version (its ETag)."""

    body: bytes
    version: int


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive timestamps; everything we store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _product_json(row: Row) -> dict[str, Any]:
    values = list(row.values())[:_PRODUCT_WIDTH]
    data = dict(zip(PRODUCT_FIELDS, values, strict=True))
    for money in _MONEY:
        if isinstance(data[money], str):
            data[money] = orjson.Fragment(data[money])
    data["created_at"] = _utc(data["created_at"])
    data["updated_at"] = _utc(data["updated_at"])
    return data


def _stock_entry(rows: Sequence[Row]) -> dict[str, Any] | None:
    """The stock summary of one product (the shape and main-warehouse rule of `stock.summary`)."""
    if rows[0]["record_id"] is None:
        return None
    warehouses = [
        {
            "id": row["record_id"],
            "warehouse": row["warehouse"],
            "quantity": row["quantity"],
            "reorder_point": row["reorder_point"],
            "reorder_quantity": row["reorder_quantity"],
        }
        for row in rows
    ]
    # The warehouse holding the most units; the oldest record wins a tie, so the answer is stable.
    main = max(warehouses, key=lambda record: (record["quantity"], -record["id"]))
    return {
        "quantity": sum(record["quantity"] for record in warehouses),
        "warehouse": main["warehouse"],
        "warehouses": warehouses,
    }


def _missing(product_id: int) -> ProblemError:
    # The product service's own words for it, so the composed 404 reads as it always did.
    return not_found(f"product {product_id} does not exist")


async def product_view(db: Database, product_id: int) -> ProductView:
    rows = await db.fetch(_VIEW, product_id=product_id)
    if not rows:
        raise _missing(product_id)
    data = _product_json(rows[0])
    entry = _stock_entry(rows)
    if entry is not None:
        data["inventory"] = entry
    return ProductView(dumps(data), int(rows[0]["version"]))
