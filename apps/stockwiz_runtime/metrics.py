"""Prometheus metrics. Each app owns a registry (not the global one) so tests can build many apps in one
process; a service process has exactly one."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Latency buckets from 1 ms to 10 s: the targets are in single milliseconds, timeouts in seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


class HttpMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being handled now.", registry=self.registry
        )
        self.shed = Counter(
            "http_requests_shed_total",
            "Requests refused with 503 by admission control (too many in flight).",
            registry=self.registry,
        )
        info = Gauge(
            "stockwiz_service_info", "The service this process runs.", ["service"], registry=self.registry
        )
        info.labels(service=service).set(1)
        # The labelled children by label values: labels() takes a lock and builds keys on every call.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        counted = self._counted.get((method, route, status))
        if counted is None:
            counted = self._counted[(method, route, status)] = self.requests.labels(
                method, route, str(status)
            )
        counted.inc()
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self._timed[(method, route)] = self.latency.labels(method, route)
        timed.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
