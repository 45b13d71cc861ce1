"""Admission control on real service processes (products, and the gateway in front of real services): a
bounded number of requests in flight, a short bounded wait for a slot, a fast 503 with Retry-After beyond
it, operations routes never refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.gateway.conftest import start_backends
from tests.support.processes import ServiceProcess, start_service

pytestmark = pytest.mark.slow  # starts the services as processes

SLOW = "/chaos/delay?ms=1000"
LIMITS = {"CHAOS_ENABLED": "true", "MAX_IN_FLIGHT": "2", "ADMISSION_QUEUE": "1", "ADMISSION_WAIT": "0.2"}


def start_products(database: Path, log_dir: Path, limits: dict[str, str]) -> ServiceProcess:
    return start_service("products", log_dir, env={"DATABASE_URL": f"sqlite:///{database}", **limits})


@pytest.fixture(params=["products", "gateway"])
def service(request: pytest.FixtureRequest, tmp_path: Path, log_dir: Path) -> Iterator[ServiceProcess]:
    """A real products process, or a real gateway in front of real services, with a small admission window."""
    if request.param == "products":
        products = start_products(tmp_path / "db.sqlite", log_dir, LIMITS)
        yield products
        products.stop()
        return
    backends = start_backends(f"sqlite:///{tmp_path / 'db.sqlite'}", log_dir)
    services = next(backends)
    gateway = start_service(
        "gateway",
        log_dir,
        env={
            **LIMITS,
            "PRODUCT_SERVICE_URL": services.products.url,
            "INVENTORY_SERVICE_URL": services.inventory.url,
        },
    )
    try:
        yield gateway
    finally:
        gateway.stop()
        backends.close()


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[int, float, dict[str, str], str]:
    started = time.monotonic()
    async with session.get(url) as response:
        body = await response.text()
        return response.status, time.monotonic() - started, dict(response.headers), body


async def test_beyond_the_limit_requests_are_refused_fast_and_the_rest_served(
    service: ServiceProcess,
) -> None:
    async with aiohttp.ClientSession(service.url) as session:
        burst = [asyncio.create_task(timed_get(session, SLOW)) for _ in range(6)]
        await asyncio.sleep(0.3)
        # While two slow requests hold both slots, operations routes still answer.
        live = await timed_get(session, "/livez")
        ready = await timed_get(session, "/readyz")
        metrics_during = await timed_get(session, "/metrics")
        outcomes = await asyncio.gather(*burst)
        served = [o for o in outcomes if o[0] == 200]
        refused = [o for o in outcomes if o[0] == 503]
        assert len(served) == 2 and len(refused) == 4, [o[:2] for o in outcomes]
        for _status, elapsed, headers, body in refused:
            assert elapsed < 0.6, elapsed  # immediately, or after the bounded 0.2 s wait
            assert headers["Retry-After"] == "1"
            assert headers["Content-Type"].startswith("application/problem+json")
            assert '"type":"urn:stockwiz:problem:overloaded"' in body
        assert live[0] == 200 and live[1] < 0.5 and metrics_during[0] == 200
        assert ready[0] == 200 and ready[1] < 0.5
        # Once the slow requests are done, everything is served again.
        assert (await timed_get(session, "/chaos/delay?ms=0"))[0] == 200
        metrics = (await timed_get(session, "/metrics"))[3]
        assert "http_requests_shed_total 4.0" in metrics
    log = service.log()
    # One line for the episode, not one per refused request.
    assert log.count("overloaded: refused") == 1


async def test_a_burst_within_the_queue_is_served_in_turn(tmp_path: Path, log_dir: Path) -> None:
    service = start_products(
        tmp_path / "db.sqlite",
        log_dir,
        {"CHAOS_ENABLED": "true", "MAX_IN_FLIGHT": "1", "ADMISSION_QUEUE": "4", "ADMISSION_WAIT": "2"},
    )
    try:
        async with aiohttp.ClientSession(service.url) as session:
            started = time.monotonic()
            outcomes = await asyncio.gather(*(timed_get(session, "/chaos/delay?ms=300") for _ in range(3)))
            assert [o[0] for o in outcomes] == [200, 200, 200]
            assert 0.85 < time.monotonic() - started < 2.0  # one at a time
    finally:
        service.stop()
