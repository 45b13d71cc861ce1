"""The product service's read cache: whole answers of `GET /products/{id}` and `GET /products`, kept for at
most PRODUCT_CACHE_SECONDS and dropped at once by any write through this process.

Why: on the benchmark's machine a product read spent most of its time on the query (asyncpg's encoding
and decoding, a PostgreSQL backend's turn on the shared cores) and, for long lists, on turning 1,000 rows
into JSON. Catalogue data changes rarely and is read all the time; stock, which changes all the time, is
never cached (it is the inventory service's, read fresh on every request).

What a client can see (README, Performance, "Caching"):

- A write through this process (create, update, delete; any request that is not GET/HEAD/OPTIONS) clears
  the cache when it starts and again when it ends, and a read that overlapped a write does not store its
  answer: a client reads its own writes through the same task, and a read never brings back an answer
  older than a write that finished before it started.
- A write through another task of the service (several run behind Service Connect in AWS) reaches this
  task's readers at most PRODUCT_CACHE_SECONDS later: that is the bounded staleness, default 1 s. An
  If-Match with a stale ETag is still refused with 412 by the database's version check, so a stale read can
  never make a write lose another one.
- PRODUCT_CACHE_SECONDS=0 turns the cache off.

Memory is bounded by PRODUCT_CACHE_BYTES (answers' bytes; the oldest go first); lists with search text are
not cached (each text would be an entry of its own, and a scanner could fill the cache with them).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes
    headers: Mapping[str, str]
    expires: float


class ReadCache:
    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._answers: dict[Hashable, CachedAnswer] = {}
        self._bytes = 0
        # Bumped by every write: a read that started under another generation does not store its answer.
        self.generation = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def get(self, key: Hashable) -> CachedAnswer | None:
        answer = self._answers.get(key)
        if answer is not None:
            if answer.expires > time.monotonic():
                self.hits += 1
                return answer
            self._drop(key)
        self.misses += 1
        return None

    def put(self, key: Hashable, body: bytes, headers: Mapping[str, str], generation: int) -> None:
        """Keep an answer read under `generation` (taken before the read), unless a write came since."""
        if not self.enabled or generation != self.generation or len(body) > self.max_bytes:
            return
        self._drop(key)
        while self._answers and self._bytes + len(body) > self.max_bytes:
            # Dicts keep insertion order: the first entry is the oldest.
            self._drop(next(iter(self._answers)))
        self._answers[key] = CachedAnswer(body, dict(headers), time.monotonic() + self.seconds)
        self._bytes += len(body)

    def invalidate(self) -> None:
        self.generation += 1
        self._answers.clear()
        self._bytes = 0

    def _drop(self, key: Hashable) -> None:
        answer = self._answers.pop(key, None)
        if answer is not None:
            self._bytes -= len(answer.body)

    def __len__(self) -> int:
        return len(self._answers)
