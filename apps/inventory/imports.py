"""Importing opening stock from a CSV file (no HTTP here): every row is checked first, every bad row is
reported, and then all rows are written in one transaction, or none.

A row names a product by `sku` (or by `product_id` when the SKU cell is blank) and a warehouse. A product
without stock there gets a new record (a `create` movement of the quantity); a record that exists is set
to the row's quantity as a stock count would set it (a `count` movement of the difference, none when the
quantity is the same), with the reorder point and quantity of the row when the file has them. So an
exported file imported again changes nothing. The columns are those of the stock export; its `id`,
`product_name`, `version` and `last_updated` are ignored. An archived product takes no new stock. A
warehouse must exist (whatever the case of its name in the file; the records get its stored name), and
an archived one takes no new stock either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BeforeValidator, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.schemas import MAX_QUANTITY, Warehouse
from inventory.stock import movement_of
from inventory.tables import inventory, products
from inventory.warehouses import resolve_many
from stockwiz_runtime.csvimport import Columns, Report, RowError, read_rows, rejected, validate_rows
from stockwiz_runtime.db import Database
from stockwiz_runtime.importlock import lock_imports
from stockwiz_runtime.ledger import stock_movements
from stockwiz_runtime.problems import conflict
from stockwiz_runtime.validation import MAX_ID, FieldRuleError, RequestModel

COLUMNS = Columns(
    required=("warehouse", "quantity"),
    optional=("sku", "product_id", "reorder_point", "reorder_quantity"),
    ignored=("id", "product_name", "version", "last_updated"),
)
IMPORT_NOTE = "CSV import"


def _whole_number(value: Any) -> Any:
    if isinstance(value, str):
        text = value.replace(",", "")
        if not text.isdigit():
            raise ValueError("must be a whole number of units, 0 or more")
        return int(text)
    return value


Units = Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=MAX_QUANTITY)]


class ImportedStock(RequestModel):
    sku: str | None = None
    product_id: Annotated[int, BeforeValidator(_whole_number), Field(ge=1, le=MAX_ID)] | None = None
    warehouse: Warehouse
    quantity: Units
    reorder_point: Units | None = None
    reorder_quantity: Units | None = None

    @model_validator(mode="after")
    def _names_a_product(self) -> ImportedStock:
        if self.sku is None and self.product_id is None:
            raise FieldRuleError("sku", "is blank; name the product by its SKU")
        return self


async def import_stock(db: Database, raw: bytes, *, dry_run: bool, default_reorder_point: int) -> Report:
    read = read_rows(raw, COLUMNS)
    if "sku" not in read.header and "product_id" not in read.header:
        raise rejected([RowError(1, "sku", "is missing from the header")], read.count)
    errors: list[RowError] = list(read.errors)
    valid = validate_rows(read.rows, ImportedStock, errors)
    report = Report(dry_run=dry_run, rows=read.count)
    now = datetime.now(UTC)
    try:
        async with db.write() as conn:
            await lock_imports(conn)
            skus = [row.sku for _, row in valid if row.sku is not None]
            ids = [row.product_id for _, row in valid if row.sku is None and row.product_id is not None]
            # The products FOR SHARE (PostgreSQL), then their records FOR UPDATE: the order every writer of
            # stock locks them in (see stock._archived_refusal), so an archive cannot slip in between.
            known = (
                await conn.execute(
                    sa.select(products.c.id, products.c.sku, products.c.name, products.c.archived)
                    .where(sa.or_(products.c.sku.in_(skus), products.c.id.in_(ids)))
                    .with_for_update(read=True)
                )
            ).all()
            by_sku = {product.sku: product for product in known if product.sku is not None}
            by_id = {product.id: product for product in known}
            # Then the warehouses FOR SHARE: the lock order of every stock write (product, warehouse, record).
            places = await resolve_many(conn, {row.warehouse for _, row in valid})
            archived_places = {place.name for place in places.values() if place.archived}
            planned: list[tuple[int, Any, ImportedStock]] = []
            first_row_of: dict[tuple[int, str], int] = {}
            for number, row in valid:
                product = by_sku.get(row.sku) if row.sku is not None else by_id.get(row.product_id)
                if product is None:
                    named = f"SKU {row.sku}" if row.sku is not None else f"id {row.product_id}"
                    column = "sku" if row.sku is not None else "product_id"
                    errors.append(
                        RowError(number, column, f"no product has {named}; import the products first")
                    )
                    continue
                if row.sku is not None and row.product_id is not None and row.product_id != product.id:
                    errors.append(
                        RowError(
                            number,
                            "product_id",
                            f"is {row.product_id}, but SKU {row.sku} is product {product.id}",
                        )
                    )
                    continue
                place = places.get(row.warehouse)
                if place is None:
                    errors.append(
                        RowError(number, "warehouse", f"no warehouse called {row.warehouse}; create it first")
                    )
                    continue
                row = row.model_copy(update={"warehouse": place.name})
                key = (product.id, row.warehouse)
                if key in first_row_of:
                    errors.append(
                        RowError(
                            number,
                            "warehouse",
                            f"{product.name} in {row.warehouse} is already in row {first_row_of[key]}",
                        )
                    )
                    continue
                first_row_of[key] = number
                planned.append((number, product, row))
            records = {
                (record.product_id, record.warehouse): record
                for record in (
                    await conn.execute(
                        sa.select(inventory)
                        .where(inventory.c.product_id.in_(sorted({product.id for _, product, _ in planned})))
                        .with_for_update()
                    )
                ).mappings()
            }
            # Every row is judged before anything is written, so every bad row is reported.
            creates: list[tuple[Any, ImportedStock]] = []
            updates: list[tuple[sa.RowMapping, dict[str, int]]] = []
            for number, product, row in planned:
                current = records.get((product.id, row.warehouse))
                receives = row.quantity > (current["quantity"] if current is not None else 0)
                if product.archived and receives:
                    errors.append(
                        RowError(
                            number,
                            "quantity",
                            f"{product.name} is archived and takes no new stock; restore it first",
                        )
                    )
                elif receives and row.warehouse in archived_places:
                    errors.append(
                        RowError(
                            number,
                            "warehouse",
                            f"{row.warehouse} is archived and takes no new stock; restore it first",
                        )
                    )
                elif current is None:
                    creates.append((product, row))
                else:
                    changes = {
                        name: getattr(row, name)
                        for name in ("quantity", "reorder_point", "reorder_quantity")
                        if getattr(row, name) is not None and getattr(row, name) != current[name]
                    }
                    if changes:
                        updates.append((current, changes))
                    else:
                        report.unchanged += 1
            if errors:
                raise rejected(errors, read.count)
            report.created, report.updated = len(creates), len(updates)
            if not dry_run:
                await _write(conn, creates, updates, default_reorder_point, now)
    except IntegrityError:
        raise conflict(
            "The stock changed while the file was imported; nothing was imported. Upload it again.",
            kind="import-conflict",
        ) from None
    return report


async def _write(
    conn: AsyncConnection,
    creates: list[tuple[Any, ImportedStock]],
    updates: list[tuple[sa.RowMapping, dict[str, int]]],
    default_reorder_point: int,
    now: datetime,
) -> None:
    ledger: list[dict[str, Any]] = []
    if creates:
        # One statement for every new record (executemany with RETURNING, in the rows' order): 5,000 rows
        # are one round trip's worth of work, not 5,000.
        created = (
            await conn.execute(
                sa.insert(inventory).returning(*inventory.c, sort_by_parameter_order=True),
                [
                    {
                        "product_id": product.id,
                        "warehouse": row.warehouse,
                        "quantity": row.quantity,
                        "reorder_point": default_reorder_point
                        if row.reorder_point is None
                        else row.reorder_point,
                        "reorder_quantity": row.reorder_quantity or 0,
                        "version": 1,
                        "created_at": now,
                        "last_updated": now,
                    }
                    for product, row in creates
                ],
            )
        ).mappings()
        ledger += [movement_of(record, record["quantity"], "create", now, IMPORT_NOTE) for record in created]
    if updates:
        # One executemany for every changed record. The rows are locked (FOR UPDATE; SQLite's writer is
        # alone), so their new versions and quantities are known without RETURNING.
        values = [{**current, **changes, "version": current["version"] + 1} for current, changes in updates]
        await conn.execute(
            sa.update(inventory)
            .where(inventory.c.id == sa.bindparam("record_id"))
            .values(
                quantity=sa.bindparam("new_quantity"),
                reorder_point=sa.bindparam("new_reorder_point"),
                reorder_quantity=sa.bindparam("new_reorder_quantity"),
                version=sa.bindparam("new_version"),
                last_updated=now,
            ),
            [
                {
                    "record_id": record["id"],
                    "new_quantity": record["quantity"],
                    "new_reorder_point": record["reorder_point"],
                    "new_reorder_quantity": record["reorder_quantity"],
                    "new_version": record["version"],
                }
                for record in values
            ],
        )
        ledger += [
            movement_of(record, record["quantity"] - current["quantity"], "count", now, IMPORT_NOTE)
            for record, (current, changes) in zip(values, updates, strict=True)
            if "quantity" in changes
        ]
    if ledger:
        # executemany: a multi-row VALUES of 5,000 movements would pass SQLite's limit of bound parameters.
        await conn.execute(sa.insert(stock_movements), ledger)
