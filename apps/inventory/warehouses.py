"""Warehouses as managed records (no HTTP here): create, rename, archive and restore, and the check every
stock write makes that the warehouse it names exists and takes stock.

Stock records and movements keep the warehouse's name rather than its id: the API shows and filters by
name, the ledger rows stay readable on their own, and the product service (which writes closing
movements) needs no join. The price is that a rename must change every copy of the name, which it does in
the same transaction as the warehouse row, under the row's lock: no commit ever shows the old name in one
place and the new one in another, and since only the name changes (never a quantity or a delta), every
record's movements still sum to its quantity.

Lock order, shared with inventory.stock: product, then warehouse, then stock records. A stock write reads
its warehouse FOR SHARE (PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes other writers), so a
rename or archive, which take the row FOR UPDATE, wait for it and are seen by the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.schemas import WarehouseCreate, WarehouseUpdate
from inventory.tables import inventory, warehouses
from stockwiz_runtime.db import Database
from stockwiz_runtime.http import precondition_failed
from stockwiz_runtime.ledger import stock_movements
from stockwiz_runtime.problems import FieldError, ProblemError, conflict, not_found

_COLUMNS = (
    warehouses.c.id,
    warehouses.c.name,
    warehouses.c.name_key,
    warehouses.c.archived,
    warehouses.c.version,
    warehouses.c.created_at,
    warehouses.c.updated_at,
)


@dataclass(frozen=True)
class Warehouse:
    """A warehouse as the API shows it; `version` is also its ETag."""

    data: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.data["version"])


def name_key(name: str) -> str:
    """What two names must not share: casefold, not lower(), so "STRASSE" and "straße" are one name too."""
    return name.casefold()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _json(row: Mapping[Any, Any], quantity: int, name_clash: bool) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "archived": bool(row["archived"]),
        "quantity": quantity,
        "name_clash": name_clash,
        "version": row["version"],
        "created_at": _utc(row["created_at"]),
        "updated_at": _utc(row["updated_at"]),
    }


def _missing(warehouse_id: int) -> ProblemError:
    return not_found(f"warehouse {warehouse_id} does not exist")


def _duplicate(name: str, existing: str) -> ProblemError:
    return conflict(
        f"There is already a warehouse called {existing}; warehouse names are unique whatever their case",
        kind="duplicate-warehouse",
        name=name,
        existing_name=existing,
    )


_UNITS = sa.func.coalesce(sa.func.sum(inventory.c.quantity), 0)


async def _units_in(conn: AsyncConnection, name: str) -> int:
    return int(await conn.scalar(sa.select(_UNITS).where(inventory.c.warehouse == name)) or 0)


async def _clashing(conn: AsyncConnection, warehouse_id: int, key: str) -> bool:
    """Whether a legacy name that differs only by case shares this warehouse's name (see migration 0006)."""
    others = await conn.execute(sa.select(warehouses.c.name).where(warehouses.c.id != warehouse_id))
    return any(name_key(str(name)) == key for name in others.scalars())


async def list_warehouses(db: Database, archived: bool | None = None) -> list[dict[str, Any]]:
    """Every warehouse, with the units it holds (one grouped query), by name whatever its case: sorted here,
    since the two backends' collations order case differently."""
    select = (
        sa.select(*_COLUMNS, _UNITS.label("quantity"))
        .select_from(warehouses.outerjoin(inventory, inventory.c.warehouse == warehouses.c.name))
        .group_by(*_COLUMNS)
    )
    if archived is not None:
        select = select.where(warehouses.c.archived == archived)
    async with db.read() as conn:
        rows = (await conn.execute(select)).mappings().all()
        keys = [name_key(str(name)) for name in (await conn.execute(sa.select(warehouses.c.name))).scalars()]
    ordered = sorted(rows, key=lambda row: (name_key(row["name"]), row["name"]))
    return [_json(row, int(row["quantity"]), keys.count(name_key(row["name"])) > 1) for row in ordered]


async def _read(conn: AsyncConnection, warehouse_id: int, *, lock: bool = False) -> sa.RowMapping:
    select = sa.select(*_COLUMNS).where(warehouses.c.id == warehouse_id)
    row = (await conn.execute(select.with_for_update() if lock else select)).mappings().first()
    if row is None:
        raise _missing(warehouse_id)
    return row


async def _shown(conn: AsyncConnection, row: Mapping[Any, Any]) -> Warehouse:
    return Warehouse(
        _json(
            row, await _units_in(conn, row["name"]), await _clashing(conn, row["id"], name_key(row["name"]))
        )
    )


async def get_warehouse(db: Database, warehouse_id: int) -> Warehouse:
    async with db.read() as conn:
        return await _shown(conn, await _read(conn, warehouse_id))


async def _holder_of(conn: AsyncConnection, key: str) -> str | None:
    return await conn.scalar(sa.select(warehouses.c.name).where(warehouses.c.name_key == key))


