"""The gateway's own spans, when tracing is on (see stockwiz_runtime.tracing); nothing at all when off.

- one CLIENT span per upstream request (the aiohttp client instrumentation, through the sessions' trace
  configs), which sends the W3C `traceparent` on to the service;
- `retry <upstream>`: the backoff wait before a retry, with the attempt, the wait and the error retried;
- `circuit open <upstream>`: a request the open breaker refused without calling the service;
- events `circuit opened` / `circuit closed` on the span current when the breaker changed state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from stockwiz_runtime.tracing import tracer_provider

if TYPE_CHECKING:
    import aiohttp
    from opentelemetry.trace import Tracer

_TRACER_NAME = "stockwiz.gateway.upstream"


def client_trace_configs() -> list[aiohttp.TraceConfig]:
    """Trace configs for an upstream's ClientSession; empty while tracing is off."""
    provider = tracer_provider()
    if provider is None:
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    return [create_trace_config(tracer_provider=provider)]


def _tracer() -> Tracer | None:
    provider = tracer_provider()
    return None if provider is None else provider.get_tracer(_TRACER_NAME)


@contextlib.contextmanager
def retry_span(upstream: str, attempt: int, delay: float, error: BaseException) -> Iterator[None]:
    """Around the wait before retry number `attempt` of a call to `upstream`."""
    tracer = _tracer()
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(
        f"retry {upstream}",
        attributes={
            "stockwiz.upstream": upstream,
            "stockwiz.retry.attempt": attempt,
            "stockwiz.retry.delay_s": delay,
            "error.type": type(error).__name__,
        },
    ):
        yield


def circuit_open_span(upstream: str, retry_after: int) -> None:
    """Record that the breaker refused a request to `upstream` (it was not sent)."""
    tracer = _tracer()
    if tracer is None:
        return
    from opentelemetry.trace import StatusCode

    with tracer.start_as_current_span(
        f"circuit open {upstream}",
        attributes={"stockwiz.upstream": upstream, "stockwiz.circuit.retry_after_s": retry_after},
    ) as span:
        span.set_status(StatusCode.ERROR, "circuit open: request not sent")


def circuit_changed(upstream: str, state: str) -> None:
    """An event on the current span when the breaker of `upstream` opened or closed."""
    if tracer_provider() is None:
        return
    from opentelemetry import trace

    trace.get_current_span().add_event(f"circuit {state}", {"stockwiz.upstream": upstream})
