"""tools/smoke_test.py against a stand-in for the deployed gateway (the real one lives in AWS)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tools import smoke_test

TOKEN = "read-token-for-tests"


@dataclass
class FakeGateway:
    products: list[dict[str, Any]] = field(default_factory=lambda: [{"id": 7, "name": "Monitor 4K"}])
    unhealthy_answers: int = 0
    enforce_auth: bool = True
    wrong_product: bool = False
    health_calls: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/api/products", self.list_products)
        app.router.add_get("/api/products/{id}", self.get_product)
        return app

    async def health(self, request: web.Request) -> web.Response:
        self.health_calls += 1
        if self.health_calls <= self.unhealthy_answers:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "healthy"})

    def _authorized(self, request: web.Request) -> bool:
        return not self.enforce_auth or request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def list_products(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"title": "Unauthorized"}, status=401)
        return web.json_response(self.products)

    async def get_product(self, request: web.Request) -> web.Response:
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
    passed = await smoke(FakeGateway())
    assert passed[0].startswith("/health 200")
    assert "refused (401)" in passed[1]
    assert passed[-1] == "/api/products/7 reads back"


async def test_empty_catalogue_still_passes() -> None:
    passed = await smoke(FakeGateway(products=[]))
    assert len(passed) == 3 and "0 product(s)" in passed[-1]


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
