"""Stock and its ledger, as plain async functions over a Database (no HTTP here).

Every change of a quantity is one guarded statement plus its movement, in one transaction: concurrent
writers never lose an update and never take stock below zero, and the sum of a record's movements always
equals its quantity.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inventory import warehouses
from inventory.idempotency import Change
from inventory.schemas import (
    MAX_QUANTITY,
    AdjustRequest,
    InventoryCreate,
    InventoryQuery,
    InventoryUpdate,
    TransferRequest,
)
from inventory.tables import inventory, products
from inventory.tables import warehouses as warehouse_table
from stockwiz_runtime.db import Database, ReadQuery
from stockwiz_runtime.demo import DEMO_PRODUCTS, claim_seed, seed_runs
from stockwiz_runtime.http import precondition_failed
from stockwiz_runtime.ledger import stock_movements
from stockwiz_runtime.problems import FieldError, ProblemError, conflict, not_found, validation_failed
from stockwiz_runtime.request_context import current_actor, current_request_id

log = logging.getLogger("stockwiz.inventory")

_RECORD_COLUMNS = (
    inventory.c.id,
    inventory.c.product_id,
    inventory.c.warehouse,
    inventory.c.quantity,
    inventory.c.reorder_point,
    inventory.c.reorder_quantity,
    inventory.c.last_updated,
    inventory.c.version,
)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int


@dataclass(frozen=True)
class Record:
    """A stock record as the API shows it; `version` is also its ETag."""

    data: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.data["version"])


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive timestamps; everything we store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def record_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "product_id": row["product_id"],
        "warehouse": row["warehouse"],
        "quantity": row["quantity"],
        "reorder_point": row["reorder_point"],
        "reorder_quantity": row["reorder_quantity"],
        "last_updated": _utc(row["last_updated"]),
        "version": row["version"],
    }


def movement_json(row: sa.RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "inventory_id": row["inventory_id"],
        "product_id": row["product_id"],
        "warehouse": row["warehouse"],
        "delta": row["delta"],
        "quantity_after": row["quantity_after"],
        "reason": row["reason"],
        "note": row["note"],
        "reference": row["reference"],
        "request_id": row["request_id"],
        "actor": row["actor"],
        "created_at": _utc(row["created_at"]),
    }


def _insert(conn: AsyncConnection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT on both backends."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _missing(inventory_id: int) -> ProblemError:
    return not_found(f"stock record {inventory_id} does not exist")


def _unknown_product(product_id: int) -> ProblemError:
    return ProblemError(
        422,
        f"product {product_id} does not exist; create it in the product service first",
        kind="unknown-product",
        errors=[FieldError("product_id", f"product {product_id} does not exist", "unknown_product")],
    )


class _Current:
    """The actor of the request being handled (see _movement)."""


CURRENT = _Current()


def _movement(
    record: Mapping[Any, Any],
    delta: int,
    reason: str,
    now: datetime,
    note: str | None = None,
    reference: str | None = None,
    request_id: str | None = None,
    actor: str | _Current | None = CURRENT,
) -> dict[str, Any]:
    return {
        "inventory_id": record["id"],
        "product_id": record["product_id"],
        "warehouse": record["warehouse"],
        "delta": delta,
        "quantity_after": record["quantity"],
        "reason": reason,
        "note": note,
        "reference": reference,
        "request_id": request_id or current_request_id(),
        # A combined round (adjust_many) names each request's actor, none included: its task's context
        # holds the actor of whichever request started it.
        "actor": current_actor() if isinstance(actor, _Current) else actor,
        "created_at": now,
    }


async def _record_movements(conn: AsyncConnection, movements: list[dict[str, Any]]) -> None:
    await conn.execute(sa.insert(stock_movements).values(movements))


# For the modules beside this one: the import (inventory.imports) records its movements the same way, and
# the movement log (inventory.movements) refuses an unknown record the same way.
movement_of = _movement
missing_record = _missing


def _units(count: int) -> str:
    return f"{count:,} unit" if count == 1 else f"{count:,} units"


# What each reason does to stock, in the words of the refusal ("cannot ship 20").
_TAKING_VERBS = {"ship": "ship", "damage": "write off", "adjust": "take", "transfer_out": "transfer"}


async def _product_name(conn: AsyncConnection, product_id: int) -> str:
    name = await conn.scalar(sa.select(products.c.name).where(products.c.id == product_id))
    return str(name) if name is not None else f"product {product_id}"


async def _archived_refusal(conn: AsyncConnection, product_id: int) -> ProblemError | None:
    """The refusal of new stock for an archived product, or None. Reading the flag FOR SHARE (PostgreSQL)
    holds off a concurrent archive until this transaction ends; callers take it before any stock row lock,
    in the order the product service's delete locks them (product, then records)."""
    row = (
        await conn.execute(
            sa.select(products.c.name, products.c.archived)
            .where(products.c.id == product_id)
            .with_for_update(read=True)
        )
    ).first()
    if row is None or not row.archived:
        return None
    return conflict(
        f"{row.name} is archived and takes no new stock; restore it first",
        kind="product-archived",
        product_id=product_id,
        product_name=row.name,
    )


