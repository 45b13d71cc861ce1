"""The demo data set of the earlier StockWiz, shared by the services that seed their part of it.

A seed is recorded in `seed_runs` in the same transaction as its rows, so it is applied once per database:
running it again, or from several instances at once, adds nothing, and a demo product a user deleted does
not come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import column, insert, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

seed_runs = table("seed_runs", column("name"), column("applied_at"))


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    description: str
    price: Decimal
    category: str
    quantity: int
    warehouse: str
    # Not in the earlier data set (it had no cost prices); set so the demo's stock value means something.
    cost_price: Decimal


DEMO_PRODUCTS = (
    DemoProduct(
        "DELL-XPS13",
        "Laptop Dell XPS 13",
        "13-inch ultrabook",
        Decimal("1299.99"),
        "Electronics",
        50,
        "Warehouse A",
        Decimal("912.40"),
    ),
    DemoProduct(
        "LOGI-MXM",
        "Mouse Logitech MX Master",
        "Wireless ergonomic mouse",
        Decimal("99.99"),
        "Electronics",
        150,
        "Warehouse A",
        Decimal("61.75"),
    ),
    DemoProduct(
        "KB-MECH",
        "Teclado Mecánico",
        "Mechanical keyboard",
        Decimal("149.99"),
        "Electronics",
        75,
        "Warehouse B",
        Decimal("88.20"),
    ),
    DemoProduct(
        "MON-4K",
        "Monitor 4K",
        "27-inch 4K monitor",
        Decimal("499.99"),
        "Electronics",
        30,
        "Warehouse B",
        Decimal("318.00"),
    ),
    DemoProduct(
        "CAM-HD",
        "Webcam HD",
        "1080p webcam",
        Decimal("79.99"),
        "Electronics",
        100,
        "Warehouse A",
        Decimal("41.30"),
    ),
)


async def claim_seed(conn: AsyncConnection, name: str) -> bool:
    """True when this transaction is the first to apply seed `name` (the caller then inserts its rows)."""
    applied = await conn.scalar(select(seed_runs.c.name).where(seed_runs.c.name == name))
    if applied is not None:
        return False
    await conn.execute(insert(seed_runs).values(name=name, applied_at=datetime.now(UTC)))
    return True
