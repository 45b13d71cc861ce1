"""Stock per product and warehouse, its append-only movement ledger, and stored idempotent responses.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "product_id",
            sa.Integer,
            # RESTRICT: the product service answers 409 while stock remains, so stock is never orphaned.
            sa.ForeignKey("products.id", ondelete="RESTRICT", name="fk_inventory_product_id"),
            nullable=False,
        ),
        sa.Column("warehouse", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("reorder_point", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_inventory_quantity_not_negative"),
        sa.CheckConstraint("reorder_point >= 0", name="ck_inventory_reorder_point_not_negative"),
        sa.CheckConstraint("length(warehouse) > 0", name="ck_inventory_warehouse_not_empty"),
        sa.UniqueConstraint("product_id", "warehouse", name="uq_inventory_product_warehouse"),
        # Ledger rows outlive their record and name it by id: SQLite must never hand a deleted id out again.
        sqlite_autoincrement=True,
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        # No foreign key: the history of a deleted stock record stays readable.
        sa.Column("inventory_id", sa.Integer, nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("warehouse", sa.String(100), nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("quantity_after", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity_after >= 0", name="ck_stock_movements_quantity_after_not_negative"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_stock_movements_inventory_id", "stock_movements", ["inventory_id", "id"])
    op.create_index("ix_stock_movements_product_id", "stock_movements", ["product_id", "id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_stock_movements_product_id", table_name="stock_movements")
    op.drop_index("ix_stock_movements_inventory_id", table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_table("inventory")
