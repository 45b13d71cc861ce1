"""Admission control: a bounded number of requests in flight, a short bounded wait for a slot, and a fast
503 with Retry-After beyond that.

Without it an overloaded process accepts everything, every request waits behind all the others, latency
grows to the timeouts, the answers that do come are too late to be useful (goodput collapses) and the
waiting requests' buffers grow memory. With it the process works on at most `limit` requests, keeps a
small queue for bursts (each waiter gives up after `wait_seconds`), and refuses the rest at once, cheaply,
so the requests it does accept are answered in time.

Operations routes (/livez, /readyz, /health, /metrics) are never refused: the load balancer must not take
an overloaded task for a dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from stockwiz_runtime.jsonio import dumps
from stockwiz_runtime.problems import PROBLEM_CONTENT_TYPE

log = logging.getLogger("stockwiz.admission")

EXEMPT_PATHS = frozenset({"/livez", "/readyz", "/health", "/metrics"})
RETRY_AFTER_SECONDS = 1
# One log line per this many seconds while shedding, not one per refused request.
LOG_INTERVAL_SECONDS = 10.0


class Admission:
    def __init__(
        self, limit: int, queue: int, wait_seconds: float, *, on_shed: Callable[[], None] | None = None
    ) -> None:
        self.limit = limit
        self._on_shed = on_shed
        self.queue = queue
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        self.shed_total = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._shed_since_log = 0
        self._logged_at = float("-inf")

    async def acquire(self) -> bool:
        """Take a slot (True), or False when the request is to be refused."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return True
        if len(self._waiters) >= self.queue:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.wait_seconds):
                await waiter
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just as the wait ended.
                if isinstance(exc, TimeoutError):
                    return True
                self.release()
            else:
                waiter.cancel()
                # release() may have dropped it already (it skips waiters that gave up).
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return False
        return True

    def release(self) -> None:
        # Hand the slot straight to the oldest waiter still waiting, so a burst is served in order.
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    def record_shed(self) -> None:
        self.shed_total += 1
        if self._on_shed is not None:
            self._on_shed()
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_INTERVAL_SECONDS:
            log.warning(
                "overloaded: refused %d requests with 503 (at most %d in flight, %d waiting)",
                self._shed_since_log,
                self.limit,
                self.queue,
                extra={"fields": {"shed": self._shed_since_log, "in_flight_limit": self.limit}},
            )
            self._logged_at = now
            self._shed_since_log = 0


_OVERLOADED_BODY = dumps(
    {
        "type": "urn:stockwiz:problem:overloaded",
        "title": "Service Unavailable",
        "status": 503,
        "detail": f"The service is at capacity; retry in {RETRY_AFTER_SECONDS} s.",
    }
)


def overloaded_response() -> web.Response:
    # Built with the fewest steps: under overload, refusing must cost far less than answering.
    return web.Response(
        status=503,
        body=_OVERLOADED_BODY,
        content_type=PROBLEM_CONTENT_TYPE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def admission_middleware(admission: Admission) -> Middleware:
    @web.middleware
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS:
            return await handler(request)
        if not await admission.acquire():
            admission.record_shed()
            return overloaded_response()
        try:
            return await handler(request)
        finally:
            admission.release()

    return admit


ADMISSION = web.AppKey("admission", Admission)
