"""The stock ledger's table, as SQLAlchemy Core sees it, for both services that write to it: the inventory
service records every change of stock there, and the product service the closing movement of each empty
stock record of a product it deletes. The migrations own its definition (0002, `actor` since 0008)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

stock_movements = sa.Table(
    "stock_movements",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("inventory_id", sa.BigInteger, nullable=False),
    sa.Column("product_id", sa.BigInteger, nullable=False),
    sa.Column("warehouse", sa.String(100), nullable=False),
    sa.Column("delta", sa.Integer, nullable=False),
    sa.Column("quantity_after", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("reference", sa.String(200)),
    sa.Column("request_id", sa.String(128)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Who made the change (an API token's name); NULL for movements older than migration 0008.
    sa.Column("actor", sa.String(64)),
)
