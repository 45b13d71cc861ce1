"""The gateway's own metrics, next to the runtime's HTTP metrics in the same registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.breaker import State

_STATE_VALUE = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.upstream_requests = Counter(
            "gateway_upstream_requests_total",
            "Calls to upstream services by outcome (an HTTP status, or error/timeout/circuit_open).",
            ["upstream", "outcome"],
            registry=registry,
        )
        self.upstream_retries = Counter(
            "gateway_upstream_retries_total",
            "Upstream calls sent again after a connection failure.",
            ["upstream"],
            registry=registry,
        )
        self.circuit_state = Gauge(
            "gateway_circuit_state",
            "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.",
            ["upstream"],
            registry=registry,
        )
        self.rejected = Counter(
            "gateway_rejected_requests_total",
            "API requests refused at the gateway, by reason.",
            ["reason"],
            registry=registry,
        )

    def set_circuit_state(self, upstream: str, state: State) -> None:
        self.circuit_state.labels(upstream).set(_STATE_VALUE[state])
