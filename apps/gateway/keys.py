"""Typed application and request keys of the gateway."""

from __future__ import annotations

from aiohttp import web

from gateway.config import GatewayConfig
from gateway.downstream import DownstreamHealth
from gateway.forwarding import Forwarded
from gateway.guard import Guard
from gateway.metrics import GatewayMetrics
from gateway.tokens import Principal
from gateway.ui import StaticFiles
from gateway.upstream import Upstream

CONFIG = web.AppKey("gateway_config", GatewayConfig)
PRODUCTS = web.AppKey("products_upstream", Upstream)
INVENTORY = web.AppKey("inventory_upstream", Upstream)
DOWNSTREAM = web.AppKey("downstream_health", DownstreamHealth)
GUARD = web.AppKey("guard", Guard)
GATEWAY_METRICS = web.AppKey("gateway_metrics", GatewayMetrics)
STATIC = web.AppKey("static_files", StaticFiles)

FORWARDED = web.RequestKey("forwarded", Forwarded)
PRINCIPAL = web.RequestKey("principal", Principal)
