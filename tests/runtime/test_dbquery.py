"""`python -m stockwiz_runtime.dbquery`: an operator's read-only query, on both backends, through main() as
the one-off task runs it (settings from the environment)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from stockwiz_runtime import dbquery
from stockwiz_runtime.db import Database, normalize_database_url

INSERT = "INSERT INTO things VALUES (1, 'Bolt', 0.25), (2, 'Nut M6', 0.10), (3, 'Ölfass', 99.00)"


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database with three things in it, and DATABASE_URL pointing at it."""

    async def fill() -> None:
        database = Database(normalize_database_url(database_url))
        try:
            async with database.write() as conn:
                await conn.execute(
                    sa.text("CREATE TABLE things (id integer PRIMARY KEY, name text, price numeric(10, 2))")
                )
                await conn.execute(sa.text(INSERT))
        finally:
            await database.dispose()

    asyncio.run(fill())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("DB_HOST", raising=False)
    yield database_url


def price(shop: str, value: str) -> object:
    """PostgreSQL's numeric arrives as a Decimal and is printed as its exact text; SQLite has no decimal
    type, so a raw query gets its float."""
    return float(value) if shop.startswith("sqlite") else value


def run(*argv: str) -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    status = dbquery.main(list(argv), out=out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def test_rows_come_out_as_json_lines_with_a_summary(shop: str) -> None:
    status, lines = run("SELECT id, name, price FROM things ORDER BY id")
    assert status == 0
    assert lines == [
        {"id": 1, "name": "Bolt", "price": price(shop, "0.25")},
        {"id": 2, "name": "Nut M6", "price": price(shop, "0.10")},
        {"id": 3, "name": "Ölfass", "price": price(shop, "99.00")},
        {"summary": {"rows": 3, "truncated": False}},
    ]


def test_the_limit_cuts_and_says_so(shop: str) -> None:
    status, lines = run("SELECT id FROM things ORDER BY id", "--limit", "2")
    assert status == 0
    assert lines == [{"id": 1}, {"id": 2}, {"summary": {"rows": 2, "truncated": True}}]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE things SET price = 0 RETURNING id",
        "DELETE FROM things RETURNING id",
        "INSERT INTO things VALUES (4, 'x', 1) RETURNING id",
        "WITH gone AS (DELETE FROM things RETURNING id) SELECT id FROM gone",
    ],
)
def test_nothing_can_be_written(shop: str, statement: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = run(statement)
    assert status == 1 and lines == []
    err = capsys.readouterr().err.lower()
    # PostgreSQL: "cannot execute ... in a read-only transaction"; SQLite: "attempt to write a readonly
    # database" (it has no data-changing CTE at all, so that one is a syntax error there).
    assert "read" in err or (shop.startswith("sqlite") and "syntax error" in err)
    _, after = run("SELECT count(*) AS n, sum(price) AS total FROM things")
    assert after[0] == {"n": 3, "total": price(shop, "99.35")}


def test_a_statement_without_rows_is_refused(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("DROP TABLE things")[0] == 1  # refused as a write
    assert run("SELECT count(*) AS n FROM things")[1][0] == {"n": 3}
    capsys.readouterr()
    # Allowed in a read-only transaction, but answers no rows: refused by dbquery itself, with its reason.
    setting = "PRAGMA cache_size = 100" if shop.startswith("sqlite") else "SET search_path TO public"
    assert run(setting) == (1, [])
    assert "returns no rows" in capsys.readouterr().err


def test_a_bad_query_says_why(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run("SELECT nope FROM things")
    assert status == 1
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["SELECT 1", "--limit", "0"], ["SELECT 1", "--timeout", "0"]])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        dbquery.main(argv)
    assert exit_.value.code == 2


def test_bad_settings_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://nowhere/db")
    assert dbquery.main(["SELECT 1"]) == 2
    assert "DATABASE_URL" in capsys.readouterr().err
