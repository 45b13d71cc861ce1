"""The inventory service's tables, as SQLAlchemy Core sees them (the migrations own their definition). The
ledger, which the product service writes to as well, is stockwiz_runtime.ledger."""

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
    sa.Column("reorder_quantity", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("product_id", "warehouse"),
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

# Products are the product service's table; stock only reads from it: ids and SKUs (demo seed), names
# and SKUs for the low-stock listing, which an alert must name without a call per product, the archive
# flag, since an archived product takes no new stock, and the whole product as the API shows it for the
# gateway's composed read (inventory.product_view).
products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("price", sa.Numeric(10, 2), nullable=False),
    # For the stock value (inventory.valuation); null: not known.
    sa.Column("cost_price", sa.Numeric(10, 2)),
    sa.Column("category", sa.String(100)),
    sa.Column("sku", sa.String(64)),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Managed warehouses (0006). Stock records and movements name theirs; `name_key` is the casefolded name,
# unique (NULL only for a legacy name that differs from another by case alone, see the migration).
warehouses = sa.Table(
    "warehouses",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(300)),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
