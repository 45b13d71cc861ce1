"""JSON-lines logging to stdout, which Lambda forwards to the function's log group line by line."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

_request_id: str | None = None


def set_request_id(request_id: str | None) -> None:
    # A Lambda execution environment runs one invocation at a time, so a module global is enough.
    global _request_id
    _request_id = request_id


def current_request_id() -> str | None:
    return _request_id


def current_trace_id() -> str | None:
    """The invocation's trace id in the services' form (32 hex digits), from the X-Ray header Lambda sets
    for each invocation when active tracing is on (`Root=1-5759e988-bd862e3fe1be46a994272793;...`): the
    X-Ray id `1-<8 hex>-<24 hex>` without its version and dashes. None without tracing."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "Root":
            pieces = value.strip().split("-")
            if len(pieces) == 3 and pieces[0] == "1" and len(pieces[1]) == 8 and len(pieces[2]) == 24:
                return pieces[1] + pieces[2]
    return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if _request_id:
            entry["request_id"] = _request_id
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Own the `lowstock` logger so the runtime's plain-text root handler never repeats our lines."""
    logger = logging.getLogger("lowstock")
    logger.setLevel(level.upper())
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
