"""Archived products: a product with history that a shop no longer sells is archived instead of deleted.
Its row, its stock records and its ledger stay; lists leave it out unless asked (`?archived=true`), and
the inventory service takes no new stock into it. Every existing product starts active.

A NOT NULL column with a constant default: metadata only on PostgreSQL 11+, in place on SQLite.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # In place on SQLite 3.35+ as well (see 0004).
    op.drop_column("products", "archived")
