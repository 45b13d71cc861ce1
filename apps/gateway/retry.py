"""When a failed upstream call may be sent again, and how long to wait first.

Only connection failures are retried (the request did not get an answer), never timeouts (the upstream
may still be working on it, and retrying would multiply the wait) and never answers. Only idempotent
methods are retried, plus a POST that carries an Idempotency-Key (the inventory service deduplicates it).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import aiohttp

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError)


def is_retryable_error(exc: BaseException) -> bool:
    return isinstance(exc, aiohttp.ClientConnectionError) and not is_timeout(exc)


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    backoff: float = 0.05  # first wait in seconds; doubles each attempt, with full jitter

    def may_retry(self, method: str, has_idempotency_key: bool) -> bool:
        return self.retries > 0 and (method in IDEMPOTENT_METHODS or has_idempotency_key)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        return random.uniform(0, self.backoff * 2 ** (attempt - 1))  # noqa: S311 - jitter, not security
