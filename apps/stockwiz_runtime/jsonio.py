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


def loads(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
