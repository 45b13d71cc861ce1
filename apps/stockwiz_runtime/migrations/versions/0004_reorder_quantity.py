"""A reorder quantity per stock record: how many units to order when the record is at or below its reorder
point. Existing records get 0, which means "not set" (the UI shows a dash), so nothing is ordered for
them until someone sets one.

Adding a NOT NULL column with a constant default is a metadata-only change on PostgreSQL 11 and later (no
table rewrite); SQLite adds it in place too, CHECK included.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "inventory",
        sa.Column(
            "reorder_quantity",
            sa.Integer,
            sa.CheckConstraint("reorder_quantity >= 0", name="ck_inventory_reorder_quantity_not_negative"),
            nullable=False,
            server_default="0",
        ),
    )


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place, with the CHECK that belongs to it; a batch copy of the table
    # would lose its AUTOINCREMENT, which keeps ledger ids from ever being handed out again.
    op.drop_column("inventory", "reorder_quantity")
