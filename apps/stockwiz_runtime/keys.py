"""Typed application keys shared by the runtime's pieces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from stockwiz_runtime.metrics import HttpMetrics

if TYPE_CHECKING:
    from stockwiz_runtime.middleware import ErrorMapper

ReadinessCheck = Callable[[], Awaitable[Any]]

SERVICE_NAME = web.AppKey("service_name", str)
METRICS = web.AppKey("metrics", HttpMetrics)
ERROR_MAPPERS = web.AppKey("error_mappers", list["ErrorMapper"])
READINESS_CHECKS = web.AppKey("readiness_checks", dict[str, ReadinessCheck])
OPENAPI = web.AppKey("openapi", dict[str, Any])
BODY_READ_TIMEOUT = web.AppKey("body_read_timeout", float)
