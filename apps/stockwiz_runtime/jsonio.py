"""JSON in and out. Money is Decimal end to end: parsed with parse_float=Decimal and written back as the
same digits (an orjson Fragment), so a price is never rounded through a binary float."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

JSON_CONTENT_TYPE = "application/json"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default)


def json_response(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps(data), status=status, content_type=JSON_CONTENT_TYPE, headers=headers)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Deeper than any body we accept (a product is one object of scalars), far below the parser's recursion limit.
MAX_DEPTH = 32


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259 leaves duplicate names to the parser; silently keeping the last would let two readers of one
    # body (a proxy, a WAF, us) disagree about what it says.
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise ValueError(f"duplicate key {name[:100]!r}")
            seen.add(name)
    return data


def _check_text(text: str) -> None:
    # A lone surrogate ("\ud800") is valid JSON escape syntax but no Unicode text: neither PostgreSQL nor
    # SQLite can store it, and RFC 7493 (I-JSON) forbids it.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff)") from None


def _check(data: Any) -> None:
    """Walk the decoded document without recursion: strings must be text, nesting at most MAX_DEPTH."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for name, item in value.items():
                    _check_text(name)
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in value)


def loads(raw: bytes | str) -> Any:
    """Decode JSON from a trusted source (our own services, our own database)."""
    return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)


def loads_untrusted(raw: bytes | str) -> Any:
    """Decode a client's request body; a ValueError says why it is refused (not JSON, a duplicate key,
    nesting too deep, a lone surrogate), so none of these reaches validation or the database."""
    try:
        data = json.loads(
            raw, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_object
        )
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check(data)
    return data
