"""The product service's table, as SQLAlchemy Core sees it (the migrations own its definition)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("price", sa.Numeric(10, 2), nullable=False),
    sa.Column("cost_price", sa.Numeric(10, 2)),
    sa.Column("category", sa.String(100)),
    sa.Column("sku", sa.String(64)),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# The inventory service's stock records, as far as deleting a product whose stock is gone needs them: its
# empty records go with it, each leaving its `delete` movement in the ledger (stockwiz_runtime.ledger; see
# catalogue.delete_product).
inventory = sa.Table(
    "inventory",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("product_id", sa.BigInteger, nullable=False),
    sa.Column("warehouse", sa.String(100), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)
