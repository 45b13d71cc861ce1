"""The handler against the real StockWiz services (products, inventory, gateway as processes on SQLite with
the demo data), AWS through moto: the issue's scenarios on real low-stock data."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lowstock import handler as lowstock_handler
from lowstock.gateway import ApiError
from tests.lowstock.conftest import TOKEN, AwsWorld, new_context
from tests.support.processes import ServiceProcess, start_service
from tools import lambda_invoke

pytestmark = pytest.mark.slow

WRITE_TOKEN = "write-token-for-the-test"


@dataclass
class Services:
    products: ServiceProcess
    inventory: ServiceProcess
    gateway: ServiceProcess

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.gateway.url}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def record_with_quantity(self, quantity: int) -> dict[str, Any]:
        records: list[dict[str, Any]] = self.call("GET", "/api/inventory?limit=100")
        [found] = [r for r in records if r["quantity"] == quantity]
        return found


def _tokens() -> str:
    return json.dumps(
        [
            {"name": "lowstock", "scope": "read", "sha256": hashlib.sha256(TOKEN.encode()).hexdigest()},
            {"name": "test", "scope": "write", "sha256": hashlib.sha256(WRITE_TOKEN.encode()).hexdigest()},
        ]
    )


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "SEED_DEMO_DATA": "true"}
    started: list[ServiceProcess] = []
    try:
        started.append(start_service("products", tmp_path, env=database))
        started.append(start_service("inventory", tmp_path, env=database))
        started.append(
            start_service(
                "gateway",
                tmp_path,
                env={
                    "PRODUCT_SERVICE_URL": started[0].url,
                    "INVENTORY_SERVICE_URL": started[1].url,
                    "API_TOKENS": _tokens(),
                    "UPSTREAM_RETRIES": "0",
                },
            )
        )
        yield Services(*started)
    finally:
        for service in reversed(started):
            service.stop()


@pytest.fixture
def invoke(
    aws: AwsWorld, services: Services, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], dict[str, Any]]:
    for key, value in aws.env(services.gateway.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("time.sleep", lambda _s: None)
    return lambda: lowstock_handler.handler({"source": "test"}, new_context())


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in records]


def test_first_run_notifies_and_a_second_run_without_change_sends_nothing(
    invoke: Callable[[], dict[str, Any]], aws: AwsWorld, services: Services
) -> None:
    seeded_low = services.record_with_quantity(30)  # the demo data's one record at its reorder point

    assert invoke()["status"] == "notified"
    [message] = aws.messages()
    assert ids(message["document"]["became_low"]) == [seeded_low["id"]]
    assert message["document"]["became_low"][0]["product_id"] == seeded_low["product_id"]
    # The alert names the product from the real services' shared database, and links to its page.
    assert {
        k: message["document"]["became_low"][0][k] for k in ("product_name", "sku", "warehouse", "url")
    } == {
        "product_name": "Monitor 4K",
        "sku": "MON-4K",
        "warehouse": "Warehouse B",
        "url": f"{services.gateway.url}/#/product/{seeded_low['product_id']}",
    }
    assert aws.metric("LowStockRecords")["Maximum"] == 1

    assert invoke()["status"] == "unchanged"
    assert aws.messages() == []


def test_a_newly_low_record_notifies_and_a_recovered_one_is_reported_once(
    invoke: Callable[[], dict[str, Any]], aws: AwsWorld, services: Services
) -> None:
    seeded_low = services.record_with_quantity(30)
    invoke()
    aws.messages()

    shipped = services.record_with_quantity(50)
    services.call("POST", f"/api/inventory/{shipped['id']}/adjust", {"delta": -25, "reason": "ship"})
    assert invoke()["became_low"] == [shipped["id"]]
    [message] = aws.messages()
    assert [(r["id"], r["quantity"]) for r in message["document"]["became_low"]] == [(shipped["id"], 25)]
    assert message["document"]["low_total"] == 2

    services.call("PUT", f"/api/inventory/{seeded_low['id']}", {"quantity": 200})
    assert invoke()["recovered"] == [seeded_low["id"]]
    [message] = aws.messages()
    assert ids(message["document"]["recovered"]) == [seeded_low["id"]]
    assert message["document"]["became_low"] == []

    assert invoke()["status"] == "unchanged"
    assert aws.messages() == []


def test_out_of_stock_is_counted(
    invoke: Callable[[], dict[str, Any]], aws: AwsWorld, services: Services
) -> None:
    record = services.record_with_quantity(75)
    services.call("PUT", f"/api/inventory/{record['id']}", {"quantity": 0})

    invoke()

    [message] = aws.messages()
    assert message["document"]["out_of_stock_total"] == 1
    assert aws.metric("OutOfStockRecords")["Maximum"] == 1


@pytest.mark.parametrize("stopped", ["gateway", "inventory"])
def test_api_down_fails_the_invocation_and_publishes_nothing(
    invoke: Callable[[], dict[str, Any]], aws: AwsWorld, services: Services, stopped: str
) -> None:
    invoke()
    aws.messages()
    state = aws.state()
    # Restock the low record, then take the API away: a false "recovered" would be the worst answer.
    services.call("PUT", f"/api/inventory/{services.record_with_quantity(30)['id']}", {"quantity": 500})
    getattr(services, stopped).stop()

    with pytest.raises(ApiError):
        invoke()

    assert aws.messages() == []
    assert aws.state() == state
    assert aws.metric("LowStockRecords")["SampleCount"] == 1
    assert aws.metric("ApiSuccess")["Minimum"] == 0
    assert aws.lock()["holder"] is None


def test_make_lambda_invoke_prints_what_it_would_send(services: Services, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    argv = ["--api-url", services.gateway.url, "--token", TOKEN, "--state", str(state)]

    first = io.StringIO()
    assert lambda_invoke.main(argv, first) == 0
    output = first.getvalue()
    assert "=== SNS notification (would publish to stockwiz-alerts-local) ===" in output
    assert "Subject: StockWiz local: low stock, 1 record low" in output
    line = "  - Monitor 4K (SKU MON-4K) in Warehouse B: quantity 30, reorder point 30: "
    assert f"{line}{services.gateway.url}/#/product/" in output
    assert "LowStockRecords" in output and "[Stack=local]" in output

    second = io.StringIO()
    assert lambda_invoke.main(argv, second) == 0
    assert "would publish" not in second.getvalue()
    assert "=== no SNS notification" in second.getvalue()

    reset = io.StringIO()
    assert lambda_invoke.main([*argv, "--reset"], reset) == 0
    assert "would publish" in reset.getvalue()


def test_make_lambda_invoke_fails_without_a_valid_token(services: Services, tmp_path: Path) -> None:
    out = io.StringIO()
    argv = ["--api-url", services.gateway.url, "--token", "wrong", "--state", str(tmp_path / "s.json")]
    assert lambda_invoke.main(argv, out) == 1
    assert "the invocation fails" in out.getvalue()
    assert "would publish" not in out.getvalue()
