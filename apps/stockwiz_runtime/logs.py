"""JSON logs to stdout, one object per line, with the current request id attached."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

from stockwiz_runtime import tracing
from stockwiz_runtime.request_context import current_request_id

# Defence in depth: no code logs credentials on purpose, but a library quoting a request (aiohttp's parser
# errors did) must not put a token or cookie in the logs either. Anything after these header names, and any
# bearer token, is replaced before the line is written.
_CREDENTIALS = re.compile(
    r"(?i)((?:proxy-)?authorization|(?:set-)?cookie|x-api-key)(\s*[:=]\s*)[^\r\n'\"\\]*"
    r"|\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"
)


def redact(text: str) -> str:
    if not _CREDENTIALS.search(text):
        return text
    return _CREDENTIALS.sub(lambda m: f"{m[1]}{m[2]}[redacted]" if m[1] else f"{m[3]}{m[4]}[redacted]", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        if tracing.enabled:
            tracing.add_trace_ids(entry)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return orjson.dumps(entry, default=str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    # Our JSON lines carry none of the caller's file and line, thread or process: skip collecting them for
    # every record (the logging HOWTO's "Optimization" section). Each request logs one line, so the frame
    # walk of findCaller alone was a few percent of a request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our access middleware logs each request once, with the route template; aiohttp's own line would
    # duplicate it in another format.
    logging.getLogger("aiohttp.access").disabled = True
    # Alembic announces each of its plugins at INFO on every start; only its migration lines matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
