"""Are the product and inventory services ready? Asked with a short timeout and remembered briefly, so a
burst of health checks (load balancer, monitors, people) costs each service at most one probe."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

import aiohttp

from gateway.upstream import Upstream

log = logging.getLogger("stockwiz.gateway.health")


class DownstreamHealth:
    def __init__(
        self,
        upstreams: Mapping[str, Upstream],
        *,
        timeout: float,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = dict(upstreams)
        self.cache_seconds = cache_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._checked_at = float("-inf")
        self._statuses: dict[str, bool] = {}
        self._in_flight: asyncio.Future[dict[str, bool]] | None = None

    async def statuses(self) -> dict[str, bool]:
        """{label: ready} for every upstream, fresh within cache_seconds."""
        if self._statuses and self._clock() - self._checked_at < self.cache_seconds:
            return self._statuses
        if self._in_flight is None:
            self._in_flight = asyncio.ensure_future(self._check_all())
        in_flight = self._in_flight
        try:
            # shield: one caller giving up must not cancel the probe the others wait for.
            return await asyncio.shield(in_flight)
        finally:
            if in_flight.done() and self._in_flight is in_flight:
                self._in_flight = None

    async def _check_all(self) -> dict[str, bool]:
        labels = list(self.upstreams)
        results = await asyncio.gather(*(self._check(self.upstreams[label]) for label in labels))
        self._statuses = dict(zip(labels, results, strict=True))
        self._checked_at = self._clock()
        return self._statuses

    async def _check(self, upstream: Upstream) -> bool:
        try:
            async with upstream.session.get(
                upstream.url("/readyz"), timeout=self._timeout, allow_redirects=False
            ) as response:
                await response.read()
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("%s is not ready: %s: %s", upstream.name, type(exc).__name__, exc)
            return False
