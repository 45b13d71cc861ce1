"""Importing products from a CSV file (no HTTP here): every row is checked first, every bad row is
reported, and then all rows are written in one transaction, or none.

Rows are matched to products by SKU, so every row needs one: a SKU the shop already has **updates** that
product (name, price and each other column the file has), a new SKU creates a product, a row equal to the
product changes nothing. The columns are those of the products export; its `id`, `created_at` and
`updated_at` are ignored, so an exported file imported again changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BeforeValidator
from sqlalchemy.exc import IntegrityError

from products.schemas import Category, Description, Name, Price, Sku
from products.tables import products
from stockwiz_runtime.csvimport import Columns, Report, RowError, read_rows, rejected, validate_rows
from stockwiz_runtime.db import Database
from stockwiz_runtime.importlock import lock_imports
from stockwiz_runtime.problems import conflict
from stockwiz_runtime.validation import RequestModel

COLUMNS = Columns(
    required=("sku", "name", "price"),
    optional=("category", "description", "archived"),
    ignored=("id", "created_at", "updated_at"),
)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _decimal_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return Decimal(value.replace(",", "")) if value.strip() else value
    except InvalidOperation:
        raise ValueError("must be a price such as 12.50") from None


def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValueError("must be true or false")
    return value


class ImportedProduct(RequestModel):
    sku: Sku
    name: Name
    price: Annotated[Price, BeforeValidator(_decimal_text)]
    category: Category | None = None
    description: Description | None = None
    archived: Annotated[bool, BeforeValidator(_yes_no)] = False


async def import_products(db: Database, raw: bytes, *, dry_run: bool) -> Report:
    read = read_rows(raw, COLUMNS)
    # Only the columns the file has are set: a file without `category` leaves every category as it is.
    fields = [
        name for name in ("name", "price", "category", "description", "archived") if name in read.header
    ]
    errors: list[RowError] = list(read.errors)
    valid = validate_rows(read.rows, ImportedProduct, errors)
    first_row_of: dict[str, int] = {}
    for number, product in valid:
        key = product.sku  # unique as the database's constraint is (exactly)
        if key in first_row_of:
            errors.append(RowError(number, "sku", f"{product.sku} is already in row {first_row_of[key]}"))
        else:
            first_row_of[key] = number
    if errors:
        raise rejected(errors, read.count)
    report = Report(dry_run=dry_run, rows=read.count)
    now = datetime.now(UTC)
    try:
        # A dry run takes the same lock and reads the same rows, and writes nothing: its report is what the
        # import would do now.
        async with db.write() as conn:
            await lock_imports(conn)
            skus = [product.sku for _, product in valid]
            found = await conn.execute(sa.select(products).where(products.c.sku.in_(skus)))
            existing = {row.sku: row for row in found}
            inserts: list[dict[str, Any]] = []
            for _, product in valid:
                values: dict[str, Any] = {name: getattr(product, name) for name in fields}
                current = existing.get(product.sku)
                if current is None:
                    inserts.append(
                        {
                            **product.model_dump(),
                            **values,
                            "version": 1,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    report.created += 1
                elif any(_differs(getattr(current, name), value) for name, value in values.items()):
                    report.updated += 1
                    if not dry_run:
                        await conn.execute(
                            sa.update(products)
                            .where(products.c.id == current.id)
                            .values(**values, version=products.c.version + 1, updated_at=now)
                        )
                else:
                    report.unchanged += 1
            if inserts and not dry_run:
                await conn.execute(sa.insert(products), inserts)
    except IntegrityError:
        # A product with one of these SKUs was created while the import ran: nothing was written.
        raise conflict(
            "The products changed while the file was imported; nothing was imported. Upload it again.",
            kind="import-conflict",
        ) from None
    return report


def _differs(current: Any, new: Any) -> bool:
    if isinstance(current, Decimal | float) or isinstance(new, Decimal):
        return Decimal(str(current)) != Decimal(str(new))
    return bool(current != new)
