"""The stock value: units x cost price per warehouse and in total, computed by the database in one query
(no HTTP here). Money is exact: PostgreSQL multiplies numerics; SQLite, which stores numeric(10,2) as a
float, multiplies whole cents (the cost price rounded to cents is exact, and integer sums are), which
holds to 92 quadrillion cents. Units of products without a cost price are not guessed at: they are
reported as unpriced, with how many products that is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from inventory.tables import inventory, products, warehouses
from stockwiz_runtime.db import Database

_CENT = Decimal("0.01")
_JOINED = warehouses.outerjoin(inventory, inventory.c.warehouse == warehouses.c.name).outerjoin(
    products, products.c.id == inventory.c.product_id
)
_PRICED = products.c.cost_price.is_not(None)
_UNPRICED = sa.and_(products.c.cost_price.is_(None), inventory.c.quantity > 0)


def _measures(cents: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    return [
        sa.func.coalesce(sa.func.sum(inventory.c.quantity), 0).label("units"),
        sa.func.coalesce(sa.func.sum(sa.case((_PRICED, inventory.c.quantity * cents), else_=0)), 0).label(
            "value_cents"
        ),
        sa.func.coalesce(sa.func.sum(sa.case((_UNPRICED, inventory.c.quantity), else_=0)), 0).label(
            "unpriced_units"
        ),
        sa.func.count(sa.distinct(sa.case((_UNPRICED, inventory.c.product_id)))).label("unpriced_products"),
    ]


def _statement(cents: sa.ColumnElement[Any]) -> sa.CompoundSelect[Any]:
    """One row per active warehouse (name, sorted by the caller), then the total (name NULL): archived
    warehouses hold nothing, and an active one without stock is worth 0."""
    active = warehouses.c.archived.is_(False)
    per_warehouse = (
        sa.select(warehouses.c.id, warehouses.c.name, *_measures(cents))
        .select_from(_JOINED)
        .where(active)
        .group_by(warehouses.c.id, warehouses.c.name)
    )
    total = sa.select(sa.null().label("id"), sa.null().label("name"), *_measures(cents)).select_from(_JOINED)
    return sa.union_all(per_warehouse, total)


_POSTGRES = _statement(products.c.cost_price * 100)
_SQLITE = _statement(sa.cast(sa.func.round(products.c.cost_price * 100), sa.BigInteger))


def _amounts(row: Any) -> dict[str, Any]:
    value = (Decimal(row.value_cents) / 100).quantize(_CENT)
    return {
        "units": int(row.units),
        "value": str(value),
        "unpriced_units": int(row.unpriced_units),
        "unpriced_products": int(row.unpriced_products),
    }


async def stock_value(db: Database) -> dict[str, Any]:
    async with db.read() as conn:
        rows = (await conn.execute(_POSTGRES if db.is_postgres else _SQLITE)).all()
    per_warehouse = sorted(
        (row for row in rows if row.id is not None), key=lambda row: (row.name.casefold(), row.name)
    )
    [total] = [row for row in rows if row.id is None]
    return {
        "warehouses": [{"id": row.id, "name": row.name, **_amounts(row)} for row in per_warehouse],
        "total": _amounts(total),
    }
