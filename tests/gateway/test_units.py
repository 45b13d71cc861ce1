"""The gateway's building blocks on their own: breaker, rate limiter, forwarding, tokens, retry policy,
header filtering, OpenAPI merging and configuration."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import subprocess
import sys

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import create_app
from gateway.breaker import CircuitBreaker, CircuitOpenError, State
from gateway.composition import _summary_paths
from gateway.config import GatewayConfig
from gateway.forwarding import ForwardingPolicy
from gateway.openapi import merge_service_document, openapi_document
from gateway.proxy import client_response_headers
from gateway.ratelimit import RateLimiter
from gateway.retry import RetryPolicy, is_retryable_error
from gateway.tokens import Principal, TokenStore, hash_token, main, new_token
from stockwiz_runtime.config import ConfigError, load_config
from tests.gateway.conftest import API_TOKENS, READ_TOKEN, WRITE_TOKEN


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state_of(breaker: CircuitBreaker) -> State:
    """The breaker's state now: read through a call, so that mypy does not carry one assertion's narrowing
    of the attribute over the calls that change it."""
    return breaker.state


def test_breaker_opens_after_threshold_then_half_opens_and_closes() -> None:
    clock = Clock()
    changes: list[State] = []
    breaker = CircuitBreaker(3, 10.0, clock=clock, on_change=changes.append)
    for _ in range(2):
        breaker.before_request()
        breaker.record_failure()
    assert state_of(breaker) is State.CLOSED
    breaker.before_request()
    breaker.record_failure()
    assert state_of(breaker) is State.OPEN
    with pytest.raises(CircuitOpenError) as refused:
        breaker.before_request()
    assert refused.value.retry_after_seconds == 10
    clock.now += 4
    with pytest.raises(CircuitOpenError) as refused:
        breaker.before_request()
    assert refused.value.retry_after_seconds == 6
    clock.now += 6
    assert state_of(breaker) is State.HALF_OPEN
    breaker.before_request()  # the one probe
    with pytest.raises(CircuitOpenError):
        breaker.before_request()  # a second caller waits for the probe
    breaker.record_success()
    assert state_of(breaker) is State.CLOSED
    breaker.before_request()
    assert changes == [State.OPEN, State.HALF_OPEN, State.CLOSED]


def test_breaker_failed_probe_reopens_and_success_resets_the_count() -> None:
    clock = Clock()
    breaker = CircuitBreaker(2, 5.0, clock=clock)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state_of(breaker) is State.CLOSED  # failures must be consecutive
    breaker.record_failure()
    assert state_of(breaker) is State.OPEN
    clock.now += 5
    breaker.before_request()
    breaker.record_failure()
    assert state_of(breaker) is State.OPEN
    clock.now += 4.9
    with pytest.raises(CircuitOpenError):
        breaker.before_request()
    clock.now += 0.1
    breaker.before_request()
    breaker.release()  # a probe abandoned by its client lets the next one through
    breaker.before_request()


def test_rate_limiter_allows_burst_then_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 3, clock=clock)
    assert [limiter.check("a").allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.check("a").retry_after == 1
    assert limiter.check("b").allowed  # another client has its own bucket
    clock.now += 0.5
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed


def test_rate_limiter_disabled_and_bounded() -> None:
    assert all(RateLimiter(0, 1).check("a").allowed for _ in range(100))
    clock = Clock()
    limiter = RateLimiter(1.0, 1, max_keys=2, clock=clock)
    assert limiter.check("a").allowed and limiter.check("b").allowed
    assert limiter.check("c").allowed  # evicts "a", the least recently seen
    assert len(limiter._buckets) == 2
    assert limiter.check("a").allowed  # forgotten, so a fresh bucket


def headers(**values: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in values.items()}))


def test_forwarded_headers_from_untrusted_peers_are_ignored() -> None:
    policy = ForwardingPolicy([ipaddress.ip_network("10.0.0.0/16")])
    spoofed = headers(X_Forwarded_For="1.2.3.4", X_Forwarded_Proto="https", X_Forwarded_Host="evil")
    result = policy.resolve("203.0.113.9", spoofed, "http", "gw")
    assert (result.client, result.chain, result.proto, result.host) == (
        "203.0.113.9",
        "203.0.113.9",
        "http",
        "gw",
    )
    # No trusted proxies configured: the same.
    assert ForwardingPolicy([]).resolve("10.0.0.5", spoofed, "http", "gw").client == "10.0.0.5"


def test_forwarded_headers_from_the_load_balancer_are_believed_up_to_the_first_untrusted_hop() -> None:
    policy = ForwardingPolicy([ipaddress.ip_network("10.0.0.0/16")])
    sent = headers(
        X_Forwarded_For="6.6.6.6, 198.51.100.7, 10.0.1.1",
        X_Forwarded_Proto="https",
        X_Forwarded_Host="shop.example",
    )
    result = policy.resolve("10.0.0.5", sent, "http", "internal")
    assert result.client == "198.51.100.7"  # 6.6.6.6 was written by the client itself
    assert result.chain == "6.6.6.6, 198.51.100.7, 10.0.1.1, 10.0.0.5"
    assert (result.proto, result.host) == ("https", "shop.example")
    garbage = policy.resolve(
        "10.0.0.5", headers(X_Forwarded_For="not-an-ip", X_Forwarded_Proto="gopher"), "http", "h"
    )
    assert (garbage.client, garbage.proto) == ("10.0.0.5", "http")


def test_token_store_identifies_by_hash_and_scope_limits_methods() -> None:
    config = load_config(GatewayConfig, {"API_TOKENS": API_TOKENS})
    store = TokenStore(config.api_tokens)
    assert store.identify(READ_TOKEN) == Principal("reader", "read")
    assert store.identify(WRITE_TOKEN) == Principal("writer", "write")
    assert store.identify("swz_wrong") is None and store.identify("") is None
    reader = Principal("reader", "read")
    assert reader.may("GET") and reader.may("HEAD")
    assert not any(reader.may(m) for m in ("POST", "PUT", "PATCH", "DELETE"))
    assert Principal("w", "write").may("DELETE")


def test_tokens_command_prints_a_working_token_and_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "--scope", "write", "--name", "ci", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    token, entry = printed["token"], printed["api_tokens_entry"]
    assert token.startswith("swz_") and len(token) > 40
    assert entry == {"name": "ci", "scope": "write", "sha256": hash_token(token)}
    config = load_config(GatewayConfig, {"API_TOKENS": json.dumps([entry])})
    assert TokenStore(config.api_tokens).identify(token) == Principal("ci", "write")
    assert new_token() != new_token()


def test_retry_policy_only_for_safe_requests_and_connection_errors() -> None:
    policy = RetryPolicy(retries=2, backoff=0.1)
    assert (
        policy.may_retry("GET", False)
        and policy.may_retry("PUT", False)
        and policy.may_retry("DELETE", False)
    )
    assert not policy.may_retry("POST", False) and not policy.may_retry("PATCH", False)
    assert policy.may_retry("POST", True)
    assert not RetryPolicy(retries=0).may_retry("GET", False)
    assert all(0 <= policy.delay(3) <= 0.4 for _ in range(50))
    assert is_retryable_error(aiohttp.ServerDisconnectedError())
    assert not is_retryable_error(aiohttp.ServerTimeoutError())
    assert not is_retryable_error(TimeoutError())
    assert not is_retryable_error(ValueError())


def test_response_headers_drop_hop_by_hop_and_rewrite_location() -> None:
    upstream = CIMultiDict(
        [
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("Keep-Alive", "timeout=5"),
            ("X-Secret-Hop", "1"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "10"),
            ("Server", "Python/3.11 aiohttp"),
            ("ETag", '"3"'),
            ("Link", '<?limit=1&offset=1>; rel="next"'),
            ("Location", "/products/9"),
            ("X-Total-Count", "4"),
        ]
    )
    result = client_response_headers(upstream)
    assert dict(result) == {
        "ETag": '"3"',
        "Link": '<?limit=1&offset=1>; rel="next"',
        "Location": "/api/products/9",
        "X-Total-Count": "4",
    }


def test_openapi_merge_puts_service_routes_under_api_and_keeps_composed_ones() -> None:
    document = openapi_document()
    composed_get = document["paths"]["/api/products/{id}"]["get"]
    service = {
        "info": {"version": "1.0.0"},
        "paths": {
            "/products/{id}": {"get": {"summary": "plain"}, "put": {"summary": "update", "responses": {}}},
            "/products": {"get": {"summary": "list"}},
            "/livez": {"get": {}},
        },
        "components": {"schemas": {"Product": {"type": "object"}}},
    }
    merge_service_document(document, "products", service)
    paths = document["paths"]
    assert paths["/api/products/{id}"]["get"] is composed_get
    assert paths["/api/products/{id}"]["put"]["security"] == [{"bearerAuth": []}]
    assert "401" in paths["/api/products"]["get"]["responses"]
    assert "/api/livez" not in paths and "/livez" in paths
    assert document["components"]["schemas"]["Product"] == {"type": "object"}
    assert document["x-stockwiz-services"] == {"products": "1.0.0"}


def test_config_parses_lists_and_refuses_bad_values() -> None:
    config = load_config(
        GatewayConfig,
        {
            "API_TOKENS": API_TOKENS,
            "TRUSTED_PROXIES": "10.0.0.0/16, fd00::/8",
            "CORS_ALLOWED_ORIGINS": "https://shop.example/,http://localhost:3000",
            "PRODUCT_SERVICE_URL": "http://products:8001/",
        },
    )
    assert [t.name for t in config.api_tokens] == ["reader", "writer"]
    assert len(config.trusted_proxies) == 2
    assert config.cors_allowed_origins == ["https://shop.example", "http://localhost:3000"]
    assert config.product_service_url == "http://products:8001"
    for env in (
        {"API_TOKENS": "not json"},
        {"API_TOKENS": '[{"name": "a", "scope": "admin", "sha256": "' + "0" * 64 + '"}]'},
        {"TRUSTED_PROXIES": "10.0.0.1/8"},  # host bits set: a typo, not a network
        {"CORS_ALLOWED_ORIGINS": "*"},
        {"PRODUCT_SERVICE_URL": "http://products:8001/api"},
        {"RATE_LIMIT_PER_MINUTE": "-1"},
    ):
        with pytest.raises(ConfigError) as error:
            load_config(GatewayConfig, env)
        assert next(iter(env)) in str(error.value)
    with pytest.raises(ConfigError) as error:
        load_config(GatewayConfig, {"API_TOKENS": "not json"})
    assert "not json" not in str(error.value)  # token settings are never echoed


def test_gateway_refuses_to_serve_open_beyond_loopback(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match="API_TOKENS"):
        create_app(load_config(GatewayConfig, {"HOST": "0.0.0.0"}))
    create_app(load_config(GatewayConfig, {"HOST": "0.0.0.0", "API_TOKENS": API_TOKENS}))
    create_app(load_config(GatewayConfig, {"HOST": "::1"}))
    with caplog.at_level(logging.WARNING):
        create_app(load_config(GatewayConfig, {"HOST": "0.0.0.0", "ALLOW_OPEN": "true"}))
    assert any("ALLOW_OPEN" in record.getMessage() for record in caplog.records)


def test_the_gateway_image_needs_no_database_libraries() -> None:
    code = (
        "import sys, gateway.app; print({'sqlalchemy', 'alembic', 'asyncpg', 'aiosqlite'} & set(sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": "apps"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "set()"


def test_summary_calls_fit_a_request_line_for_any_page_of_64_bit_ids() -> None:
    assert _summary_paths([1, 2, 3]) == ["/inventory/summary?product_ids=1,2,3"]
    ids = list(range(9_223_372_036_854_774_807, 9_223_372_036_854_775_807))  # 1000 ids of 19 digits
    paths = _summary_paths(ids)
    assert len(paths) == 3
    assert all(len(f"GET {path} HTTP/1.1") <= 8190 for path in paths)
    assert [int(i) for path in paths for i in path.partition("=")[2].split(",")] == ids
