"""The notification a run sends: a readable text for people and a JSON document for programs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lowstock.records import AnnouncedRecord, Changes, LowRecord

# SNS messages are limited to 256 KB; listing at most this many records per section keeps far below it,
# while the totals always count everything.
MAX_LISTED = 200
SUBJECT_LIMIT = 100
EVENT_TYPE = "stockwiz.lowstock.changed"


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    text: str
    document: dict[str, Any]

    def document_json(self) -> str:
        return json.dumps(self.document, separators=(",", ":"), ensure_ascii=False)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _low_line(r: LowRecord) -> str:
    state = "OUT OF STOCK" if r.out_of_stock else f"quantity {r.quantity}"
    return (
        f"  - record {r.id}: product {r.product_id} in {r.warehouse}: {state} "
        f"(reorder point {r.reorder_point})"
    )


def _recovered_line(r: AnnouncedRecord) -> str:
    if r.product_id is None:
        return f"  - record {r.id}"
    return f"  - record {r.id}: product {r.product_id} in {r.warehouse}"


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


def render(changes: Changes, *, stack: str, generated_at: datetime, source_url: str) -> Alert:
    lines = [f"StockWiz low-stock report for stack {stack!r} at {generated_at.isoformat()}", ""]
    sections: list[tuple[str, list[str], int]] = [
        (
            "Fell to or below the reorder point",
            [_low_line(r) for r in changes.became_low],
            len(changes.became_low),
        ),
        (
            "Recovered (no longer low)",
            [_recovered_line(r) for r in changes.recovered],
            len(changes.recovered),
        ),
    ]
    for title, body, count in sections:
        if not count:
            continue
        lines.append(f"{title} ({count}):")
        lines.extend(body[:MAX_LISTED])
        if count > MAX_LISTED:
            lines.append(f"  ... and {count - MAX_LISTED} more")
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
        "became_low": [r.as_dict() for r in changes.became_low[:MAX_LISTED]],
        "recovered": [r.as_dict() for r in changes.recovered[:MAX_LISTED]],
        "became_low_total": len(changes.became_low),
        "recovered_total": len(changes.recovered),
        "low_total": len(changes.current),
        "out_of_stock_total": changes.out_of_stock,
        "truncated": len(changes.became_low) > MAX_LISTED or len(changes.recovered) > MAX_LISTED,
    }
    return Alert(subject=_subject(stack, changes), text="\n".join(lines) + "\n", document=document)
