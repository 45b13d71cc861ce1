"""What an alert says, and that it always fits in one SNS message."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lowstock.alert import MAX_LISTED, SUBJECT_LIMIT, render
from lowstock.aws import SNS_MESSAGE_BYTES, SnsNotifier, sns_message
from lowstock.gateway import next_link
from lowstock.records import AnnouncedRecord, AnnouncedState, LowRecord, diff
from tests.lowstock.conftest import AwsWorld

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def low(record_id: int, quantity: int = 5, warehouse: str = "Warehouse A") -> LowRecord:
    return LowRecord(
        record_id, 100 + record_id, warehouse, quantity, 30, f"Widget {record_id}", f"W-{record_id}"
    )


def test_alert_text_names_each_record_and_the_totals() -> None:
    previous = AnnouncedState(
        low={9: AnnouncedRecord(9, 109, "Warehouse B"), 10: AnnouncedRecord(10, None, None)}
    )
    # An inventory service older than the product names (or a product without a SKU) still reads well.
    nameless = LowRecord(3, 103, "Warehouse C", 1, 30)
    no_sku = LowRecord(4, 104, "Warehouse C", 2, 30, "Cable", None)
    changes = diff(previous, [low(1), low(2, quantity=0), nameless, no_sku])

    alert = render(
        changes,
        stack="prod",
        generated_at=AT,
        source_url="https://shop.example/api/inventory/low-stock",
        app_url="https://shop.example/",
    )

    assert alert.subject == "StockWiz prod: low stock, 4 records low, 2 recovered"
    assert alert.text.splitlines() == [
        "StockWiz low-stock report for stack 'prod' at 2026-03-01T09:30:00+00:00",
        "",
        "Fell to or below the reorder point (4):",
        "  - Widget 1 (SKU W-1) in Warehouse A: quantity 5, reorder point 30: https://shop.example/#/product/101",
        "  - Widget 2 (SKU W-2) in Warehouse A: OUT OF STOCK, reorder point 30: https://shop.example/#/product/102",
        "  - product 103 in Warehouse C: quantity 1, reorder point 30: https://shop.example/#/product/103",
        "  - Cable in Warehouse C: quantity 2, reorder point 30: https://shop.example/#/product/104",
        "",
        "Recovered (no longer low) (2):",
        "  - product 109 in Warehouse B: https://shop.example/#/product/109",
        "  - stock record 10",
        "",
        "Now low in total: 4 record(s), 1 of them out of stock.",
        "Source: https://shop.example/api/inventory/low-stock",
        "Records that stay low are not announced again; a record is announced once when it recovers.",
    ]
    assert alert.document["recovered"] == [
        {"id": 9, "product_id": 109, "warehouse": "Warehouse B"},
        {"id": 10, "product_id": None, "warehouse": None},
    ]
    assert alert.document["became_low"][0] == {
        "id": 1,
        "product_id": 101,
        "warehouse": "Warehouse A",
        "quantity": 5,
        "reorder_point": 30,
        "product_name": "Widget 1",
        "sku": "W-1",
        "url": "https://shop.example/#/product/101",
    }
    assert (alert.document["low_total"], alert.document["out_of_stock_total"]) == (4, 1)


def test_subject_is_short_ascii_even_for_odd_stack_names() -> None:
    changes = diff(AnnouncedState.empty(), [low(1)])
    alert = render(
        changes, stack="très-long-" * 20, generated_at=AT, source_url="x", app_url="https://shop.example"
    )
    assert len(alert.subject) <= SUBJECT_LIMIT
    alert.subject.encode("ascii")


def test_long_lists_are_truncated_but_counted() -> None:
    changes = diff(AnnouncedState.empty(), [low(i) for i in range(1, MAX_LISTED + 6)])
    alert = render(changes, stack="dev", generated_at=AT, source_url="x", app_url="https://shop.example")
    assert "  ... and 5 more" in alert.text
    assert len(alert.document["became_low"]) == MAX_LISTED
    assert alert.document["became_low_total"] == MAX_LISTED + 5
    assert alert.document["truncated"] is True


def test_a_huge_change_still_fits_one_sns_message(aws: AwsWorld) -> None:
    # Longest warehouse names the inventory service accepts (100 characters), in a multi-byte script.
    warehouse = "倉庫" * 50
    changes = diff(AnnouncedState.empty(), [low(i, warehouse=warehouse) for i in range(1, 3000)])
    alert = render(changes, stack="dev", generated_at=AT, source_url="x", app_url="https://shop.example")
    assert len(sns_message(alert).encode()) > SNS_MESSAGE_BYTES

    SnsNotifier(aws.sns, aws.topic_arn, stack="dev").publish(alert)

    [message] = aws.messages()
    assert message["document"]["became_low_total"] == 2999
    assert message["document"]["truncated"] is True
    assert 0 < len(message["document"]["became_low"]) < MAX_LISTED


def test_sns_message_gives_people_text_and_programs_json() -> None:
    alert = render(
        diff(AnnouncedState.empty(), [low(1)]),
        stack="dev",
        generated_at=AT,
        source_url="x",
        app_url="https://shop.example",
    )
    message = json.loads(sns_message(alert))
    assert message["default"] == message["email"] == alert.text
    assert {message[k] for k in ("sqs", "lambda", "http", "https")} == {alert.document_json()}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        (
            '</api/inventory/low-stock?limit=2&offset=2>; rel="next"',
            "/api/inventory/low-stock?limit=2&offset=2",
        ),
        ('<https://a/x?o=0>; rel="prev", <https://a/x?o=4>; rel="next"', "https://a/x?o=4"),
        ("<https://a/x?o=4>; rel=next", "https://a/x?o=4"),
        ('<https://a/x?o=4>; rel="last next"', "https://a/x?o=4"),
        ('<https://a/x?o=0>; rel="prev"', None),
    ],
)
def test_next_link_is_read_from_an_rfc8288_header(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected
