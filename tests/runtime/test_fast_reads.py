"""Database.fetch: one-statement reads answer the same on both backends and on both of PostgreSQL's paths
(the pooled driver directly, SQLAlchemy when anything is unusual), and errors keep SQLAlchemy's types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from gateway.composition import _product_spans
from stockwiz_runtime.db import (
    Database,
    DatabaseUnavailable,
    ReadQuery,
    database_error_to_problem,
    normalize_database_url,
)
from stockwiz_runtime.jsonio import dumps

things = sa.table("things", sa.column("id", sa.Integer), sa.column("price", sa.Numeric(10, 2)))
BY_ID = ReadQuery(
    sa.select(things.c.id, things.c.price)
    .where(things.c.id.in_(sa.bindparam("ids", expanding=True, type_=sa.Integer)))
    .order_by(things.c.id),
    postgres=sa.select(things.c.id, things.c.price)
    .where(things.c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer))))
    .order_by(things.c.id),
)
MISSING_TABLE = ReadQuery(sa.select(sa.table("no_such_table", sa.column("id")).c.id))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(normalize_database_url(database_url))
    async with db.write() as conn:
        await conn.execute(sa.text("CREATE TABLE things (id INTEGER PRIMARY KEY, price NUMERIC(10, 2))"))
        await conn.execute(sa.text("INSERT INTO things VALUES (1, 15.90), (2, 99999999.99), (3, 0.01)"))
    try:
        yield db
    finally:
        await db.dispose()


def _plain(rows: Any) -> list[dict[str, Any]]:
    return [{"id": row["id"], "price": row["price"]} for row in rows]


async def test_fetch_answers_exactly_on_each_path(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = [{"id": 1, "price": Decimal("15.90")}, {"id": 3, "price": Decimal("0.01")}]
    for _ in range(2):  # compiled at the first call, reused at the second
        assert _plain(await database.fetch(BY_ID, ids=[3, 1, 7])) == expected
    assert await database.fetch_one(BY_ID, ids=[42]) is None

    if database.is_postgres:

        async def unavailable(engine: Any) -> Any:
            raise ConnectionError("pool checkout failed")

        # When the driver path cannot get a connection, asking SQLAlchemy for one would only wait out
        # DB_POOL_TIMEOUT a second time: the database is unavailable, at once.
        monkeypatch.setattr(type(database.engine), "raw_connection", unavailable)
        with pytest.raises(DatabaseUnavailable) as refused:
            await database.fetch(BY_ID, ids=[1, 3])
        problem = database_error_to_problem(refused.value)
        assert problem is not None and (problem.status, problem.kind) == (503, "database-unavailable")


async def test_fetch_errors_keep_sqlalchemy_types(database: Database) -> None:
    with pytest.raises(sa.exc.DBAPIError):
        await database.fetch(MISSING_TABLE)
    # The connection that failed is not handed out again broken.
    assert _plain(await database.fetch(BY_ID, ids=[2])) == [{"id": 2, "price": Decimal("99999999.99")}]


def test_product_spans_find_each_object_or_refuse() -> None:
    page = [
        {"id": 1, "name": 'looks like {"id":2, but is text }', "price": Decimal("15.90")},
        {"id": 22, "name": "}]", "price": Decimal("1.00")},
    ]
    raw = dumps(page)
    ids = [product["id"] for product in orjson.loads(raw)]
    spans = _product_spans(raw, ids)
    assert spans is not None
    assert [orjson.loads(raw[start:end])["name"] for start, end in spans] == [p["name"] for p in page]
    assert b'"price":15.90' in raw[spans[0][0] : spans[0][1]]
    assert _product_spans(raw, [1, 23]) is None  # ids that do not match: decode the page instead
    assert _product_spans(b'[{"name":"x","id":1}]', [1]) is None  # id not first
    assert _product_spans(b"[]", []) == []
