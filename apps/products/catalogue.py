"""The product catalogue's domain logic, as plain async functions over a Database (no HTTP here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from products.schemas import ProductCreate, ProductQuery, ProductUpdate
from products.tables import inventory, products
from stockwiz_runtime.db import Database, ReadQuery
from stockwiz_runtime.demo import DEMO_PRODUCTS, claim_seed
from stockwiz_runtime.http import precondition_failed
from stockwiz_runtime.ledger import stock_movements
from stockwiz_runtime.problems import ProblemError, conflict, not_found
from stockwiz_runtime.request_context import current_actor, current_request_id

_COLUMNS = (
    products.c.id,
    products.c.name,
    products.c.description,
    products.c.price,
    products.c.cost_price,
    products.c.category,
    products.c.sku,
    products.c.archived,
    products.c.created_at,
    products.c.updated_at,
)


@dataclass(frozen=True)
class Product:
    """A product as the API shows it, with the version its ETag carries."""

    data: dict[str, Any]
    version: int


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive timestamps; everything we store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# str(): a column name is a str subclass (quoted_name), which orjson refuses as a key.
_FIELDS = tuple(str(column.name) for column in _COLUMNS)
# PostgreSQL reads give the prices as the text of their numeric(10,2), the exact digits a Decimal would
# print: decoding 1,000 Decimals and encoding each back through a JSON default hook was a fifth of a long
# list.
_MONEY = ("price", "cost_price")
_PG_COLUMNS = tuple(
    sa.cast(column, sa.Text).label(column.name) if column.name in _MONEY else column for column in _COLUMNS
)


def _as_json(row: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    # The row's first values are _COLUMNS in order; zip leaves out what follows (version, total).
    data = dict(zip(_FIELDS, row.values(), strict=False))
    for money in _MONEY:
        if isinstance(data[money], str):
            data[money] = orjson.Fragment(data[money])
    if data["created_at"].tzinfo is None:
        data["created_at"] = _utc(data["created_at"])
        data["updated_at"] = _utc(data["updated_at"])
    return data


def _missing(product_id: int) -> ProblemError:
    return not_found(f"product {product_id} does not exist")


def _integrity_problem(error: IntegrityError, sku: str | None) -> ProblemError:
    message = str(error.orig).lower()
    if "sku" in message:
        return conflict(f"a product with sku {sku!r} already exists", kind="duplicate-sku")
    raise error


def _order_by(sort: str) -> list[sa.ColumnElement[Any]]:
    descending = sort.startswith("-")
    column = products.c[sort.lstrip("-")]
    primary = column.desc() if descending else column.asc()
    # The id breaks ties so that pages never repeat or skip a product.
    return [primary, products.c.id.desc() if descending else products.c.id.asc()]


_TOTAL = sa.func.count().over().label("total")
_GET_PRODUCT = ReadQuery(
    sa.select(*_COLUMNS, products.c.version).where(
        products.c.id == sa.bindparam("product_id", type_=sa.BigInteger)
    ),
    postgres=sa.select(*_PG_COLUMNS, products.c.version).where(
        products.c.id == sa.bindparam("product_id", type_=sa.BigInteger)
    ),
)


def _conditions(search: Any, category: Any, ids: Any, archived: bool | None) -> list[sa.ColumnElement[bool]]:
    """The list filters; each argument is a value, a bind parameter, or None for no such filter."""
    conditions: list[sa.ColumnElement[bool]] = []
    if archived is not None:
        conditions.append(products.c.archived.is_(True) if archived else products.c.archived.is_(False))
    if search is not None:
        conditions.append(
            sa.or_(
                products.c.name.icontains(search, autoescape=True),
                products.c.sku.icontains(search, autoescape=True),
                products.c.description.icontains(search, autoescape=True),
            )
        )
    if category is not None:
        conditions.append(products.c.category == category)
    if ids is not None:
        conditions.append(products.c.id.in_(ids))
    return conditions


def _page_statement(
    sort: str, conditions: list[sa.ColumnElement[bool]], limit: Any, offset: Any, columns: Any = _COLUMNS
) -> Any:
    # The total rides along as a window count, so a page is one statement: one round trip, one snapshot.
    return (
        sa.select(*columns, _TOTAL).where(*conditions).order_by(*_order_by(sort)).limit(limit).offset(offset)
    )


@cache
def _list_query(sort: str, category: bool, ids: bool, archived: bool | None) -> ReadQuery:
    """One statement per shape of list query without search text (six dozen at most), built once."""
    conditions = _conditions(
        None,
        sa.bindparam("category", type_=sa.String) if category else None,
        sa.bindparam("ids", expanding=True, type_=sa.BigInteger) if ids else None,
        archived,
    )
    limit, offset = sa.bindparam("limit", type_=sa.Integer), sa.bindparam("offset", type_=sa.Integer)
    return ReadQuery(
        _page_statement(sort, conditions, limit, offset),
        postgres=_page_statement(sort, conditions, limit, offset, _PG_COLUMNS),
    )


async def list_products(db: Database, query: ProductQuery) -> Page:
    rows: Sequence[Mapping[str, Any] | sa.RowMapping]
    archived = query.archive_filter()
    if query.q:
        # Search text is escaped into its LIKE patterns, so its statement is built for each request.
        conditions = _conditions(query.q, query.category, query.ids, archived)
        async with db.read() as conn:
            statement = _page_statement(query.sort, conditions, query.limit, query.offset)
            rows = (await conn.execute(statement)).mappings().all()
    else:
        parameters: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
        if query.category:
            parameters["category"] = query.category
        if query.ids is not None:
            parameters["ids"] = query.ids
        rows = await db.fetch(
            _list_query(query.sort, bool(query.category), query.ids is not None, archived), **parameters
        )
    if rows:
        total = int(rows[0]["total"])
    else:
        # Past the last page (or when nothing matches) no row carries the window count: count on its own.
        count = sa.select(sa.func.count()).select_from(products)
        where = _conditions(query.q, query.category, query.ids, archived)
        async with db.read() as conn:
            total = int(await conn.scalar(count.where(*where)) or 0)
    return Page([_as_json(row) for row in rows], total)


async def get_product(db: Database, product_id: int) -> Product:
    row = await db.fetch_one(_GET_PRODUCT, product_id=product_id)
    if row is None:
        raise _missing(product_id)
    return Product(_as_json(row), row["version"])


async def create_product(db: Database, body: ProductCreate) -> Product:
    now = datetime.now(UTC)
    values = body.model_dump() | {"archived": False, "version": 1, "created_at": now, "updated_at": now}
    try:
        async with db.write() as conn:
            row = (
                (
                    await conn.execute(
                        products.insert().values(**values).returning(*_COLUMNS, products.c.version)
                    )
                )
                .mappings()
                .one()
            )
    except IntegrityError as error:
        raise _integrity_problem(error, body.sku) from None
    return Product(_as_json(row), row["version"])


async def update_product(
    db: Database, product_id: int, body: ProductUpdate, expected_versions: frozenset[int] | None
) -> Product:
    """`expected_versions` are those If-Match accepts (None: unconditional)."""
    changes = body.changes()
    if not changes:
        product = await get_product(db, product_id)
        if expected_versions is not None and product.version not in expected_versions:
            raise precondition_failed(product.version)
        return product
    statement = sa.update(products).where(products.c.id == product_id)
    if expected_versions is not None:
        statement = statement.where(products.c.version.in_(expected_versions))
    statement = statement.values(**changes, version=products.c.version + 1, updated_at=datetime.now(UTC))
    try:
        async with db.write() as conn:
            row = (await conn.execute(statement.returning(*_COLUMNS, products.c.version))).mappings().first()
            if row is None:
                current = await conn.scalar(sa.select(products.c.version).where(products.c.id == product_id))
    except IntegrityError as error:
        raise _integrity_problem(error, changes.get("sku")) from None
    if row is None:
        if current is None:
            raise _missing(product_id)
        raise precondition_failed(current)
    return Product(_as_json(row), row["version"])


def _units(count: int) -> str:
    return f"{count:,} unit" if count == 1 else f"{count:,} units"


async def delete_product(db: Database, product_id: int, expected_versions: frozenset[int] | None) -> None:
    """Delete a product whose stock is gone. Its stock records, all at 0 units, go in the same transaction,
    each leaving a `delete` movement of 0 that names the product, so every record's history still sums to
    its quantity and stays readable after the product is gone. A product that still holds units is refused
    (product-has-stock): ship, transfer or count them to 0 first, or archive it."""
    now = datetime.now(UTC)
    async with db.write() as conn:
        # The product first, then its records: the order in which the inventory service locks them too.
        product = (
            await conn.execute(
                sa.select(products.c.name, products.c.sku, products.c.version)
                .where(products.c.id == product_id)
                .with_for_update()
            )
        ).first()
        if product is None:
            raise _missing(product_id)
        if expected_versions is not None and product.version not in expected_versions:
            raise precondition_failed(product.version)
        records = (
            await conn.execute(
                sa.select(inventory.c.id, inventory.c.warehouse, inventory.c.quantity)
                .where(inventory.c.product_id == product_id)
                .order_by(inventory.c.warehouse)
                .with_for_update()
            )
        ).all()
        held = [record for record in records if record.quantity > 0]
        if held:
            where = ", ".join(f"{record.warehouse}: {record.quantity:,}" for record in held)
            raise conflict(
                f"{product.name} still holds {_units(sum(r.quantity for r in held))} ({where}); ship, "
                "transfer or count them to 0 before deleting it, or archive it",
                kind="product-has-stock",
                quantity=sum(record.quantity for record in held),
            )
        if records:
            label = product.name if product.sku is None else f"{product.name} (SKU {product.sku})"
            await conn.execute(
                sa.insert(stock_movements).values(
                    [
                        {
                            "inventory_id": record.id,
                            "product_id": product_id,
                            "warehouse": record.warehouse,
                            "delta": 0,
                            "quantity_after": 0,
                            "reason": "delete",
                            "note": f"product deleted: {label}",
                            "reference": None,
                            "request_id": current_request_id(),
                            "actor": current_actor(),
                            "created_at": now,
                        }
                        for record in records
                    ]
                )
            )
            await conn.execute(sa.delete(inventory).where(inventory.c.product_id == product_id))
        await conn.execute(sa.delete(products).where(products.c.id == product_id))


async def categories(db: Database) -> list[dict[str, Any]]:
    statement = (
        sa.select(products.c.category, sa.func.count().label("count"))
        .where(products.c.category.is_not(None), products.c.archived.is_(False))
        .group_by(products.c.category)
        .order_by(products.c.category)
    )
    async with db.read() as conn:
        rows = (await conn.execute(statement)).all()
    return [{"category": category, "count": count} for category, count in rows]


async def seed_demo_products(db: Database) -> None:
    """The five products of the earlier StockWiz, once per database (see stockwiz_runtime.demo)."""
    now = datetime.now(UTC)
    try:
        async with db.write() as conn:
            if not await claim_seed(conn, "demo-products"):
                return
            await conn.execute(
                products.insert(),
                [
                    {
                        "name": p.name,
                        "description": p.description,
                        "price": p.price,
                        "cost_price": p.cost_price,
                        "category": p.category,
                        "sku": p.sku,
                        "archived": False,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for p in DEMO_PRODUCTS
                ],
            )
    except IntegrityError:
        return  # another instance seeded at the same moment
