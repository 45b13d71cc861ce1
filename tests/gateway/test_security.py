"""The gateway's edge: auth scopes, rate limits, security headers, CORS, body limits, forwarded headers,
path checks, the UI's caching; upstreams are small in-test apps so each test sees exactly what is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from tests.gateway.conftest import API_TOKENS, READ, WRITE, GatewayClient

Build = Callable[..., Awaitable[GatewayClient]]
Start = Callable[[web.Application], Awaitable[str]]


def echo_app(seen: list[dict[str, Any]]) -> web.Application:
    """Answers every request with what it received; a large body on /products/big."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        if request.path in ("/openapi.json", "/readyz"):  # the gateway's own background calls
            return web.json_response({})
        seen.append(
            {
                "method": request.method,
                "path": request.raw_path,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        return web.json_response(
            {"path": request.raw_path},
            status=201 if request.method == "POST" else 200,
            headers={"X-Upstream": "yes", "Connection": "keep-alive, X-Per-Hop", "X-Per-Hop": "1"},
        )

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b"[")
        for index in range(20_000):
            await response.write(b'"%05d-..........................................",' % index)
        await response.write(b'"end"]')
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/products/big", big)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@pytest.fixture
async def echo(fake_upstream: Start) -> tuple[str, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    return await fake_upstream(echo_app(seen)), seen


async def test_requests_reach_the_service_with_only_the_headers_it_needs(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, seen = echo
    client = await gateway_for(url, url, API_TOKENS=API_TOKENS)
    response = await client.put(
        "/api/inventory/7?x=%20y",
        json={"quantity": 1},
        headers={
            **WRITE,
            "Cookie": "session=secret",
            "If-Match": '"3"',
            "Idempotency-Key": "abc",
            "X-Request-ID": "trace-me-1",
            "X-Forwarded-For": "6.6.6.6",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "1",
            "X-Custom": "nope",
        },
    )
    assert response.status == 200
    assert response.headers["X-Request-ID"] == "trace-me-1"
    # Only allow-listed answer headers come back (test_only_allow_listed_upstream_headers_...).
    assert "X-Upstream" not in response.headers and "X-Per-Hop" not in response.headers
    sent = seen[-1]
    assert sent["path"] == "/inventory/7?x=%20y" and sent["body"] == b'{"quantity": 1}'
    headers = {name.lower(): value for name, value in sent["headers"].items()}
    assert headers["if-match"] == '"3"' and headers["idempotency-key"] == "abc"
    assert headers["x-request-id"] == "trace-me-1"
    assert headers["x-forwarded-for"] == "127.0.0.1"  # the client's own claim is not trusted
    assert headers["x-forwarded-proto"] == "http"
    for private in ("authorization", "cookie", "x-hop", "x-custom"):
        assert private not in headers


async def test_forwarded_headers_from_a_trusted_proxy_pass_on(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, seen = echo
    client = await gateway_for(
        url, url, TRUSTED_PROXIES="127.0.0.0/8", RATE_LIMIT_PER_MINUTE="60", RATE_LIMIT_BURST="1"
    )
    forwarded = {
        "X-Forwarded-For": "198.51.100.1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "shop.example",
    }
    response = await client.get("/api/products", headers=forwarded)
    assert response.status == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    headers = {name.lower(): value for name, value in seen[-1]["headers"].items()}
    assert headers["x-forwarded-for"] == "198.51.100.1, 127.0.0.1"
    assert (headers["x-forwarded-proto"], headers["x-forwarded-host"]) == ("https", "shop.example")
    # The rate limit is per real client, so another address behind the proxy has its own allowance.
    assert (await client.get("/api/products", headers=forwarded)).status == 429
    assert (
        await client.get("/api/products", headers={**forwarded, "X-Forwarded-For": "198.51.100.2"})
    ).status == 200


async def test_tokens_and_scopes(gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = echo
    client = await gateway_for(url, url, API_TOKENS=API_TOKENS)
    for headers in ({}, {"Authorization": "Bearer swz_wrong"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        response = await client.get("/api/products", headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="stockwiz"'
        assert (await response.json())["type"] == "urn:stockwiz:problem:unauthenticated"
    assert (await client.get("/api/products", headers=READ)).status == 200
    assert (await client.head("/api/products", headers=READ)).status == 200
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/api/products/1", headers=READ, json={})
        assert response.status == 403, method
        assert (await response.json())["type"] == "urn:stockwiz:problem:insufficient-scope"
    assert not any(s["method"] != "GET" and s["method"] != "HEAD" for s in seen)
    assert (await client.post("/api/products", headers=WRITE, json={})).status == 201
    assert (await client.delete("/api/products/1", headers=WRITE)).status == 200
    # The UI, health and operations need no token: the UI asks for one when the API says 401.
    for path in ("/", "/static/app.js", "/livez", "/openapi.json", "/metrics"):
        assert (await client.get(path)).status == 200, path


async def test_rate_limit_answers_429_with_retry_after(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = echo
    client = await gateway_for(
        url, url, API_TOKENS=API_TOKENS, RATE_LIMIT_PER_MINUTE="30", RATE_LIMIT_BURST="3"
    )
    assert [(await client.get("/api/products", headers=READ)).status for _ in range(4)] == [
        200,
        200,
        200,
        429,
    ]
    response = await client.get("/api/products", headers=READ)
    assert response.status == 429 and response.headers["Retry-After"] == "2"
    assert (await response.json())["type"] == "urn:stockwiz:problem:rate-limited"
    # Tokens are limited apart from each other and from anonymous callers (who are limited by address,
    # so guessing tokens is throttled too).
    assert (await client.get("/api/products", headers=WRITE)).status == 200
    statuses = [
        (await client.get("/api/products", headers={"Authorization": "Bearer x"})).status for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    assert (await client.get("/livez")).status == 200  # operations are not limited


async def test_security_headers_on_every_response(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = echo
    client = await gateway_for(url, url, API_TOKENS=API_TOKENS)
    for path in ("/", "/static/app.js", "/api/products", "/api/products/1", "/nope", "/health"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP here
        assert "aiohttp" not in response.headers.get("Server", "")
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_only_for_configured_origins(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = echo
    closed = await gateway_for(url, url)
    response = await closed.options(
        "/api/products", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    response = await closed.get("/api/products", headers={"Origin": "https://shop.example"})
    assert "Access-Control-Allow-Origin" not in response.headers

    client = await gateway_for(url, url, API_TOKENS=API_TOKENS, CORS_ALLOWED_ORIGINS="https://shop.example")
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    response = await client.options("/api/products", headers=preflight)
    assert response.status == 204  # no token needed: browsers send none on a preflight
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    response = await client.get("/api/products", headers={**READ, "Origin": "https://shop.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "X-Total-Count" in response.headers["Access-Control-Expose-Headers"]
    response = await client.get("/api/products", headers={**READ, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    response = await client.options("/api/products", headers={**preflight, "Origin": "https://evil.example"})
    assert response.status != 204 and "Access-Control-Allow-Origin" not in response.headers


async def test_bodies_over_the_limit_are_refused_before_reaching_a_service(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, seen = echo
    client = await gateway_for(url, url, MAX_BODY_BYTES="2048")
    response = await client.post(
        "/api/products", data=b"x" * 4096, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413 and response.content_type == "application/problem+json"

    async def chunks() -> Any:
        for _ in range(8):
            yield b"y" * 1024

    response = await client.post("/api/products", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert seen == []
    assert (await client.post("/api/products", json={"name": "ok"})).status == 201


async def test_large_answers_stream_through(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = echo
    client = await gateway_for(url, url)
    response = await client.get("/api/products/big")
    assert response.status == 200
    body = await response.json()
    assert len(body) == 20_001 and body[-1] == "end"


async def test_paths_that_could_escape_the_service_prefix_are_refused(
    gateway_for: Build, echo: tuple[str, list[dict[str, Any]]]
) -> None:
    url, seen = echo
    client = await gateway_for(url, url)
    for path in (
        "/api/products/../metrics",
        "/api/products/%2e%2e/metrics",
        "/api/inventory/..%2fmetrics",
        "/api/products/.%2E/x",
        "/api/productsX",
        "/api/other",
    ):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 404, path
    assert seen == []
    assert (await client.get("/api/products/search?q=a%2Fb")).status == 200  # encoded text in a query is fine


async def test_ui_files_are_cached_with_etags(gateway_for: Build, no_listener: str) -> None:
    client = await gateway_for(no_listener, no_listener)
    page = await client.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert '<script src="/static/app.js" defer></script>' in html
    assert "<script>" not in html and " style=" not in html and "onclick" not in html  # nothing inline
    for name in ("app.js", "style.css", "favicon.svg"):
        first = await client.get(f"/static/{name}")
        assert first.status == 200 and first.headers["Cache-Control"] == "no-cache"
        etag = first.headers["ETag"]
        again = await client.get(f"/static/{name}", headers={"If-None-Match": etag})
        assert again.status == 304 and await again.read() == b""
    assert (await client.get("/static/missing.js")).status == 404
    assert (await client.get("/static/..%2fapp.py")).status == 404


async def test_the_ui_renders_api_data_as_text_only(gateway_for: Build, no_listener: str) -> None:
    client = await gateway_for(no_listener, no_listener)
    script = await (await client.get("/static/app.js")).text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


HOSTILE_HEADERS = {
    "Set-Cookie": "session=planted; Path=/",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Credentials": "true",
    "Strict-Transport-Security": "max-age=0",
    "Content-Security-Policy": "default-src *",
    "X-Frame-Options": "ALLOWALL",
    "Cache-Control": "public, max-age=31536000",
    "Server": "upstream/1.0",
    "X-Powered-By": "upstream",
    "Refresh": "0; url=https://evil.example",
}
USEFUL_HEADERS = {"ETag": '"7"', "X-Total-Count": "1", "Idempotent-Replayed": "true", "Retry-After": "3"}


def hostile_app() -> web.Application:
    """A service answering with headers that would change the browser's policy for the gateway's origin."""

    async def answer(request: web.Request) -> web.Response:
        path = request.path
        status = 200
        body: object = {}
        if path == "/products":
            body = [{"id": 1, "name": "x"}]
        elif path in ("/products/1", "/inventory/product-view/1"):
            body = {"id": 1, "name": "x"}
        elif path in ("/products/2", "/inventory/product-view/2"):
            status, body = 404, {"status": 404}
        return web.json_response(body, status=status, headers={**HOSTILE_HEADERS, **USEFUL_HEADERS})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


async def test_only_allow_listed_upstream_headers_reach_the_client(
    gateway_for: Build, fake_upstream: Start
) -> None:
    url = await fake_upstream(hostile_app())
    client = await gateway_for(url, url, API_TOKENS=API_TOKENS)
    cases = [
        ("GET", "/api/products"),  # proxied
        ("GET", "/api/inventory/5"),  # proxied
        ("POST", "/api/inventory"),  # proxied write
        ("GET", "/api/products/1"),  # composed
        ("GET", "/api/products/2"),  # composed, the service's own 404
        ("GET", "/api/products-full"),  # composed list
    ]
    for method, path in cases:
        response = await client.request(method, path, headers=WRITE, json={} if method == "POST" else None)
        assert response.status in (200, 404), (method, path, response.status)
        for name in ("Set-Cookie", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"):
            assert name not in response.headers, (path, name)
        for name in ("Strict-Transport-Security", "Cache-Control", "X-Powered-By", "Refresh"):
            assert name not in response.headers, (path, name)
        # The gateway's own policy, not the service's.
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'"), path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Server"] == "stockwiz", path
        if path not in ("/api/products/1", "/api/products-full"):
            # Answers passed through keep what a client needs (the composed 200s carry their own).
            assert response.headers["Retry-After"] == "3", path
        assert response.headers.get("ETag", '"7"') == '"7"'
