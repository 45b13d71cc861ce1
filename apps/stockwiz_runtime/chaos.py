"""Fault injection for resilience tests (a slow or failing service). Mounted only when CHAOS_ENABLED."""

from __future__ import annotations

import asyncio

from aiohttp import web

from stockwiz_runtime.jsonio import json_response
from stockwiz_runtime.problems import ProblemError

MAX_DELAY_MS = 60_000


def _int_query(request: web.Request, name: str, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ProblemError(400, f"{name} must be an integer from {low} to {high}.", kind="bad-parameter")
    return int(raw)


async def delay(request: web.Request) -> web.Response:
    milliseconds = _int_query(request, "ms", 0, MAX_DELAY_MS)
    await asyncio.sleep(milliseconds / 1000)
    return json_response({"delayed_ms": milliseconds})


async def fail(request: web.Request) -> web.Response:
    status = int(request.match_info["status"])
    if not 400 <= status <= 599:
        raise ProblemError(400, "status must be from 400 to 599.", kind="bad-parameter")
    raise ProblemError(status, "Failure injected by /chaos/status.", kind="chaos")


def add_chaos_routes(app: web.Application) -> None:
    app.router.add_get("/chaos/delay", delay)
    app.router.add_get(r"/chaos/status/{status:\d{3}}", fail)
