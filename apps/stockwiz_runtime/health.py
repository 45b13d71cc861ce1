"""Liveness (the process serves), readiness (its dependencies answer) and the upstream /health shape."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from stockwiz_runtime.jsonio import json_response
from stockwiz_runtime.keys import READINESS_CHECKS, SERVICE_NAME

log = logging.getLogger("stockwiz.health")
CHECK_TIMEOUT_SECONDS = 2.0


async def _run_check(name: str, check: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
        return name, "failing"
    return name, "ok"


async def readiness(app: web.Application) -> tuple[bool, dict[str, str]]:
    checks = app[READINESS_CHECKS]
    results = dict(await asyncio.gather(*(_run_check(n, c) for n, c in checks.items())))
    return all(status == "ok" for status in results.values()), results


async def livez(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready, checks = await readiness(request.app)
    return json_response(
        {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
    )


async def health(request: web.Request) -> web.Response:
    ready, checks = await readiness(request.app)
    body = {
        "status": "healthy" if ready else "unhealthy",
        "service": request.app[SERVICE_NAME],
        "checks": checks,
    }
    return json_response(body, status=200 if ready else 503)
