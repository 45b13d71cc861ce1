"""Reading an uploaded CSV file (stockwiz_runtime.csvimport): rows numbered as a spreadsheet shows them,
the export's formula protection undone and nothing else, unreadable files refused as a whole."""

from __future__ import annotations

import pytest

from stockwiz_runtime.csvimport import Columns, RowError, read_rows, unescape
from stockwiz_runtime.problems import ProblemError

COLUMNS = Columns(required=("sku", "name"), optional=("note",), ignored=("id",))


def test_rows_are_numbered_by_record_not_by_line() -> None:
    raw = '\ufeffID,SKU,Name\r\n1,A,"two\nlines"\r\n\r\n3,B\r\n4,C,"=1+1"\r\n'.encode()
    read = read_rows(raw, COLUMNS)
    assert read.header == ["id", "sku", "name"]
    # The blank line is row 3 and is skipped; the short row is row 4; the id column is left out.
    assert read.rows == [(2, {"sku": "A", "name": "two\nlines"}), (5, {"sku": "C", "name": "=1+1"})]
    assert read.errors == [RowError(4, "row", "has 2 cells; the header has 3")]
    assert read.count == 3


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        ("'=SUM(A1)", "=SUM(A1)"),
        ("'-5% off", "-5% off"),
        ("'@home", "@home"),
        ("'quoted'", "'quoted'"),
        ("'", "'"),
    ],
)
def test_only_the_exports_protective_apostrophe_goes(cell: str, read: str) -> None:
    assert unescape(cell) == read


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        (b"", [(1, "file")]),
        (b"\xff\xfe", [(1, "file")]),
        (b"sku,colour\r\n", [(1, "colour"), (1, "name")]),
        (b"sku,name,sku\r\n", [(1, "sku")]),
    ],
)
def test_unreadable_files_are_refused_whole(raw: bytes, errors: list[tuple[int, str]]) -> None:
    with pytest.raises(ProblemError) as refused:
        read_rows(raw, COLUMNS)
    assert refused.value.status == 422 and refused.value.kind == "invalid-csv"
    assert [(e["row"], e["column"]) for e in refused.value.extra["row_errors"]] == errors


def test_too_many_rows_is_413() -> None:
    raw = b"sku,name\r\n" + b"A,x\r\n" * 4
    assert read_rows(raw, COLUMNS, max_rows=4).count == 4
    with pytest.raises(ProblemError) as refused:
        read_rows(raw + b"B,y\r\n", COLUMNS, max_rows=4)
    assert (refused.value.status, refused.value.kind) == (413, "too-many-rows")
