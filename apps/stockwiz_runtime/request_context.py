"""The request id of the request being handled, for logs and for calls to other services."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it is short and plain, so it cannot inject into logs or headers.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def accept_or_generate(candidate: str | None) -> str:
    if candidate and _SANE_REQUEST_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex
