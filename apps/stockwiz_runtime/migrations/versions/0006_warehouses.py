"""Warehouses as managed records: a stock record may only name a warehouse that exists and is not archived,
so "warehouse a" can no longer become a second "Warehouse A" by a typo.

Stock records and movements keep the warehouse's name (the API shows and filters by it, and the ledger
rows stay self-describing); a rename changes the warehouse, its records and its movements in one
transaction (inventory.warehouses), so the name is the same everywhere at every commit.

Names are unique case-insensitively through `name_key`, the casefolded name (computed in Python, so both
backends fold alike; SQLite's lower() knows ASCII only). Existing names come from the stock records. When
two of them differ only by case they are both kept: the first in sort order gets the key, the others
none (NULLs never clash in a unique index), and the log names them so a human can rename or merge them;
the API marks them with `name_clash`.

Revision ID: 0006
Revises: 0005
"""

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    warehouses = op.create_table(
        "warehouses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        # Casefolding may lengthen a name up to three times ("ß" is "ss", "ΐ" three code points).
        sa.Column("name_key", sa.String(300), nullable=True),
        sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(name) > 0", name="ck_warehouses_name_not_empty"),
        sa.UniqueConstraint("name", name="uq_warehouses_name"),
        sa.UniqueConstraint("name_key", name="uq_warehouses_name_key"),
        sqlite_autoincrement=True,
    )
    names = sorted(
        str(name)
        for name in op.get_bind().execute(sa.text("SELECT DISTINCT warehouse FROM inventory")).scalars()
    )
    keyed: dict[str, str] = {}
    clashes: dict[str, list[str]] = {}
    rows = []
    now = datetime.now(UTC)
    for name in names:
        key = name.casefold()
        if key in keyed:
            clashes.setdefault(key, [keyed[key]]).append(name)
        rows.append(
            {
                "name": name,
                "name_key": None if key in keyed else key,
                "archived": False,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        keyed.setdefault(key, name)
    if rows:
        op.bulk_insert(warehouses, rows)
    log.info("0006: %d warehouses made from the names in stock records", len(rows))
    if clashes:
        log.warning(
            "0006: warehouse names that differ only by case were kept apart, rename or merge them: %s",
            "; ".join(" / ".join(repr(name) for name in group) for group in clashes.values()),
        )


def downgrade() -> None:
    # The names stay in the stock records and movements; only the list of managed warehouses goes.
    op.drop_table("warehouses")
