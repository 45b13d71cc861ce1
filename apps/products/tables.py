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
    sa.Column("category", sa.String(100)),
    sa.Column("sku", sa.String(64)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