async def create_warehouse(db: Database, body: WarehouseCreate) -> Warehouse:
    now = datetime.now(UTC)
    key = name_key(body.name)
    try:
        async with db.write() as conn:
            existing = await _holder_of(conn, key)
            if existing is not None:
                raise _duplicate(body.name, existing)
            row = (
                (
                    await conn.execute(
                        sa.insert(warehouses)
                        .values(
                            name=body.name,
                            name_key=key,
                            archived=False,
                            version=1,
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(*_COLUMNS)
                    )
                )
                .mappings()
                .one()
            )
            return await _shown(conn, row)
    except IntegrityError:
        # A concurrent create of the same name committed between the check and the insert.
        raise _duplicate(body.name, body.name) from None


async def update_warehouse(
    db: Database, warehouse_id: int, body: WarehouseUpdate, expected_versions: frozenset[int] | None
) -> Warehouse:
    """Rename and/or archive or restore. A rename renames the warehouse's stock records and movements in the
    same transaction (see the module's docstring)."""
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    now = datetime.now(UTC)
    try:
        async with db.write() as conn:
            current = await _read(conn, warehouse_id, lock=True)
            if expected_versions is not None and current["version"] not in expected_versions:
                raise precondition_failed(current["version"])
            values: dict[str, Any] = {}
            old, new = current["name"], changes.get("name", current["name"])
            if new != old:
                holder = await _holder_of(conn, name_key(new))
                if holder is not None and holder != old:
                    raise _duplicate(new, holder)
                values.update(name=new, name_key=name_key(new))
            if changes.get("archived") is True and not current["archived"]:
                held = await _units_in(conn, old)
                if held:
                    raise conflict(
                        f"{old} still holds {held:,} unit{'s' if held != 1 else ''}; transfer, ship or count "
                        "them to 0 before archiving it",
                        kind="warehouse-has-stock",
                        warehouse=old,
                        quantity=held,
                    )
            if "archived" in changes and changes["archived"] != current["archived"]:
                values["archived"] = changes["archived"]
            if not values:
                return await _shown(conn, current)
            row = (
                (
                    await conn.execute(
                        sa.update(warehouses)
                        .where(warehouses.c.id == warehouse_id)
                        .values(**values, version=warehouses.c.version + 1, updated_at=now)
                        .returning(*_COLUMNS)
                    )
                )
                .mappings()
                .one()
            )
            if new != old:
                await conn.execute(
                    sa.update(inventory).where(inventory.c.warehouse == old).values(warehouse=new)
                )
                await conn.execute(
                    sa.update(stock_movements).where(stock_movements.c.warehouse == old).values(warehouse=new)
                )
            return await _shown(conn, row)
    except IntegrityError:
        raise _duplicate(str(changes.get("name")), str(changes.get("name"))) from None


# The check of every stock write


def unknown_warehouse(name: str, field: str) -> ProblemError:
    return ProblemError(
        422,
        f"There is no warehouse called {name}; create it first",
        kind="unknown-warehouse",
        errors=[FieldError(field, f"no warehouse called {name}", "unknown_warehouse")],
    )


def archived_warehouse(name: str) -> ProblemError:
    return conflict(
        f"{name} is archived and takes no new stock; restore it first",
        kind="warehouse-archived",
        warehouse=name,
    )


async def resolve(conn: AsyncConnection, name: str, field: str, *, receiving: bool = True) -> str:
    """The stored name of the warehouse `name` means: the exact name, else the one it matches whatever its
    case ("warehouse a" is "Warehouse A"). Unknown: 422; archived, when stock would go in: 409. Read FOR
    SHARE, so a rename or archive waits for this transaction (lock order: after the product)."""
    select = sa.select(warehouses.c.name, warehouses.c.archived).with_for_update(read=True)
    row = (await conn.execute(select.where(warehouses.c.name == name))).first()
    if row is None:
        row = (await conn.execute(select.where(warehouses.c.name_key == name_key(name)))).first()
    if row is None:
        raise unknown_warehouse(name, field)
    if receiving and row.archived:
        raise archived_warehouse(row.name)
    return str(row.name)


@dataclass(frozen=True)
class Place:
    """A warehouse as a name given for it resolves: its stored name, and whether it is archived."""

    name: str
    archived: bool


async def resolve_many(conn: AsyncConnection, names: set[str]) -> dict[str, Place]:
    """`resolve` for many names at once (a CSV import): given name -> the warehouse it means, by exact name
    or whatever its case; names that mean none are left out. Read FOR SHARE, as `resolve` does."""
    keys = {name_key(name) for name in names}
    rows = (
        await conn.execute(
            sa.select(warehouses.c.name, warehouses.c.name_key, warehouses.c.archived)
            .where(sa.or_(warehouses.c.name.in_(sorted(names)), warehouses.c.name_key.in_(sorted(keys))))
            .with_for_update(read=True)
        )
    ).all()
    exact = {row.name: Place(row.name, row.archived) for row in rows}
    by_key = {row.name_key: Place(row.name, row.archived) for row in rows if row.name_key is not None}
    found = {name: exact.get(name) or by_key.get(name_key(name)) for name in names}
    return {name: place for name, place in found.items() if place is not None}


async def refuse_if_archived(conn: AsyncConnection, name: str) -> None:
    """For stock added to an existing record: its warehouse must not be archived (it exists: the record
    names it)."""
    archived = await conn.scalar(
        sa.select(warehouses.c.archived).where(warehouses.c.name == name).with_for_update(read=True)
    )
    if archived:
        raise archived_warehouse(name)
