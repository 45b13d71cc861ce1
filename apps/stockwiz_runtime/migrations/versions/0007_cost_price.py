"""A cost price per product: what a unit costs the shop, exact money like the price (numeric(10,2)), for
the stock value (units x cost price, per warehouse and in total). Nullable: existing products have none,
and the stock value counts their units as "unpriced" rather than guessing a cost.

A nullable column without a default: metadata only on PostgreSQL, in place on SQLite.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column(
            "cost_price",
            sa.Numeric(10, 2),
            sa.CheckConstraint("cost_price >= 0", name="ck_products_cost_price_not_negative"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    # In place on SQLite 3.35+, with its CHECK (see 0004).
    op.drop_column("products", "cost_price")