async def _refuse_if_archived(conn: AsyncConnection, product_id: int) -> None:
    refusal = await _archived_refusal(conn, product_id)
    if refusal is not None:
        raise refusal


async def _receiving_refusal(conn: AsyncConnection, inventory_id: int) -> ProblemError | None:
    """Why a record may not take more stock (its product or its warehouse is archived), or None; takes the
    product's lock, then the warehouse's, before the caller locks the record."""
    found = (
        await conn.execute(
            sa.select(inventory.c.product_id, inventory.c.warehouse).where(inventory.c.id == inventory_id)
        )
    ).first()
    if found is None:
        return None
    refusal = await _archived_refusal(conn, int(found.product_id))
    if refusal is None:
        try:
            await warehouses.refuse_if_archived(conn, str(found.warehouse))
        except ProblemError as archived:
            return archived
    return refusal


def _refusal(
    record: Mapping[Any, Any], product_name: str, available: int, delta: int, reason: str
) -> ProblemError:
    """Not enough stock for a take, or too much for an addition, in the shop's words: the product's name
    and the warehouse, not the record's id."""
    where = {
        "inventory_id": record["id"],
        "product_id": record["product_id"],
        "product_name": product_name,
        "warehouse": record["warehouse"],
    }
    held = f"{product_name} in {record['warehouse']}"
    if delta < 0:
        verb = _TAKING_VERBS.get(reason, "take")
        stock = f"Only {_units(available)} of {held}" if available else f"No units of {held}"
        return conflict(
            f"{stock}; cannot {verb} {-delta:,}",
            kind="insufficient-stock",
            available=available,
            requested=-delta,
            **where,
        )
    return conflict(
        f"{held} holds {_units(available)}; adding {delta:,} would exceed the limit of "
        f"{_units(MAX_QUANTITY)}",
        kind="stock-limit-exceeded",
        available=available,
        requested=delta,
        **where,
    )


async def _apply_delta(
    conn: AsyncConnection, inventory_id: int, delta: int, now: datetime, reason: str
) -> sa.RowMapping:
    """Add `delta` in one guarded UPDATE: the row lock orders concurrent writers and each re-checks the guard
    against the quantity the previous one committed. Refused (nothing changed) with 404 or 409."""
    guard = inventory.c.quantity >= -delta if delta < 0 else inventory.c.quantity <= MAX_QUANTITY - delta
    row = (
        (
            await conn.execute(
                sa.update(inventory)
                .where(inventory.c.id == inventory_id, guard)
                .values(
                    quantity=inventory.c.quantity + delta,
                    version=inventory.c.version + 1,
                    last_updated=now,
                )
                .returning(*_RECORD_COLUMNS)
            )
        )
        .mappings()
        .first()
    )
    if row is not None:
        return row
    found = await conn.execute(sa.select(*_RECORD_COLUMNS).where(inventory.c.id == inventory_id))
    current = found.mappings().first()
    if current is None:
        raise _missing(inventory_id)
    name = await _product_name(conn, current["product_id"])
    raise _refusal(current, name, current["quantity"], delta, reason)


# Reads


def _filters(query: InventoryQuery) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if query.product_id is not None:
        conditions.append(inventory.c.product_id == query.product_id)
    if query.warehouse is not None:
        conditions.append(inventory.c.warehouse == query.warehouse)
    return conditions


async def _record_page(
    db: Database,
    query: InventoryQuery,
    select: sa.Select[Any],
    to_json: Callable[[Mapping[Any, Any]], dict[str, Any]],
    *extra: sa.ColumnElement[bool],
) -> Page:
    conditions = [*_filters(query), *extra]
    select_page = select.where(*conditions).order_by(inventory.c.id).limit(query.limit).offset(query.offset)
    count = sa.select(sa.func.count()).select_from(inventory).where(*conditions)
    async with db.read() as conn:
        rows = (await conn.execute(select_page)).mappings().all()
        total = int(await conn.scalar(count) or 0)
    return Page([to_json(row) for row in rows], total)


LOW_STOCK = inventory.c.quantity <= inventory.c.reorder_point
# A listed record also names its product, so that an alert, a report or an export needs no call per product.
_LISTED_SELECT = sa.select(
    *_RECORD_COLUMNS, products.c.name.label("product_name"), products.c.sku
).select_from(inventory.outerjoin(products, products.c.id == inventory.c.product_id))


def _listed_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {**record_json(row), "product_name": row["product_name"], "sku": row["sku"]}


async def list_records(db: Database, query: InventoryQuery) -> Page:
    return await _record_page(db, query, _LISTED_SELECT, _listed_json)


async def low_stock(db: Database, query: InventoryQuery) -> Page:
    return await _record_page(db, query, _LISTED_SELECT, _listed_json, LOW_STOCK)


async def count_low_stock(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(inventory).where(LOW_STOCK)) or 0)


async def get_record(db: Database, inventory_id: int) -> Record:
    async with db.read() as conn:
        row = (
            (await conn.execute(sa.select(*_RECORD_COLUMNS).where(inventory.c.id == inventory_id)))
            .mappings()
            .first()
        )
    if row is None:
        raise _missing(inventory_id)
    return Record(record_json(row))


def _main_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    # The warehouse holding the most units; the oldest record wins a tie, so the answer is stable.
    return max(records, key=lambda record: (record["quantity"], -record["id"]))


_ORDER_OF_RECORDS = (inventory.c.product_id, inventory.c.warehouse)
# The stock of a set of products: PostgreSQL takes the ids as one array parameter, so one statement serves
# every number of ids (an IN list would be a new statement for each length).
_RECORDS_OF_PRODUCTS = ReadQuery(
    sa.select(*_RECORD_COLUMNS)
    .where(inventory.c.product_id.in_(sa.bindparam("product_ids", expanding=True, type_=sa.BigInteger)))
    .order_by(*_ORDER_OF_RECORDS),
    postgres=sa.select(*_RECORD_COLUMNS)
    .where(
        inventory.c.product_id == sa.any_(sa.bindparam("product_ids", type_=postgresql.ARRAY(sa.BigInteger)))
    )
    .order_by(*_ORDER_OF_RECORDS),
)


