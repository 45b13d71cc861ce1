"""The request being handled: its id (for logs and calls to other services) and its deadline."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it is short and plain, so it cannot inject into logs or headers.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Who is making the change, as the gateway names it: the name of the API token it admitted. The gateway
# sets the header itself and never passes on one a client sent; a direct caller of a service (inside the
# VPC) names itself or nobody. Names follow the token names' rule, so nothing odd reaches logs or the ledger.
ACTOR_HEADER = "X-StockWiz-Actor"
_SANE_ACTOR = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_actor: ContextVar[str | None] = ContextVar("actor", default=None)
# time.monotonic() after which the request's caller no longer waits for its answer; None outside requests.
_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def current_actor() -> str | None:
    return _actor.get()


def set_actor(value: str | None) -> None:
    _actor.set(value)


def sane_actor(candidate: str | None) -> str | None:
    """The actor a request names, or None when it names none or something that is not a token name."""
    return candidate if candidate and _SANE_ACTOR.match(candidate) else None


def accept_or_generate(candidate: str | None) -> str:
    if candidate and _SANE_REQUEST_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex


def current_deadline() -> float | None:
    return _deadline.get()


def set_deadline(value: float | None) -> None:
    _deadline.set(value)


def time_left() -> float | None:
    """Seconds until the current request's deadline (negative once passed); None outside requests."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def deadline_passed() -> bool:
    """Whether the current request's deadline has passed (never, outside requests)."""
    return expired(_deadline.get())
