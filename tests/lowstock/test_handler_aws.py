"""The handler end to end: real HTTP to a fake gateway, AWS through moto."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from lowstock import handler as lowstock_handler
from lowstock import logs as lowstock_logs
from lowstock.gateway import ApiError
from tests.lowstock.conftest import LOCK, STATE, AwsWorld, new_context
from tests.lowstock.fakes import FakeGateway, record

pytestmark = pytest.mark.slow  # the handler against moto's AWS, a second or more per test

Invoke = Callable[..., dict[str, Any]]


def test_first_run_announces_every_low_record(invoke: Invoke, aws: AwsWorld, gateway: FakeGateway) -> None:
    result = invoke()

    assert result["status"] == "notified"
    assert result["became_low"] == [4]
    [message] = aws.messages()
    assert message["subject"] == "StockWiz test: low stock, 1 record low"
    assert message["attributes"] == {"source": "stockwiz-lowstock", "stack": "test"}
    doc = message["document"]
    assert doc["type"] == "stockwiz.lowstock.changed"
    assert doc["became_low"] == [
        {
            "id": 4,
            "product_id": 4,
            "warehouse": "Warehouse A",
            "quantity": 30,
            "reorder_point": 30,
            "product_name": "Product 4",
            "sku": "SKU-4",
            "url": f"{gateway.url}/#/product/4",
        }
    ]

    assert doc["recovered"] == []
    assert (doc["low_total"], doc["out_of_stock_total"]) == (1, 0)
    assert aws.state() == {"schema": 1, "low": [[4, 4, "Warehouse A"]]}
    assert aws.metric("LowStockRecords") == {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}
    assert aws.metric("OutOfStockRecords")["Sum"] == 0
    assert aws.metric("NewlyLowRecords")["Sum"] == 1
    assert aws.metric("ApiSuccess") == {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}
    assert aws.metric("ApiLatency")["SampleCount"] == 1
    assert aws.lock()["holder"] is None


def test_second_run_without_change_sends_nothing(invoke: Invoke, aws: AwsWorld) -> None:
    invoke()
    aws.messages()
    version_before = aws.ssm.get_parameter(Name=STATE)["Parameter"]["Version"]

    result = invoke()

    assert result["status"] == "unchanged"
    assert aws.messages() == []
    # Nothing changed, so the state is not even rewritten.
    assert aws.ssm.get_parameter(Name=STATE)["Parameter"]["Version"] == version_before
    # The metrics still go out every run: the dashboard shows a flat line, not a gap.
    assert aws.metric("LowStockRecords")["SampleCount"] == 2


def test_newly_low_record_is_announced_alone(invoke: Invoke, aws: AwsWorld, gateway: FakeGateway) -> None:
    invoke()
    aws.messages()
    gateway.set_quantity(1, 0)  # sold out

    result = invoke()

    assert result["became_low"] == [1]
    [message] = aws.messages()
    assert [r["id"] for r in message["document"]["became_low"]] == [1]
    assert message["document"]["out_of_stock_total"] == 1
    assert message["document"]["low_total"] == 2
    assert aws.state()["low"] == [[1, 1, "Warehouse A"], [4, 4, "Warehouse A"]]


def test_recovered_record_is_reported_once(invoke: Invoke, aws: AwsWorld, gateway: FakeGateway) -> None:
    invoke()
    aws.messages()
    gateway.set_quantity(4, 200)  # restocked

    result = invoke()

    assert result["recovered"] == [4]
    [message] = aws.messages()
    assert message["subject"] == "StockWiz test: low stock, 1 recovered"
    assert message["document"]["recovered"] == [{"id": 4, "product_id": 4, "warehouse": "Warehouse A"}]
    assert message["document"]["low_total"] == 0
    assert aws.state()["low"] == []

    assert invoke()["status"] == "unchanged"
    assert aws.messages() == []


def test_unreachable_api_fails_and_publishes_nothing(
    invoke: Invoke, aws: AwsWorld, gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke()
    aws.messages()
    state_before = aws.state()
    gateway.set_quantity(4, 200)
    monkeypatch.setattr("time.sleep", lambda _s: None)
    monkeypatch.setenv("STOCKWIZ_API_URL", "http://127.0.0.1:9")  # nothing listens on the discard port

    with pytest.raises(ApiError, match="failed after 3 attempts"):
        invoke()

    assert aws.messages() == []
    assert aws.state() == state_before
    # The failure is visible as data, but no low-stock count is invented: one LowStockRecords sample only.
    assert aws.metric("ApiSuccess") == {"SampleCount": 2, "Sum": 1, "Minimum": 0, "Maximum": 1}
    assert aws.metric("LowStockRecords")["SampleCount"] == 1
    assert aws.lock()["holder"] is None


@pytest.mark.parametrize(
    ("status", "body", "match"),
    [
        (500, None, "answered 500"),
        (503, None, "failed after 3 attempts"),
        (200, b'{"not": "a list"}', "expected a JSON array"),
        (200, b'[{"id": 1}]', "invalid low-stock record"),
        (200, b"<html>", "invalid JSON"),
    ],
)
def test_failing_api_fails_the_invocation(
    invoke: Invoke,
    aws: AwsWorld,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: bytes | None,
    match: str,
) -> None:
    monkeypatch.setattr("time.sleep", lambda _s: None)
    gateway.status, gateway.body_override = status, body

    with pytest.raises(ApiError, match=match):
        invoke()

    assert aws.messages() == []
    assert aws.state()["low"] == []
    assert aws.metric("LowStockRecords")["SampleCount"] == 0


def test_wrong_token_fails_after_one_refresh(invoke: Invoke, aws: AwsWorld, gateway: FakeGateway) -> None:
    gateway.token = "a-different-token"

    with pytest.raises(ApiError, match="refused with 401"):
        invoke()

    assert aws.messages() == []
    # One request with the cached token, one after fetching the secret again.
    assert len(gateway.requests) == 2


def test_token_is_cached_across_warm_invocations_and_refreshed_on_rotation(
    invoke: Invoke, aws: AwsWorld, gateway: FakeGateway
) -> None:
    invoke()
    aws.secrets.put_secret_value(SecretId=aws.secret_arn, SecretString="rotated-token")

    invoke()  # warm: still the cached token, which the gateway still accepts
    assert {r["authorization"] for r in gateway.requests} == {"Bearer read-only-token-1"}

    gateway.token = "rotated-token"
    invoke()  # 401 with the cached token, then the fresh secret value
    assert [r["authorization"] for r in gateway.requests][-2:] == [
        "Bearer read-only-token-1",
        "Bearer rotated-token",
    ]


def test_requests_carry_the_invocation_id(invoke: Invoke, gateway: FakeGateway) -> None:
    invoke()
    [request] = gateway.requests
    assert request["x-request-id"]
    assert request["user-agent"].startswith("stockwiz-lowstock/")
    assert request["path"] == "/api/inventory/low-stock?limit=1000&offset=0"


def test_all_pages_are_read(
    invoke: Invoke, aws: AwsWorld, gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGE_SIZE", "2")
    gateway.records = [record(i, 5) for i in range(1, 8)]

    result = invoke()

    assert result["became_low"] == [1, 2, 3, 4, 5, 6, 7]
    # Several pages are read twice: only two agreeing passes rule out records skipped by shifting offsets.
    assert [r["path"].rsplit("offset=", 1)[1] for r in gateway.requests] == ["0", "2", "4", "6"] * 2
    assert len(aws.state()["low"]) == 7


def test_a_listing_that_changes_while_paged_is_read_again(
    invoke: Invoke, aws: AwsWorld, gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGE_SIZE", "2")
    gateway.records = [record(i, 5) for i in range(1, 6)]
    changed = False

    def restock_first_record_once(offset: int) -> None:
        # Between page 1 and page 2 a record leaves the list: offsets shift and record 3 would be skipped.
        nonlocal changed
        if offset == 2 and not changed:
            changed = True
            gateway.set_quantity(1, 500)

    gateway.before_page = restock_first_record_once

    result = invoke()

    # A naive reader would have missed record 3 and later announced it as recovered.
    assert result["became_low"] == [2, 3, 4, 5]


def test_next_link_to_another_origin_is_refused(invoke: Invoke, aws: AwsWorld, gateway: FakeGateway) -> None:
    gateway.next_link_override = '<http://attacker.invalid/steal>; rel="next"'

    with pytest.raises(ApiError, match="another origin"):
        invoke()

    assert aws.messages() == []


def test_logs_are_json_lines(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    configure = lowstock_logs.configure
    monkeypatch.setattr(lowstock_logs, "configure", lambda level: configure(level, stream))

    invoke()

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [entry["message"] for entry in lines] == ["low-stock check started", "low-stock check finished"]
    assert all(entry["request_id"] and entry["level"] == "INFO" for entry in lines)
    assert lines[-1]["became_low"] == [4]


def test_missing_configuration_fails_clearly(aws: AwsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOCKWIZ_API_URL", raising=False)
    with pytest.raises(lowstock_handler.ConfigError, match="STOCKWIZ_API_URL"):
        lowstock_handler.handler({}, new_context())


def test_lease_held_by_a_live_run_skips_without_side_effects(invoke: Invoke, aws: AwsWorld) -> None:
    aws.ssm.put_parameter(
        Name=LOCK,
        Value=json.dumps({"holder": "other", "expires_at": 4_102_444_800}),
        Type="String",
        Overwrite=True,
    )

    result = invoke()

    assert result["status"] == "skipped"
    assert aws.messages() == []
    assert aws.metric("LowStockRecords")["SampleCount"] == 0
    assert aws.lock()["holder"] == "other"


def test_expired_lease_of_a_crashed_run_is_taken_over(invoke: Invoke, aws: AwsWorld) -> None:
    aws.ssm.put_parameter(
        Name=LOCK, Value=json.dumps({"holder": "crashed", "expires_at": 1.0}), Type="String", Overwrite=True
    )

    assert invoke()["status"] == "notified"
    assert aws.lock()["holder"] is None
