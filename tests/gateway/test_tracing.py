"""OpenTelemetry tracing through the real three processes: one composed read is one trace, from the caller's
`traceparent` through the gateway and both services down to the database statements, exported with the
services' real OTLP exporter to a receiver the test runs; every log line of the request carries the trace
id. Sampling follows the configuration, and with tracing off nothing of OpenTelemetry even loads."""

from __future__ import annotations

import ast
import json
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.processes import REPO, ServiceProcess, start_service
from tests.support.warehouses import make_warehouses


@dataclass
class Stack:
    gateway: ServiceProcess
    products: ServiceProcess
    inventory: ServiceProcess

    @property
    def processes(self) -> tuple[ServiceProcess, ...]:
        return (self.gateway, self.products, self.inventory)


def tracing_env(receiver: OtlpReceiver | None, **extra: str) -> dict[str, str]:
    if receiver is None:
        return {"OTEL_TRACES_EXPORTER": "", **extra}
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s instead of 5 s
        **extra,
    }


def start_stack(database_url: str, log_dir: Path, env: dict[str, str]) -> Iterator[Stack]:
    service_env = {"DATABASE_URL": database_url, **env}
    products = start_service("products", log_dir, env=service_env)
    inventory = gateway = None
    try:
        inventory = start_service("inventory", log_dir, env=service_env)
        make_warehouses(inventory.url, ("Warehouse A",))
        gateway = start_service(
            "gateway",
            log_dir,
            env={
                "PRODUCT_SERVICE_URL": products.url,
                "INVENTORY_SERVICE_URL": inventory.url,
                "RATE_LIMIT_PER_MINUTE": "0",
                **env,
            },
        )
        yield Stack(gateway, products, inventory)
    finally:
        for process in (gateway, inventory, products):
            if process is not None:
                assert process.stop() == 0, process.log()[-3000:]


def sqlite_files(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite database URL and a log folder under tmp_path (the tests beyond the trace's shape)."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    return f"sqlite:///{tmp_path / 'stockwiz.db'}", log_dir


def call(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def seed(stack: Stack) -> int:
    product = call(f"{stack.gateway.url}/api/products", "POST", {"name": "Traced lamp", "price": 12.5})
    call(
        f"{stack.gateway.url}/api/inventory",
        "POST",
        {"product_id": product["id"], "warehouse": "Warehouse A", "quantity": 7},
    )
    return int(product["id"])


def traceparent(trace_id: str, parent_id: str, sampled: bool = True) -> str:
    return f"00-{trace_id}-{parent_id}-{'01' if sampled else '00'}"


def log_lines(process: ServiceProcess, request_id: str) -> list[dict[str, Any]]:
    lines = []
    for raw in process.log().splitlines():
        if raw.startswith("{"):
            entry = json.loads(raw)
            if entry.get("request_id") == request_id:
                lines.append(entry)
    return lines


def composed_read(stack: Stack, product_id: int, headers: dict[str, str]) -> None:
    body = call(f"{stack.gateway.url}/api/products/{product_id}", headers=headers)
    assert body["inventory"]["quantity"] == 7


def only(spans: list[ReceivedSpan], **match: str) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(s.service, s.kind, s.name) for s in spans])
    return found[0]


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_span_id == parent.span_id]


@pytest.mark.slow
def test_a_composed_read_is_one_trace_from_caller_to_database(database_url: str, log_dir: Path) -> None:
    with OtlpReceiver() as receiver:
        for stack in start_stack(database_url, log_dir, tracing_env(receiver)):
            product_id = seed(stack)
            trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
            request_id = f"trace-test-{secrets.token_hex(4)}"
            composed_read(
                stack,
                product_id,
                {"traceparent": traceparent(trace_id, caller_span), "X-Request-ID": request_id},
            )
            spans = receiver.wait_for(trace_id, count=4)

            # The gateway continues the caller's trace (the ALB passes traceparent on as it came).
            root = only(spans, service="api-gateway", kind="SERVER")
            assert root.name == "GET /api/products/{id}"
            assert root.parent_span_id == caller_span
            # ... and calls the inventory service's product view (product and stock in one statement), a
            # CLIENT span whose traceparent the service continues.
            calls = [s for s in children(spans, root) if s.kind == "CLIENT"]
            assert len(calls) == 1
            assert not [s for s in spans if s.service == "product-service"]
            inventory_server = only(spans, service="inventory-service", kind="SERVER")
            assert inventory_server.name == "GET /inventory/product-view/{product_id}"
            assert inventory_server.parent_span_id == calls[0].span_id
            assert all(s.attributes.get("http.status_code") == 200 for s in (*calls, root))
            # The service's statement is a span under its request.
            statements = [s for s in children(spans, inventory_server) if s.kind == "CLIENT"]
            assert statements, "no database span under the inventory service"
            dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
            assert all(s.attributes.get("db.system") == dialect for s in statements)
            assert any("SELECT" in str(s.attributes.get("db.statement")) for s in statements)
            # Nothing in the trace hangs loose: every span's parent is in it, or is the caller's.
            ids = {s.span_id for s in spans} | {caller_span}
            assert all(s.parent_span_id in ids for s in spans)

            # Every log line of the request, in both processes that served it, names the trace and its own
            # span; the product service never saw it.
            server_spans = {"api-gateway": root, "inventory-service": inventory_server}
            for process in stack.processes:
                lines = log_lines(process, request_id)
                if process.module == "products":
                    assert lines == []
                    continue
                assert lines, f"no log line of {request_id} in {process.module}"
                for line in lines:
                    assert line["trace_id"] == trace_id, line
                access = [line for line in lines if line["logger"] == "stockwiz.access"]
                assert len(access) == 1
                assert access[0]["span_id"] == server_spans[access[0]["service"]].span_id

            # Probes are not traced (the load balancer's, ECS's and the gateway's own readiness checks).
            before = len(receiver.spans)
            for process in stack.processes:
                for path in ("/livez", "/readyz", "/metrics"):
                    urllib.request.urlopen(f"{process.url}{path}", timeout=5).close()
            assert receiver.wait_for("none", 1, timeout=1.0) == []
            assert len(receiver.spans) == before