async def _records_of_products(db: Database, product_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in await db.fetch(_RECORDS_OF_PRODUCTS, product_ids=product_ids):
        grouped.setdefault(row["product_id"], []).append(record_json(row))
    return grouped


async def product_stock(db: Database, product_id: int) -> dict[str, Any]:
    """The upstream shape (`quantity`, `warehouse`, `id` of one record) kept meaningful for a product held in
    several warehouses: the total, the main warehouse and its record, plus every warehouse's record."""
    records = (await _records_of_products(db, [product_id])).get(product_id)
    if not records:
        raise not_found(f"product {product_id} has no stock records")
    main = _main_record(records)
    return {
        "id": main["id"],
        "product_id": product_id,
        "quantity": sum(record["quantity"] for record in records),
        "warehouse": main["warehouse"],
        "reorder_point": main["reorder_point"],
        "last_updated": max(record["last_updated"] for record in records),
        "warehouses": records,
    }


async def summary(db: Database, product_ids: list[int]) -> dict[str, Any]:
    # One pass over the rows (ordered by product): the composed views ask for this on every request.
    result: dict[str, Any] = {}
    main: dict[str, tuple[int, int]] = {}
    for row in await db.fetch(_RECORDS_OF_PRODUCTS, product_ids=product_ids):
        key = str(row["product_id"])
        quantity = row["quantity"]
        entry = result.get(key)
        if entry is None:
            entry = result[key] = {"quantity": 0, "warehouse": row["warehouse"], "warehouses": []}
            main[key] = (quantity, -row["id"])
        elif (quantity, -row["id"]) > main[key]:
            # The warehouse holding the most units; the oldest record wins a tie (as _main_record).
            main[key] = (quantity, -row["id"])
            entry["warehouse"] = row["warehouse"]
        entry["quantity"] += quantity
        entry["warehouses"].append(
            {
                "id": row["id"],
                "warehouse": row["warehouse"],
                "quantity": quantity,
                "reorder_point": row["reorder_point"],
                "reorder_quantity": row["reorder_quantity"],
            }
        )
    return result


# Writes. Each returns a Change so the idempotency layer can store and replay its response.


async def _record_id(conn: AsyncConnection, product_id: int, warehouse: str) -> int | None:
    """The id of a product's record in a warehouse. Writes that may create the record look first: an
    INSERT ... ON CONFLICT DO NOTHING takes the next id from the sequence even when the record exists, so
    inserting blindly would burn an id on every such write."""
    found = await conn.scalar(
        sa.select(inventory.c.id).where(
            inventory.c.product_id == product_id, inventory.c.warehouse == warehouse
        )
    )
    return None if found is None else int(found)


async def create_record(conn: AsyncConnection, body: InventoryCreate, default_reorder_point: int) -> Change:
    now = datetime.now(UTC)
    reorder_point = default_reorder_point if body.reorder_point is None else body.reorder_point
    await _refuse_if_archived(conn, body.product_id)
    body = body.model_copy(update={"warehouse": await warehouses.resolve(conn, body.warehouse, "warehouse")})
    statement = (
        _insert(conn)(inventory)
        .values(
            product_id=body.product_id,
            warehouse=body.warehouse,
            quantity=body.quantity,
            reorder_point=reorder_point,
            reorder_quantity=body.reorder_quantity,
            version=1,
            created_at=now,
            last_updated=now,
        )
        .on_conflict_do_nothing(index_elements=[inventory.c.product_id, inventory.c.warehouse])
        .returning(*_RECORD_COLUMNS)
    )
    existing = await _record_id(conn, body.product_id, body.warehouse)
    row = None
    if existing is None:
        try:
            row = (await conn.execute(statement)).mappings().first()
        except IntegrityError as error:
            if "foreign key" not in str(error.orig).lower():
                raise
            raise _unknown_product(body.product_id) from None
    if row is None:
        # Made by a concurrent request between the two statements when `existing` is still None.
        existing = existing or await _record_id(conn, body.product_id, body.warehouse)
        raise conflict(
            f"product {body.product_id} already has a stock record in {body.warehouse!r} (id {existing}); "
            "change it with PUT or POST .../adjust",
            kind="duplicate-stock-record",
            existing_id=existing,
        )
    await _record_movements(conn, [_movement(row, body.quantity, "create", now, body.note, body.reference)])
    return Change(201, record_json(row), (("create", body.quantity),))


async def adjust(conn: AsyncConnection, inventory_id: int, body: AdjustRequest) -> Change:
    now = datetime.now(UTC)
    if body.delta > 0:
        refusal = await _receiving_refusal(conn, inventory_id)
        if refusal is not None:
            raise refusal
    row = await _apply_delta(conn, inventory_id, body.delta, now, body.reason)
    await _record_movements(conn, [_movement(row, body.delta, body.reason, now, body.note, body.reference)])
    return Change(200, record_json(row), ((body.reason, body.delta),))


@dataclass(frozen=True)
class Adjustment:
    body: AdjustRequest
    request_id: str | None
    actor: str | None = None


async def adjust_many(
    db: Database, inventory_id: int, adjustments: list[Adjustment]
) -> list[Change | ProblemError]:
    """Several adjustments of one record in one transaction, applied in order: each is accepted or refused
    exactly as if it ran alone after the ones before it, and answers with the record as it left it. One row
    lock and one commit serve them all (see inventory.batching)."""
    now = datetime.now(UTC)
    async with db.write() as conn:
        archived: ProblemError | None = None
        if any(adjustment.body.delta > 0 for adjustment in adjustments):
            archived = await _receiving_refusal(conn, inventory_id)
        current = (
            (
                await conn.execute(
                    sa.select(*_RECORD_COLUMNS).where(inventory.c.id == inventory_id).with_for_update()
                )
            )
            .mappings()
            .first()
        )
        if current is None:
            return [_missing(inventory_id) for _ in adjustments]
        record = {**current, "last_updated": now}
        outcomes: list[Change | ProblemError] = []
        ledger: list[dict[str, Any]] = []
        product_name: str | None = None
        for adjustment in adjustments:
            body, quantity = adjustment.body, record["quantity"]
            if archived is not None and body.delta > 0:
                outcomes.append(archived)
                continue
            after = quantity + body.delta
            if after < 0 or after > MAX_QUANTITY:
                product_name = product_name or await _product_name(conn, record["product_id"])
                outcomes.append(_refusal(record, product_name, quantity, body.delta, body.reason))
                continue
            record = {**record, "quantity": after, "version": record["version"] + 1}
            ledger.append(
                _movement(
                    record,
                    body.delta,
                    body.reason,
                    now,
                    body.note,
                    body.reference,
                    adjustment.request_id,
                    adjustment.actor,
                )
            )
            outcomes.append(Change(200, record_json(record), ((body.reason, body.delta),)))
        if ledger:
            await conn.execute(
                sa.update(inventory)
                .where(inventory.c.id == inventory_id)
                .values(quantity=record["quantity"], version=record["version"], last_updated=now)
            )
            await _record_movements(conn, ledger)
    return outcomes


async def _target_record(
    conn: AsyncConnection, body: TransferRequest, default_reorder_point: int, now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    """The id of the transfer's target record, created (with a zero `create` movement) when missing."""
    target_id = await _record_id(conn, body.product_id, body.to_warehouse)
    if target_id is not None:
        return target_id, []
    statement = (
        _insert(conn)(inventory)
        .values(
            product_id=body.product_id,
            warehouse=body.to_warehouse,
            quantity=0,
            reorder_point=default_reorder_point,
            version=1,
            created_at=now,
            last_updated=now,
        )
        .on_conflict_do_nothing(index_elements=[inventory.c.product_id, inventory.c.warehouse])
        .returning(*_RECORD_COLUMNS)
    )
    created = (await conn.execute(statement)).mappings().first()
    if created is not None:
        return created["id"], [_movement(created, 0, "create", now, "created by a transfer", body.reference)]
    # A concurrent transfer or create made it between the two statements (the only case that burns an id).
    target_id = await _record_id(conn, body.product_id, body.to_warehouse)
    if target_id is None:  # ... and it was deleted again
        raise conflict("the target stock record changed during the transfer; retry", kind="transfer-conflict")
    return target_id, []


async def transfer(conn: AsyncConnection, body: TransferRequest, default_reorder_point: int) -> Change:
    """Move stock between two warehouses of one product; both records change or neither does."""
    now = datetime.now(UTC)
    body = body.model_copy(
        update={
            "from_warehouse": await warehouses.resolve(
                conn, body.from_warehouse, "from_warehouse", receiving=False
            ),
            "to_warehouse": await warehouses.resolve(conn, body.to_warehouse, "to_warehouse"),
        }
    )
    if body.from_warehouse == body.to_warehouse:  # two spellings of one warehouse
        raise validation_failed([FieldError("to_warehouse", "must differ from from_warehouse")])
    source_id = await _record_id(conn, body.product_id, body.from_warehouse)
    if source_id is None:
        name = await _product_name(conn, body.product_id)
        raise not_found(f"There is no stock of {name} in {body.from_warehouse}")
    target_id, ledger = await _target_record(conn, body, default_reorder_point, now)
    deltas = {source_id: -body.quantity, target_id: body.quantity}
    rows: dict[int, sa.RowMapping] = {}
    # Rows are locked in id order whatever the direction, so A->B and B->A transfers cannot deadlock.
    for inventory_id in sorted(deltas):
        reason = "transfer_out" if deltas[inventory_id] < 0 else "transfer_in"
        rows[inventory_id] = await _apply_delta(conn, inventory_id, deltas[inventory_id], now, reason)
    source, target = rows[source_id], rows[target_id]
    ledger += [
        _movement(source, -body.quantity, "transfer_out", now, body.note, body.reference),
        _movement(target, body.quantity, "transfer_in", now, body.note, body.reference),
    ]
    await _record_movements(conn, ledger)
    result = {
        "product_id": body.product_id,
        "quantity": body.quantity,
        "from": record_json(source),
        "to": record_json(target),
    }
    return Change(200, result, tuple((m["reason"], m["delta"]) for m in ledger))


async def _locked_record(
    conn: AsyncConnection, inventory_id: int, expected_versions: frozenset[int] | None
) -> sa.RowMapping:
    # FOR UPDATE (ignored on SQLite, where BEGIN IMMEDIATE already excludes other writers) makes a concurrent
    # writer with the same If-Match wait here and then see the version the first one committed.
    row = (
        (
            await conn.execute(
                sa.select(*_RECORD_COLUMNS).where(inventory.c.id == inventory_id).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise _missing(inventory_id)
    if expected_versions is not None and row["version"] not in expected_versions:
        raise precondition_failed(row["version"])
    return row


async def update_record(
    db: Database, inventory_id: int, body: InventoryUpdate, expected_versions: frozenset[int] | None
) -> Change:
    """Absolute values, as the upstream PUT; a quantity sent is recorded as a `count` movement."""
    changes = body.changes()
    now = datetime.now(UTC)
    try:
        async with db.write() as conn:
            archived = await _receiving_refusal(conn, inventory_id) if "quantity" in changes else None
            if "warehouse" in changes:
                changes["warehouse"] = await warehouses.resolve(conn, changes["warehouse"], "warehouse")
            current = await _locked_record(conn, inventory_id, expected_versions)
            if archived is not None and changes["quantity"] > current["quantity"]:
                raise archived
            if not changes:
                return Change(200, record_json(current))
            row = (
                (
                    await conn.execute(
                        sa.update(inventory)
                        .where(inventory.c.id == inventory_id)
                        .values(**changes, version=inventory.c.version + 1, last_updated=now)
                        .returning(*_RECORD_COLUMNS)
                    )
                )
                .mappings()
                .one()
            )
            recorded: tuple[tuple[str, int], ...] = ()
            if "quantity" in changes:
                delta = row["quantity"] - current["quantity"]
                await _record_movements(
                    conn, [_movement(row, delta, "count", now, body.note, body.reference)]
                )
                recorded = (("count", delta),)
    except IntegrityError as error:
        if "unique" not in str(error.orig).lower() and "duplicate" not in str(error.orig).lower():
            raise
        raise conflict(
            f"product {current['product_id']} already has a stock record in {changes.get('warehouse')!r}",
            kind="duplicate-stock-record",
        ) from None
    return Change(200, record_json(row), recorded)


async def delete_record(db: Database, inventory_id: int, expected_versions: frozenset[int] | None) -> Change:
    """Remove a record; its remaining units leave the ledger as a `delete` movement, so its history sums
    to zero and stays readable."""
    now = datetime.now(UTC)
    async with db.write() as conn:
        current = await _locked_record(conn, inventory_id, expected_versions)
        await conn.execute(sa.delete(inventory).where(inventory.c.id == inventory_id))
        gone = {**current, "quantity": 0}
        await _record_movements(conn, [_movement(gone, -current["quantity"], "delete", now)])
    return Change(204, None, (("delete", -current["quantity"]),))


# Demo data


DEMO_SEED = "demo-stock"
_DEMO_PRODUCTS_SEED = "demo-products"


async def _seed_once(conn: AsyncConnection, default_reorder_point: int) -> bool:
    """True when the seed is settled (applied now or before); False while the demo products are missing."""
    if await conn.scalar(sa.select(seed_runs.c.name).where(seed_runs.c.name == DEMO_SEED)) is not None:
        return True
    stock = {demo.sku: demo for demo in DEMO_PRODUCTS}
    found = (
        await conn.execute(
            # In product order, so a fresh demo database numbers stock records like their products.
            sa.select(products.c.sku, products.c.id).where(products.c.sku.in_(stock)).order_by(products.c.id)
        )
    ).all()
    products_seeded = (
        await conn.scalar(sa.select(seed_runs.c.name).where(seed_runs.c.name == _DEMO_PRODUCTS_SEED))
        is not None
    )
    # Once the product seed ran, a demo product that is gone was deleted by someone: seed what is left.
    if not products_seeded and len(found) < len(stock):
        return False
    if not await claim_seed(conn, DEMO_SEED):
        return True
    if not found:
        return True
    now = datetime.now(UTC)
    named = await _demo_warehouses(conn, {stock[sku].warehouse for sku, _ in found}, now)
    rows = (
        (
            await conn.execute(
                # A record someone already made for a demo product is theirs to keep.
                _insert(conn)(inventory)
                .on_conflict_do_nothing(index_elements=[inventory.c.product_id, inventory.c.warehouse])
                .returning(*_RECORD_COLUMNS),
                [
                    {
                        "product_id": product_id,
                        "warehouse": named[stock[sku].warehouse],
                        "quantity": stock[sku].quantity,
                        "reorder_point": default_reorder_point,
                        "version": 1,
                        "created_at": now,
                        "last_updated": now,
                    }
                    for sku, product_id in found
                ],
            )
        )
        .mappings()
        .all()
    )
    await _record_movements(
        conn, [_movement(row, row["quantity"], "create", now, "demo data", DEMO_SEED) for row in rows]
    )
    return True


async def _demo_warehouses(conn: AsyncConnection, names: set[str], now: datetime) -> dict[str, str]:
    """The demo's warehouses, made when missing; one someone already made under another case is used."""
    named: dict[str, str] = {}
    for name in sorted(names):
        key = warehouses.name_key(name)
        existing = await conn.scalar(
            sa.select(warehouse_table.c.name).where(warehouse_table.c.name_key == key)
        )
        if existing is None:
            await conn.execute(
                sa.insert(warehouse_table).values(
                    name=name, name_key=key, archived=False, version=1, created_at=now, updated_at=now
                )
            )
        named[name] = name if existing is None else str(existing)
    return named


async def seed_demo_stock(db: Database, default_reorder_point: int, wait_seconds: float) -> None:
    """The upstream stock levels of the demo products, once per database. The product service seeds the
    products; when they are not there yet this waits up to `wait_seconds`, then gives up with a warning."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            async with db.write() as conn:
                if await _seed_once(conn, default_reorder_point):
                    return
        except IntegrityError:
            return  # another instance seeded at the same moment
        if time.monotonic() >= deadline:
            log.warning(
                "demo stock not seeded: the demo products did not appear within %.0f s "
                "(start the product service with SEED_DEMO_DATA=true)",
                wait_seconds,
            )
            return
        await asyncio.sleep(min(0.5, max(wait_seconds, 0.01)))
