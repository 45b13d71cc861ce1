"""The inventory service's tables, as SQLAlchemy Core sees them (the migrations own their definition)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

inventory = sa.Table(
    "inventory",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("product_id", sa.BigInteger, nullable=False),
    sa.Column("warehouse", sa.String(100), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("reorder_point", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("product_id", "warehouse"),
)

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
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("body", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# Products are the product service's table; stock only reads their id and sku (demo seed) from it.
products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("sku", sa.String(64)),
)