@pytest.mark.slow
def test_ratio_zero_records_nothing_of_its_own_but_follows_a_sampled_caller(tmp_path: Path) -> None:
    database_url, log_dir = sqlite_files(tmp_path)
    with OtlpReceiver() as receiver:
        sampling = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
        env = tracing_env(receiver, **sampling)
        for stack in start_stack(database_url, log_dir, env):
            product_id = seed(stack)
            request_id = "unsampled-read"
            composed_read(stack, product_id, {"X-Request-ID": request_id})
            # A caller that did not sample: parent-based sampling follows its decision too.
            unsampled_trace = secrets.token_hex(16)
            composed_read(stack, product_id, {"traceparent": traceparent(unsampled_trace, "1" * 16, False)})
            sampled_trace = secrets.token_hex(16)
            composed_read(stack, product_id, {"traceparent": traceparent(sampled_trace, "2" * 16, True)})

            spans = receiver.wait_for(sampled_trace, count=4)
            assert {s.service for s in spans} == {"api-gateway", "inventory-service"}
            assert {s.trace_id for s in receiver.spans} == {sampled_trace}
            # Unsampled requests still log their trace id (it is what the services passed on).
            ids = {line.get("trace_id") for p in stack.processes for line in log_lines(p, request_id)}
            assert len(ids) == 1 and None not in ids


@pytest.mark.slow
def test_tracing_off_exports_nothing_and_logs_no_trace_ids(tmp_path: Path) -> None:
    database_url, log_dir = sqlite_files(tmp_path)
    with OtlpReceiver() as receiver:
        env = {**tracing_env(None), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint}
        for stack in start_stack(database_url, log_dir, env):
            product_id = seed(stack)
            trace_id = secrets.token_hex(16)
            headers = {"traceparent": traceparent(trace_id, "3" * 16), "X-Request-ID": "off"}
            composed_read(stack, product_id, headers)
            for process in stack.processes:
                lines = log_lines(process, "off")
                assert not any("trace_id" in line for line in lines)
                assert lines or process.module == "products"  # the composed read does not call it
        assert receiver.requests == 0


OFF_PROBE = """
import sys
from aiohttp import web
original = web.Application
from stockwiz_runtime.config import load_config
from stockwiz_runtime.logs import configure_logging
from stockwiz_runtime.tracing import configure_tracing
from gateway.app import create_app as gateway_app
from gateway.config import GatewayConfig
from products.app import create_app as products_app
from products.config import ProductsConfig
configure_logging("probe")
config = load_config(GatewayConfig, {})
assert configure_tracing(config, "api-gateway") is None
apps = [gateway_app(config), products_app(load_config(ProductsConfig, {}))]
assert web.Application is original
print(sorted({m.split(".")[1] for m in sys.modules if m.startswith("opentelemetry.")}))
print(sorted({getattr(m, "__module__", "?") for a in apps for m in a.middlewares}))
"""


def test_tracing_off_loads_no_opentelemetry_and_adds_no_middleware() -> None:
    """Off by default: the same middlewares as without tracing, the original Application class, and not a
    module of OpenTelemetry imported (so not a line of it runs on a request)."""
    result = subprocess.run(
        [sys.executable, "-c", OFF_PROBE],
        env={"PYTHONPATH": str(REPO / "apps"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    loaded, middlewares = result.stdout.splitlines()[-2:]
    assert loaded == "[]"
    # Only our own middlewares (the runtime's, the gateway's, the product service's read cache), none of
    # OpenTelemetry's.
    modules = ast.literal_eval(middlewares)
    assert modules and all(m.startswith(("stockwiz_runtime.", "gateway.", "products.")) for m in modules), (
        modules
    )
