"""Field types shared by the services' request models."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)


def _no_control_characters(value: str) -> str:
    # PostgreSQL rejects NUL in text, and control characters in names only hide things from people.
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("must be a single line")
    return value


def _strict_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null; omit the field to leave it unchanged")
    return value


# A string and nothing else (pydantic would not coerce a number, but says so less plainly).
StrictStr = Annotated[str, BeforeValidator(_strict_string)]
# For partial updates: a field that may be omitted but not cleared, e.g. Annotated[Name, NOT_NULL] = None.
NOT_NULL = BeforeValidator(_not_null)


def _strip_non_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


# The same rules as regular expressions, for the OpenAPI documents (fuzzers generate from them).
LINE_PATTERN = r"^[^\x00-\x1f]*[^\s\x00-\x1f][^\x00-\x1f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"

# A non-blank single-line string, stored trimmed; bound its length where used: Annotated[SingleLine, Field()].
SingleLine = Annotated[
    str,
    BeforeValidator(_strict_string),
    AfterValidator(_strip_non_blank),
    AfterValidator(_no_control_characters),
    AfterValidator(_single_line),
    Field(json_schema_extra={"pattern": LINE_PATTERN}),
]
# Search text and filters in query strings: matched literally, so anything goes but NUL, which PostgreSQL
# cannot hold in text.
SEARCH_PATTERN = r"^[^\x00]*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


QueryText = Annotated[str, AfterValidator(_no_nul)]

# Free text: newlines allowed, control characters not.
Text = Annotated[
    str,
    BeforeValidator(_strict_string),
    AfterValidator(_no_control_characters),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
]


def _strict_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


StrictInt = Annotated[int, BeforeValidator(_strict_int)]


class RequestModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class QueryModel(BaseModel):
    """Query strings: strings are converted (limit=10), unknown parameters ignored (cache busters)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


MAX_PAGE_SIZE = 1000
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
MAX_OFFSET = 2_147_483_647
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
# Ids are 64-bit integers in the database (migration 0003); a bigger number names nothing, it is not an
# error of ours.
MAX_ID = 9_223_372_036_854_775_807
# Versions (ETags) stay 32-bit: two billion changes of one record.
MAX_VERSION = 2_147_483_647


ID_LIST_ITEM = re.compile(r"^[1-9][0-9]{0,18}$")


def id_list_pattern(max_count: int = MAX_PAGE_SIZE) -> str:
    return rf"^[1-9][0-9]{{0,18}}(,[1-9][0-9]{{0,18}}){{0,{max_count - 1}}}$"


def parse_id_list(raw: str | None, *, field: str, max_count: int = MAX_PAGE_SIZE) -> list[int] | None:
    """`1,2,3` as a list of distinct ids; a ValueError names the problem."""
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) > max_count:
        raise ValueError(f"{field} lists at most {max_count} ids")
    if not all(ID_LIST_ITEM.match(part) for part in parts):
        raise ValueError(f"{field} must be comma-separated positive integers")
    # An id beyond the column's range names nothing: it finds nothing rather than failing.
    return list(dict.fromkeys(int(part) for part in parts if int(part) <= MAX_ID))
