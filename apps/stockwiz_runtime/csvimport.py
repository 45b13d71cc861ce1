"""Reading a CSV file a shop uploads (an import of products or of opening stock), shared by the services
that import. No HTTP here apart from the problem an invalid file becomes, built in one place
(`rejected`).

The file is read whole and checked row by row before anything is written: every bad row is reported (row
number as a spreadsheet shows it, the header being row 1; the column; a message in the shop's words), so a
shop fixes its file once rather than one error per upload. The columns are those of the gateway's CSV
export (gateway.export), so an export can be edited and imported again; read-only columns of the export
(ids, timestamps, versions) are accepted and ignored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from stockwiz_runtime import openapi as oa
from stockwiz_runtime.bodies import field_error
from stockwiz_runtime.problems import FieldError, ProblemError
from stockwiz_runtime.validation import QueryModel

MAX_ROWS = 5000
BOM = "\ufeff"
# What the export puts before a text cell a spreadsheet would run as a formula (gateway.export): an
# apostrophe, which spreadsheets take as "this is text". Read back, it goes again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportQuery(QueryModel):
    dry_run: bool = False


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Columns:
    """The columns an import reads: `required` must be in the header, `optional` may be, `ignored` are the
    export's read-only columns (accepted so an export goes back in unchanged), anything else is refused."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def known(self) -> frozenset[str]:
        return frozenset((*self.required, *self.optional, *self.ignored))


@dataclass
class Report:
    """What an import did, or would do on a dry run."""

    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def unescape(value: str) -> str:
    """A cell as the shop typed it: the export's protective apostrophe before a formula character goes."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def rejected(errors: Sequence[RowError], rows: int) -> ProblemError:
    """The one problem an invalid file is: 422, every bad row in `rows`, and the same as field errors
    (`row 3: price`) for clients that only know the standard `errors`. Nothing was written."""
    shown = sorted(errors, key=lambda error: (error.row, error.column))
    bad_rows = len({error.row for error in shown})
    return ProblemError(
        422,
        f"{bad_rows:,} of {rows:,} rows cannot be imported; nothing was imported. Fix them and upload "
        "the file again.",
        kind="invalid-csv",
        title="The file cannot be imported",
        errors=[FieldError(f"row {e.row}: {e.column}", e.message, "invalid_row") for e in shown],
        extra={"row_errors": [error.as_json() for error in shown]},
    )


@dataclass
class Rows:
    """A file's data rows as (row number, {column: trimmed cell}), and the errors of rows that could not be
    read as such (a wrong number of cells); `count` counts both."""

    rows: list[tuple[int, dict[str, str]]]
    errors: list[RowError]
    header: list[str]

    @property
    def count(self) -> int:
        return len(self.rows) + len({error.row for error in self.errors})


def read_rows(raw: bytes, columns: Columns, max_rows: int = MAX_ROWS) -> Rows:
    """The rows of a CSV file, blank lines skipped; a file that cannot be read at all (not UTF-8, no header,
    unknown or missing columns, too many rows) is a problem of its own."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise rejected([RowError(1, "file", "is not UTF-8 text; save it as CSV UTF-8")], 0) from None
    text = text.removeprefix(BOM)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise rejected([RowError(1, "file", "is empty; the first row must name the columns")], 0) from None
    except csv.Error as exc:
        raise rejected([RowError(1, "file", f"is not CSV: {exc}")], 0) from None
    problems = [RowError(1, name or "(blank)", "is not a column of this import") for name in header]
    problems = [p for p in problems if p.column not in columns.known]
    problems += [
        RowError(1, name, f"appears {header.count(name)} times")
        for name in sorted(set(header))
        if header.count(name) > 1
    ]
    problems += [
        RowError(1, name, "is missing from the header") for name in columns.required if name not in header
    ]
    if problems:
        raise rejected(problems, 0)
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    number = 1
    try:
        # Numbered as a spreadsheet shows them: one row per record (a cell may hold several lines).
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(rows) + len(errors) >= max_rows:
                raise ProblemError(
                    413,
                    f"The file has more than {max_rows:,} rows; import at most {max_rows:,} at a time.",
                    kind="too-many-rows",
                )
            if len(values) != len(header):
                errors.append(
                    RowError(number, "row", f"has {len(values)} cells; the header has {len(header)}")
                )
                continue
            cells = zip(header, values, strict=True)
            # The export's read-only columns (ids, timestamps) are left out here, so no import reads them.
            rows.append(
                (number, {name: unescape(v.strip()) for name, v in cells if name not in columns.ignored})
            )
    except csv.Error as exc:
        errors.append(RowError(number + 1, "row", f"is not CSV: {exc}"))
    return Rows(rows, errors, header)


ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]], model: type[ModelT], errors: list[RowError]
) -> list[tuple[int, ModelT]]:
    """Each row as `model` (blank cells are left out, so the model's defaults apply); the rows that are
    not valid add their errors, one per column, in the model's words."""
    valid: list[tuple[int, ModelT]] = []
    for number, cells in rows:
        try:
            valid.append((number, model.model_validate({k: v for k, v in cells.items() if v != ""})))
        except ValidationError as exc:
            for error in exc.errors():
                found = field_error(error)
                errors.append(
                    RowError(number, found.field if found.field != "body" else "row", found.message)
                )
    return valid


# The OpenAPI description of an import, the same for each service (and the gateway's /api/import/...).
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What an import did (or, on a dry run, would do): data rows read, and how many created, "
    "updated or left unchanged.",
    "required": ["dry_run", "rows", "created", "updated", "unchanged"],
    "properties": {
        "dry_run": {"type": "boolean"},
        "rows": {"type": "integer", "minimum": 0},
        "created": {"type": "integer", "minimum": 0},
        "updated": {"type": "integer", "minimum": 0},
        "unchanged": {"type": "integer", "minimum": 0},
    },
}
REPORT_EXAMPLE: dict[str, Any] = {"dry_run": True, "rows": 120, "created": 100, "updated": 15, "unchanged": 5}
DRY_RUN_PARAMETER: dict[str, Any] = {
    "name": "dry_run",
    "in": "query",
    "required": False,
    "description": "true checks every row and reports what would happen, writing nothing.",
    "schema": {"type": "boolean", "default": False},
}


def import_operation(operation_id: str, summary: str, columns: Columns, example: str) -> dict[str, Any]:
    """An import's operation: a CSV body, the dry_run switch, the report, and its problems (409 another
    import is running, 413 too large, 415 not CSV, 422 bad rows, each with `row_errors`)."""
    described = ", ".join(columns.required) + " required; " + ", ".join(columns.optional) + " optional"
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": f"Columns: {described}; {', '.join(columns.ignored)} (from the export) ignored. "
        f"At most {MAX_ROWS:,} rows and MAX_BODY_BYTES. All rows are checked before anything is written; "
        "any bad row is a 422 listing every bad row in `row_errors` ({row, column, message}; the header "
        "is row 1), and nothing is written. Text cells the export protected with a leading apostrophe are "
        "read without it.",
        "parameters": [DRY_RUN_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
        },
        "responses": oa.responses(
            {
                "200": oa.ok_json(
                    {"$ref": "#/components/schemas/ImportReport"}, "Imported (or, on a dry run, checked)"
                )
            },
            409,
            413,
            415,
            422,
        ),
    }
