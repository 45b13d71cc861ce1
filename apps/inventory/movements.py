"""The movement log: the ledger read shop-wide or per record, filtered, newest first, each movement with
its product's name and SKU (no HTTP here).

One statement reads a page: the product is joined in the same query (an outer join, so a movement of a
product deleted since keeps its row, with a null name), never looked up per row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from inventory.schemas import MovementQuery
from inventory.stock import Page, missing_record, movement_json
from inventory.tables import inventory, products
from stockwiz_runtime.db import Database
from stockwiz_runtime.ledger import stock_movements

_PAGE_SELECT = sa.select(
    *stock_movements.c, products.c.name.label("product_name"), products.c.sku
).select_from(stock_movements.outerjoin(products, products.c.id == stock_movements.c.product_id))


def _conditions(query: MovementQuery, inventory_id: int | None) -> list[sa.ColumnElement[bool]]:
    movements = stock_movements.c
    conditions: list[sa.ColumnElement[bool]] = []
    if inventory_id is not None:
        conditions.append(movements.inventory_id == inventory_id)
    if query.product_id is not None:
        conditions.append(movements.product_id == query.product_id)
    if query.warehouse is not None:
        conditions.append(movements.warehouse == query.warehouse)
    if query.reason is not None:
        conditions.append(movements.reason == query.reason)
    if query.actor is not None:
        conditions.append(movements.actor == query.actor)
    if query.since is not None:
        conditions.append(movements.created_at >= query.since)
    before = query.before
    if before is not None:
        conditions.append(movements.created_at < before)
    return conditions


def listed_movement_json(row: sa.RowMapping) -> dict[str, Any]:
    return {**movement_json(row), "product_name": row["product_name"], "sku": row["sku"]}


async def list_movements(db: Database, query: MovementQuery, inventory_id: int | None = None) -> Page:
    conditions = _conditions(query, inventory_id)
    select_page = (
        _PAGE_SELECT.where(*conditions)
        # Ids grow with time: newest first without a tie on equal timestamps.
        .order_by(stock_movements.c.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    count = sa.select(sa.func.count()).select_from(stock_movements).where(*conditions)
    async with db.read() as conn:
        rows = (await conn.execute(select_page)).mappings().all()
        total = int(await conn.scalar(count) or 0)
        # A deleted record's history stays readable; a record that never existed is a 404.
        if inventory_id is not None and total == 0:
            exists = await conn.scalar(sa.select(inventory.c.id).where(inventory.c.id == inventory_id))
            if exists is None:
                raise missing_record(inventory_id)
    return Page([listed_movement_json(row) for row in rows], total)
