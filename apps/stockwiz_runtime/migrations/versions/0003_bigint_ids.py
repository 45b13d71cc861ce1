"""64-bit ids: products, stock records and movements (and every column naming one of them).

A 32-bit id runs out at 2,147,483,647; the ledger grows by one row per movement and sequences also advance
on rolled-back inserts, so its ids are the first to go. On PostgreSQL the columns become BIGINT and their
sequences AS bigint (a SERIAL's sequence is created AS integer, with that maximum). SQLite's INTEGER
PRIMARY KEY is already a 64-bit rowid, so there is nothing to change there.

Rewriting a big table takes a lock that blocks its readers and writers for the duration (the migration
runs without statement or lock timeouts, see stockwiz_runtime.migrations).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, column, its sequence when it is the table's own id)
_COLUMNS = (
    ("products", "id", "products_id_seq"),
    ("inventory", "id", "inventory_id_seq"),
    ("inventory", "product_id", None),
    ("stock_movements", "id", "stock_movements_id_seq"),
    ("stock_movements", "inventory_id", None),
    ("stock_movements", "product_id", None),
)


def _alter(column_type: type[sa.Integer], sequence_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, sequence in _COLUMNS:
        op.alter_column(table, column, type_=column_type(), existing_nullable=False)
        if sequence is not None:
            # AS changes the sequence's maximum with it when that was the old type's default maximum.
            op.execute(f"ALTER SEQUENCE {sequence} AS {sequence_type}")


def upgrade() -> None:
    _alter(sa.BigInteger, "bigint")


def downgrade() -> None:
    # Fails (and changes nothing) when an id no longer fits in 32 bits.
    _alter(sa.Integer, "integer")
