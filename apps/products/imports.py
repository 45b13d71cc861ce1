"""Importing products from a CSV file (no HTTP here): every row is checked first, every bad row is
reported, and then all rows are written in one transaction, or none.

A row **updates** the product it names and creates one when it names none: by `id` when that is a product
of this shop (the export writes it, so an exported file finds its products again, even those without a
SKU), otherwise by `sku`. Every column the file has is set (a blank cell clears an optional one); a row
equal to its product changes nothing, so an exported file imported again changes nothing. A SKU that
belongs to another product than the row's id, or a product named by two rows, is a bad row. The export's
`created_at` and `updated_at` are ignored. Leave `id` out (or blank) to match by SKU alone, say for a
file from another shop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BeforeValidator, Field
from sqlalchemy.exc import IntegrityError

from products.schemas import Category, CostPrice, Description, Name, Price, Sku
from products.tables import products
from stockwiz_runtime.csvimport import Columns, Report, RowError, read_rows, rejected, validate_rows
from stockwiz_runtime.db import Database
from stockwiz_runtime.importlock import lock_imports
from stockwiz_runtime.problems import conflict
from stockwiz_runtime.validation import MAX_ID, RequestModel

COLUMNS = Columns(
    required=("name", "price"),
    optional=("id", "sku", "cost_price", "category", "description", "archived"),
    ignored=("created_at", "updated_at"),
)
_FIELDS = ("sku", "name", "price", "cost_price", "category", "description", "archived")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _decimal_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return Decimal(value.replace(",", "")) if value.strip() else value
    except InvalidOperation:
        raise ValueError("must be a price such as 12.50") from None


def _whole_number(value: Any) -> Any:
    if isinstance(value, str):
        if not value.isdigit():
            raise ValueError("must be a product id such as 42")
        return int(value)
    return value


def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValueError("must be true or false")
    return value


class ImportedProduct(RequestModel):
    id: Annotated[int, BeforeValidator(_whole_number), Field(ge=1, le=MAX_ID)] | None = None
    sku: Sku | None = None
    name: Name
    price: Annotated[Price, BeforeValidator(_decimal_text)]
    cost_price: Annotated[CostPrice, BeforeValidator(_decimal_text)] | None = None
    category: Category | None = None
    description: Description | None = None
    archived: Annotated[bool, BeforeValidator(_yes_no)] = False


async def import_products(db: Database, raw: bytes, *, dry_run: bool) -> Report:
    read = read_rows(raw, COLUMNS)
    # Only the columns the file has are set: a file without `category` leaves every category as it is.
    fields = [name for name in _FIELDS if name in read.header]
    errors: list[RowError] = list(read.errors)
    valid = validate_rows(read.rows, ImportedProduct, errors)
    report = Report(dry_run=dry_run, rows=read.count)
    now = datetime.now(UTC)
    try:
        # A dry run takes the same lock and reads the same rows, and writes nothing: its report is what the
        # import would do now.
        async with db.write() as conn:
            await lock_imports(conn)
            skus = [product.sku for _, product in valid if product.sku is not None]
            ids = [product.id for _, product in valid if product.id is not None]
            found = (
                await conn.execute(
                    sa.select(products).where(sa.or_(products.c.sku.in_(skus), products.c.id.in_(ids)))
                )
            ).all()
            by_sku = {row.sku: row for row in found if row.sku is not None}
            by_id = {row.id: row for row in found}
            inserts: list[dict[str, Any]] = []
            updates: list[tuple[int, dict[str, Any]]] = []
            row_of_product: dict[int, int] = {}
            row_of_sku: dict[str, int] = {}
            for number, product in valid:
                values: dict[str, Any] = {name: getattr(product, name) for name in fields}
                current = by_id.get(product.id) if product.id is not None else None
                owner = by_sku.get(product.sku) if product.sku is not None else None
                if current is not None and owner is not None and owner.id != current.id:
                    errors.append(
                        RowError(number, "sku", f"{product.sku} is the SKU of {owner.name} (id {owner.id})")
                    )
                    continue
                current = current or owner
                if product.sku is not None and product.sku in row_of_sku:
                    errors.append(
                        RowError(number, "sku", f"{product.sku} is already in row {row_of_sku[product.sku]}")
                    )
                    continue
                if current is not None and current.id in row_of_product:
                    errors.append(
                        RowError(
                            number, "id", f"{current.name} is already in row {row_of_product[current.id]}"
                        )
                    )
                    continue
                if product.sku is not None:
                    row_of_sku[product.sku] = number
                if current is None:
                    inserts.append(
                        {
                            **product.model_dump(exclude={"id"}),
                            "version": 1,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    continue
                row_of_product[current.id] = number
                if any(_differs(getattr(current, name), value) for name, value in values.items()):
                    updates.append((current.id, values))
                else:
                    report.unchanged += 1
            if errors:
                raise rejected(errors, read.count)
            report.created, report.updated = len(inserts), len(updates)
            if not dry_run:
                if updates:
                    # One executemany: every row of a file sets the same columns (those of its header).
                    await conn.execute(
                        sa.update(products)
                        .where(products.c.id == sa.bindparam("product_id"))
                        .values(
                            **{name: sa.bindparam(f"new_{name}") for name in fields},
                            version=products.c.version + 1,
                            updated_at=now,
                        ),
                        [
                            {"product_id": product_id, **{f"new_{k}": v for k, v in values.items()}}
                            for product_id, values in updates
                        ],
                    )
                if inserts:
                    await conn.execute(sa.insert(products), inserts)
    except IntegrityError:
        # A product with one of these SKUs was created while the import ran: nothing was written.
        raise conflict(
            "The products changed while the file was imported; nothing was imported. Upload it again.",
            kind="import-conflict",
        ) from None
    return report


def _differs(current: Any, new: Any) -> bool:
    if current is None or new is None:  # an optional price set or cleared
        return (current is None) != (new is None)
    if isinstance(current, Decimal | float) or isinstance(new, Decimal):
        return Decimal(str(current)) != Decimal(str(new))
    return bool(current != new)
