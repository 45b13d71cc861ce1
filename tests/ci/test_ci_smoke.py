"""tools/smoke_test.py against a stand-in gateway (for the failures a real one rarely shows), and against
the real three services started as processes, as `make run` starts them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.processes import ServiceProcess, free_port, start_service
from tools import smoke_test

TOKEN = "read-token-for-tests"


@dataclass
class FakeGateway:
    products: list[dict[str, Any]] = field(default_factory=lambda: [{"id": 7, "name": "Monitor 4K"}])
    unhealthy_answers: int = 0
    enforce_auth: bool = True
    wrong_product: bool = False
    # A gateway that cannot reach the inventory service: its own liveness is fine, the API is not.
    inventory_unreachable: bool = False
    health_calls: int = 0
    paths: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/api/products", self.list_products)
        app.router.add_get("/api/products/{id}", self.get_product)
        app.router.add_get("/api/inventory", self.list_inventory)
        return app

    async def health(self, request: web.Request) -> web.Response:
        self.health_calls += 1
        if self.health_calls <= self.unhealthy_answers:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "healthy"})

    def _authorized(self, request: web.Request) -> bool:
        return not self.enforce_auth or request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def list_products(self, request: web.Request) -> web.Response:
        self.paths.append(request.path_qs)
        if not self._authorized(request):
            return web.json_response({"title": "Unauthorized"}, status=401)
        return web.json_response(self.products[: int(request.query.get("limit", "50"))])

    async def list_inventory(self, request: web.Request) -> web.Response:
        self.paths.append(request.path_qs)
        if not self._authorized(request):
            return web.json_response({"title": "Unauthorized"}, status=401)
        if self.inventory_unreachable:
            return web.json_response({"title": "Bad Gateway"}, status=502)
        return web.json_response([{"id": 1, "product_id": 7, "quantity": 3}][: int(request.query["limit"])])

    async def get_product(self, request: web.Request) -> web.Response:
        self.paths.append(request.path_qs)
        if not self._authorized(request):
            return web.json_response({"title": "Unauthorized"}, status=401)
        product_id = int(request.match_info["id"])
        for product in self.products:
            if product["id"] == product_id:
                return web.json_response({**product, "id": product_id + 1} if self.wrong_product else product)
        return web.json_response({"title": "Not Found"}, status=404)


async def smoke(gateway: FakeGateway, wait_seconds: float = 5.0) -> list[str]:
    server = TestServer(gateway.app(), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/"))
        return await asyncio.to_thread(
            smoke_test.run_smoke, url, TOKEN, wait_seconds, 0.0, lambda _seconds: None
        )
    finally:
        await server.close()


async def test_healthy_deployment_passes_and_reads_one_product() -> None:
    gateway = FakeGateway(products=[{"id": 7, "name": "Monitor 4K"}, {"id": 8, "name": "Dock"}])
    passed = await smoke(gateway)
    assert passed[0].startswith("/health 200")
    assert "refused (401)" in passed[1]
    assert passed[-1] == "/api/products/7 composes product and inventory (no stock recorded)"
    # One page of one item from each backend, then the composed view.
    assert gateway.paths[1:] == ["/api/products?limit=1", "/api/inventory?limit=1", "/api/products/7"]


async def test_empty_catalogue_still_passes_and_says_what_it_did_not_check() -> None:
    passed = await smoke(FakeGateway(products=[]))
    assert "0 product(s)" in passed[2] and "1 record(s)" in passed[3]
    assert "not exercised" in passed[-1]


async def test_a_gateway_that_cannot_reach_a_backend_fails() -> None:
    with pytest.raises(smoke_test.SmokeFailure, match=r"/api/inventory\?limit=1 .* answered 502"):
        await smoke(FakeGateway(inventory_unreachable=True))


async def test_waits_while_the_new_tasks_settle() -> None:
    gateway = FakeGateway(unhealthy_answers=3)
    await smoke(gateway)
    assert gateway.health_calls == 4


async def test_health_that_never_recovers_fails() -> None:
    with pytest.raises(smoke_test.SmokeFailure, match=r"/health did not answer 200.*status 503"):
        await smoke(FakeGateway(unhealthy_answers=10_000), wait_seconds=0.0)


async def test_open_api_fails() -> None:
    with pytest.raises(smoke_test.SmokeFailure, match="without a token answered 200"):
        await smoke(FakeGateway(enforce_auth=False))


async def test_product_that_does_not_read_back_fails() -> None:
    with pytest.raises(smoke_test.SmokeFailure, match="returned another product"):
        await smoke(FakeGateway(wrong_product=True))


def test_unreachable_url_fails_after_the_wait() -> None:
    # Port 9 on loopback: nothing listens there, so every attempt is refused at once.
    with pytest.raises(smoke_test.SmokeFailure, match=r"ConnectionRefusedError|URLError"):
        smoke_test.run_smoke("http://127.0.0.1:9", TOKEN, wait_seconds=0.0, sleep=lambda _s: None)


def test_missing_url_or_token_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(smoke_test.SmokeFailure, match="not an http"):
        smoke_test.run_smoke("", TOKEN, wait_seconds=0.0)
    monkeypatch.delenv(smoke_test.TOKEN_ENV, raising=False)
    assert smoke_test.main(["--url", "https://example.invalid"]) == 2


# ----------------------------------------------------------------------- against the real services


def _tokens_document(read_token: str) -> str:
    return json.dumps(
        [{"name": "smoke", "scope": "read", "sha256": hashlib.sha256(read_token.encode()).hexdigest()}]
    )


def _start_stack(log_dir: Path, *, seed: bool, inventory_url: str | None = None) -> list[ServiceProcess]:
    """Products, inventory and the gateway on one SQLite file, as `make run` starts them."""
    database = {"DATABASE_URL": f"sqlite:///{log_dir / 'stockwiz.db'}", "SEED_DEMO_DATA": str(seed).lower()}
    started: list[ServiceProcess] = []
    try:
        # Products first: it creates the product table the inventory's foreign key points at.
        started.append(start_service("products", log_dir, env=database))
        started.append(start_service("inventory", log_dir, env=database))
        started.append(
            start_service(
                "gateway",
                log_dir,
                env={
                    "PRODUCT_SERVICE_URL": started[0].url,
                    "INVENTORY_SERVICE_URL": inventory_url or started[1].url,
                    "API_TOKENS": _tokens_document(TOKEN),
                    "UPSTREAM_RETRIES": "0",
                },
                # A gateway whose backend is unreachable is never ready; the smoke test is the judge.
                ready=inventory_url is None,
            )
        )
    except Exception:
        for service in reversed(started):
            service.stop()
        raise
    return started


@pytest.fixture
def stop_all() -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for service in reversed(started):
        service.stop()


@pytest.mark.slow
def test_real_services_with_demo_data_pass_every_check(
    tmp_path: Path, stop_all: list[ServiceProcess]
) -> None:
    stop_all += _start_stack(tmp_path, seed=True)
    passed = smoke_test.run_smoke(stop_all[-1].url, TOKEN, wait_seconds=10.0, interval=0.2)
    assert passed[2] == "/api/products?limit=1 with the read token: 1 product(s)"
    assert passed[3] == "/api/inventory?limit=1 with the read token: 1 record(s)"
    assert re.fullmatch(r"/api/products/\d+ composes product and inventory with its stock", passed[-1])


@pytest.mark.slow
def test_real_services_on_an_empty_database_pass(tmp_path: Path, stop_all: list[ServiceProcess]) -> None:
    stop_all += _start_stack(tmp_path, seed=False)
    passed = smoke_test.run_smoke(stop_all[-1].url, TOKEN, wait_seconds=10.0, interval=0.2)
    assert "0 product(s)" in passed[2] and "0 record(s)" in passed[3]


@pytest.mark.slow
def test_real_gateway_blind_to_a_backend_fails(tmp_path: Path, stop_all: list[ServiceProcess]) -> None:
    # The first-deploy failure: the gateway process lives (and answers /livez) but cannot reach inventory.
    stop_all += _start_stack(tmp_path, seed=True, inventory_url=f"http://127.0.0.1:{free_port()}")
    gateway = stop_all[-1]
    wait_live(gateway.url)
    with pytest.raises(smoke_test.SmokeFailure, match=r"/health did not answer 200"):
        smoke_test.run_smoke(gateway.url, TOKEN, wait_seconds=0.0)
    # Even where the health check were lenient, the API call itself fails.
    with pytest.raises(smoke_test.SmokeFailure, match=r"/api/inventory\?limit=1 .* answered 50[23]"):
        smoke_test.read_page(gateway.url, "/api/inventory?limit=1", TOKEN)


def wait_live(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if smoke_test.fetch(f"{url}/livez", timeout=1.0).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url}/livez did not answer 200 within {timeout} s")
