"""Who made each change: every movement names the actor, the name of the API token the gateway admitted
(or the name a direct caller of a service put in X-StockWiz-Actor). Movements written before this
migration get NULL, which the API answers as null and the web UI shows as "unknown".

A nullable column without a default is a metadata-only change on PostgreSQL and in place on SQLite. The
index serves the movement log's actor filter, newest first, without a scan of the whole ledger.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stock_movements", sa.Column("actor", sa.String(64), nullable=True))
    op.create_index("ix_stock_movements_actor", "stock_movements", ["actor", "id"])


def downgrade() -> None:
    op.drop_index("ix_stock_movements_actor", table_name="stock_movements")
    # In place on SQLite 3.35+ as well (see 0004): a batch copy would lose the table's AUTOINCREMENT.
    op.drop_column("stock_movements", "actor")
