"""A small stand-in for the gateway's low-stock endpoint, speaking real HTTP on 127.0.0.1.

It serves the documented contract (bare JSON array, limit/offset, X-Total-Count, Link rel="next"), so the
function's HTTP client is exercised for real; the tests against the real services live in test_services.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def record(
    record_id: int, quantity: int, reorder_point: int = 30, warehouse: str = "Warehouse A"
) -> dict[str, Any]:
    return {
        "id": record_id,
        "product_id": record_id,
        "warehouse": warehouse,
        "quantity": quantity,
        "reorder_point": reorder_point,
        "last_updated": "2026-01-01T00:00:00+00:00",
        "version": 1,
        # As the low-stock listing names its product (the inventory service joins the product's row).
        "product_name": f"Product {record_id}",
        "sku": f"SKU-{record_id}",
    }


@dataclass
class FakeGateway:
    token: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body_override: bytes | None = None
    next_link_override: str | None = None
    # Called before a page is served, with the offset: lets a test change the data between pages.
    before_page: Callable[[int], None] | None = None
    # Every request seen, as {"path": ..., lower-cased header names: values}.
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def low(self) -> list[dict[str, Any]]:
        return sorted((r for r in self.records if r["quantity"] <= r["reorder_point"]), key=lambda r: r["id"])

    def set_quantity(self, record_id: int, quantity: int) -> None:
        next(r for r in self.records if r["id"] == record_id)["quantity"] = quantity


def _handler_for(gw: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            gw.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            parts = urlsplit(self.path)
            if parts.path != "/api/inventory/low-stock":
                return self._send(404, b'{"title":"not found"}')
            if gw.token is not None and self.headers.get("Authorization") != f"Bearer {gw.token}":
                return self._send(401, b'{"title":"unauthorized"}')
            if gw.status != 200:
                return self._send(gw.status, b'{"title":"failing on purpose"}')
            if gw.body_override is not None:
                return self._send(200, gw.body_override)
            query = parse_qs(parts.query)
            limit = int(query.get("limit", ["100"])[0])
            offset = int(query.get("offset", ["0"])[0])
            if gw.before_page is not None:
                gw.before_page(offset)
            low = gw.low()
            page = low[offset : offset + limit]
            headers = {"X-Total-Count": str(len(low))}
            if gw.next_link_override is not None:
                headers["Link"] = gw.next_link_override
            elif offset + limit < len(low):
                headers["Link"] = (
                    f'</api/inventory/low-stock?limit={limit}&offset={offset + limit}>; rel="next"'
                )
            return self._send(200, json.dumps(page).encode(), headers)

    return Handler


@contextmanager
def serve(gw: FakeGateway) -> Iterator[FakeGateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(gw))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    gw.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield gw
    finally:
        server.shutdown()
        server.server_close()
