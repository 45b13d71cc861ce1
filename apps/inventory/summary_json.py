"""The stock summary (`GET /inventory/summary`) written by PostgreSQL, for `GET /api/products-full`.

Profiling products-full (a page of 100 products, 300 stock records) put most of the inventory service's CPU
in turning rows into the summary: asyncpg decoding six columns of 300 rows, then a Python dict per record and
orjson over them. Here PostgreSQL aggregates and writes the JSON text itself, and the service sends that one
value on. The text is byte for byte what `stock.summary` + orjson give (tests/inventory/test_summary_json.py
compares them, hostile warehouse names included): the same keys in the same order, products by id, each
product's records by warehouse (the same ORDER BY, so the same collation), the main warehouse by the same rule
(most units, the oldest record on a tie), integers as integers, and names through `to_json(text)`, whose
escaping (`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`, other control characters as `\\u00xx`, everything else as
UTF-8) is orjson's. SQLite keeps the Python path.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from stockwiz_runtime.db import Database, ReadQuery

_SUMMARY = (
    sa.text(
        """
        WITH products AS (
          SELECT product_id,
                 sum(quantity) AS total,
                 (array_agg(warehouse ORDER BY quantity DESC, id ASC))[1] AS main,
                 string_agg(
                   '{"id":' || id || ',"warehouse":' || to_json(warehouse)::text
                   || ',"quantity":' || quantity || ',"reorder_point":' || reorder_point
                   || ',"reorder_quantity":' || reorder_quantity || '}',
                   ',' ORDER BY warehouse) AS records
          FROM inventory
          WHERE product_id = ANY(:product_ids)
          GROUP BY product_id
        )
        SELECT '{' || coalesce(string_agg(
                 '"' || product_id || '":{"quantity":' || total || ',"warehouse":' || to_json(main)::text
                 || ',"warehouses":[' || records || ']}',
                 ',' ORDER BY product_id), '') || '}' AS summary
        FROM products
        """
    )
    .bindparams(sa.bindparam("product_ids", type_=postgresql.ARRAY(sa.BigInteger)))
    .columns(sa.column("summary", sa.Text))
)
_QUERY = ReadQuery(_SUMMARY)  # type: ignore[arg-type]  # a TextualSelect runs like a Select here


async def summary_json(db: Database, product_ids: list[int]) -> bytes | None:
    """The summary's JSON as bytes on PostgreSQL; None elsewhere (the caller then builds it in Python)."""
    if not db.is_postgres:
        return None
    row = await db.fetch_one(_QUERY, product_ids=product_ids)
    assert row is not None  # an aggregate without GROUP BY always gives one row
    return str(row["summary"]).encode()
