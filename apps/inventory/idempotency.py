"""Idempotency-Key: a retried write returns the first response and changes nothing.

The key is claimed by an INSERT in the same transaction as the change, and the response is stored in that
transaction too, so a key is either unused or bound to a committed change and its response. A concurrent
duplicate on PostgreSQL blocks on the key's unique index until the first transaction ends, then finds the
stored response; on SQLite, BEGIN IMMEDIATE already runs one writer at a time. A failed request (4xx) rolls
back with its key, so a retry is evaluated afresh. A key expires after IDEMPOTENCY_KEY_TTL_HOURS; after that
it may be reused for any request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.tables import idempotency_keys
from stockwiz_runtime.db import Database
from stockwiz_runtime.jsonio import dumps, loads
from stockwiz_runtime.problems import ProblemError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces: a UUID or any opaque token; quotes (a structured-field string) are removed.
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class Change:
    """What a write answers (status and JSON body), and the movements it recorded as (reason, delta)."""

    status: int
    body: Any
    movements: tuple[tuple[str, int], ...] = ()
    replayed: bool = False


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    fingerprint: str
    ttl: timedelta = field(default=timedelta(hours=24))


def key_from_request(request: web.Request, body: BaseModel, ttl: timedelta) -> IdempotencyKey | None:
    """The request's Idempotency-Key bound to what it asks for: method, path and the validated body (so
    key order or whitespace do not make two equal requests differ)."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        key = key[1:-1]
    if not _KEY.match(key):
        raise ProblemError(
            400,
            f"{HEADER} must be 1 to 255 printable ASCII characters without spaces (a UUID is ideal).",
            kind="invalid-idempotency-key",
        )
    canonical = dumps({"method": request.method, "path": request.path, "body": body.model_dump(mode="json")})
    return IdempotencyKey(key, hashlib.sha256(canonical).hexdigest(), ttl)


def _insert(conn: AsyncConnection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


async def _claim(conn: AsyncConnection, idem: IdempotencyKey) -> Change | None:
    """None when this transaction now owns the key; the stored response when the key was used before."""
    now = datetime.now(UTC)
    insert = _insert(conn)(idempotency_keys).values(
        key=idem.key, fingerprint=idem.fingerprint, created_at=now, expires_at=now + idem.ttl
    )
    # An expired key is taken over as if it were new.
    claim = insert.on_conflict_do_update(
        index_elements=[idempotency_keys.c.key],
        set_={
            "fingerprint": insert.excluded.fingerprint,
            "status": None,
            "body": None,
            "created_at": insert.excluded.created_at,
            "expires_at": insert.excluded.expires_at,
        },
        where=idempotency_keys.c.expires_at <= now,
    ).returning(idempotency_keys.c.key)
    if (await conn.execute(claim)).first() is not None:
        return None
    stored = (
        await conn.execute(
            sa.select(
                idempotency_keys.c.fingerprint, idempotency_keys.c.status, idempotency_keys.c.body
            ).where(idempotency_keys.c.key == idem.key)
        )
    ).one()
    if stored.fingerprint != idem.fingerprint:
        raise ProblemError(
            422,
            f"{HEADER} {idem.key!r} was already used for a different request; use a new key for a new "
            "request.",
            kind="idempotency-key-reused",
        )
    return Change(stored.status, loads(stored.body), replayed=True)


async def _store(conn: AsyncConnection, idem: IdempotencyKey, change: Change) -> None:
    await conn.execute(
        sa.update(idempotency_keys)
        .where(idempotency_keys.c.key == idem.key)
        .values(status=change.status, body=dumps(change.body).decode())
    )


async def run_once(
    db: Database, idem: IdempotencyKey | None, work: Callable[[AsyncConnection], Awaitable[Change]]
) -> Change:
    """`work` in one write transaction, guarded by the key when there is one."""
    async with db.write() as conn:
        if idem is not None:
            stored = await _claim(conn, idem)
            if stored is not None:
                return stored
        change = await work(conn)
        if idem is not None:
            await _store(conn, idem, change)
    return change


async def purge_expired(db: Database) -> int:
    async with db.write() as conn:
        result = await conn.execute(
            sa.delete(idempotency_keys).where(idempotency_keys.c.expires_at <= datetime.now(UTC))
        )
    return int(result.rowcount or 0)
