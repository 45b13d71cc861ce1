"""The notification a run sends: a readable text for people and a JSON document for programs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lowstock.records import AnnouncedRecord, Changes, LowRecord

# Records listed per section; the totals always count everything. The SNS notifier lists fewer when a
# message would exceed SNS's size limit.
MAX_LISTED = 200
SUBJECT_LIMIT = 100
EVENT_TYPE = "stockwiz.lowstock.changed"


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    text: str
    document: dict[str, Any]
    changes: Changes
    stack: str
    generated_at: datetime
    source_url: str
    app_url: str
    max_listed: int

    def document_json(self) -> str:
        return json.dumps(self.document, separators=(",", ":"), ensure_ascii=False)

    def relisted(self, max_listed: int) -> Alert:
        """The same alert listing fewer records per section (the totals still count all of them)."""
        return render(
            self.changes,
            stack=self.stack,
            generated_at=self.generated_at,
            source_url=self.source_url,
            app_url=self.app_url,
            max_listed=max_listed,
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def product_page(app_url: str, product_id: int) -> str:
    """The web UI's page of a product (the gateway serves the UI at its root)."""
    return f"{app_url.rstrip('/')}/#/product/{product_id}"


def _product(r: LowRecord) -> str:
    if r.product_name is None:
        return f"product {r.product_id}"
    return f"{r.product_name} (SKU {r.sku})" if r.sku else r.product_name


def _low_line(r: LowRecord, app_url: str) -> str:
    state = "OUT OF STOCK" if r.out_of_stock else f"quantity {r.quantity}"
    return (
        f"  - {_product(r)} in {r.warehouse}: {state}, reorder point {r.reorder_point}: "
        f"{product_page(app_url, r.product_id)}"
    )


def _recovered_line(r: AnnouncedRecord, app_url: str) -> str:
    if r.product_id is None:
        return f"  - stock record {r.id}"
    return f"  - product {r.product_id} in {r.warehouse}: {product_page(app_url, r.product_id)}"


def _subject(stack: str, changes: Changes) -> str:
    parts = []
    if changes.became_low:
        parts.append(f"{_plural(len(changes.became_low), 'record')} low")
    if changes.recovered:
        parts.append(f"{len(changes.recovered)} recovered")
    subject = f"StockWiz {stack}: low stock, " + ", ".join(parts)
    # SNS subjects must be ASCII without line breaks and under 100 characters.
    subject = subject.encode("ascii", "replace").decode("ascii").replace("\n", " ")
    return subject[:SUBJECT_LIMIT]


def render(
    changes: Changes,
    *,
    stack: str,
    generated_at: datetime,
    source_url: str,
    app_url: str,
    max_listed: int = MAX_LISTED,
) -> Alert:
    lines = [f"StockWiz low-stock report for stack {stack!r} at {generated_at.isoformat()}", ""]
    sections: list[tuple[str, list[str], int]] = [
        (
            "Fell to or below the reorder point",
            [_low_line(r, app_url) for r in changes.became_low],
            len(changes.became_low),
        ),
        (
            "Recovered (no longer low)",
            [_recovered_line(r, app_url) for r in changes.recovered],
            len(changes.recovered),
        ),
    ]
    for title, body, count in sections:
        if not count:
            continue
        lines.append(f"{title} ({count}):")
        lines.extend(body[:max_listed])
        if count > max_listed:
            lines.append(f"  ... and {count - max_listed} more")
        lines.append("")
    lines.append(
        f"Now low in total: {len(changes.current)} record(s), {changes.out_of_stock} of them out of stock."
    )
    lines.append(f"Source: {source_url}")
    lines.append(
        "Records that stay low are not announced again; a record is announced once when it recovers."
    )
    document: dict[str, Any] = {
        "type": EVENT_TYPE,
        "stack": stack,
        "generated_at": generated_at.isoformat(),
        "became_low": [
            {**r.as_dict(), "url": product_page(app_url, r.product_id)}
            for r in changes.became_low[:max_listed]
        ],
        "recovered": [r.as_dict() for r in changes.recovered[:max_listed]],
        "became_low_total": len(changes.became_low),
        "recovered_total": len(changes.recovered),
        "low_total": len(changes.current),
        "out_of_stock_total": changes.out_of_stock,
        "truncated": len(changes.became_low) > max_listed or len(changes.recovered) > max_listed,
    }
    return Alert(
        subject=_subject(stack, changes),
        text="\n".join(lines) + "\n",
        document=document,
        changes=changes,
        stack=stack,
        generated_at=generated_at,
        source_url=source_url,
        app_url=app_url,
        max_listed=max_listed,
    )
