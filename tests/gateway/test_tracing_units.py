"""Tracing pieces in-process, with the SDK's in-memory exporter: the sampler the settings build, the settings'
validation, the bounded flush at shutdown, and the gateway's spans for retries and breaker decisions around
a real aiohttp client talking to real (small) servers."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence

import pytest
from aiohttp import web
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags
from prometheus_client import CollectorRegistry

from gateway.breaker import CircuitBreaker
from gateway.metrics import GatewayMetrics
from gateway.retry import RetryPolicy
from gateway.upstream import Upstream
from stockwiz_runtime import tracing
from stockwiz_runtime.config import ConfigError, ServiceConfig, load_config
from stockwiz_runtime.problems import ProblemError
from stockwiz_runtime.tracing import TracingSettings, sampler, shutdown_tracing

Start = Callable[[web.Application], Awaitable[str]]


def settings(**env: str) -> TracingSettings:
    return load_config(TracingSettings, env)


def decision(config: TracingSettings, trace_id: int, kind: SpanKind, parent: Context | None) -> Decision:
    return sampler(config).should_sample(parent, trace_id, "span", kind).decision


def parent(sampled: bool) -> Context:
    context = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1 if sampled else 0))
    return trace.set_span_in_context(NonRecordingSpan(context))


def test_the_ratio_decides_a_new_trace_and_a_callers_decision_is_followed() -> None:
    quarter = settings(OTEL_TRACES_SAMPLER_ARG="0.25")  # parentbased_traceidratio is the default
    bound = 1 << 62  # TraceIdRatioBased keeps a trace when its lower 64 bits are below ratio * 2**64
    assert decision(quarter, bound - 1, SpanKind.SERVER, None) is Decision.RECORD_AND_SAMPLE
    assert decision(quarter, bound, SpanKind.SERVER, None) is Decision.DROP
    assert decision(quarter, bound, SpanKind.SERVER, parent(sampled=True)) is Decision.RECORD_AND_SAMPLE
    assert decision(quarter, bound - 1, SpanKind.SERVER, parent(sampled=False)) is Decision.DROP
    # Not parent-based: the ratio alone, whatever the caller said.
    ratio_only = settings(OTEL_TRACES_SAMPLER="traceidratio", OTEL_TRACES_SAMPLER_ARG="0.25")
    assert decision(ratio_only, bound, SpanKind.SERVER, parent(sampled=True)) is Decision.DROP
    never = settings(OTEL_TRACES_SAMPLER="parentbased_always_off")
    assert decision(never, 1, SpanKind.SERVER, None) is Decision.DROP


def test_a_database_statement_or_call_outside_any_request_starts_no_trace() -> None:
    always = settings(OTEL_TRACES_SAMPLER="always_on")
    assert decision(always, 1, SpanKind.CLIENT, None) is Decision.DROP
    assert decision(always, 1, SpanKind.CLIENT, parent(sampled=True)) is Decision.RECORD_AND_SAMPLE
    assert decision(always, 1, SpanKind.SERVER, None) is Decision.RECORD_AND_SAMPLE
    assert "TraceIdRatioBased" in sampler(settings()).get_description()


def test_tracing_settings_are_validated_with_every_service_setting() -> None:
    assert not load_config(ServiceConfig, {}).tracing_enabled
    config = load_config(ServiceConfig, {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER_ARG": "0.05"})
    assert config.tracing_enabled and config.otel_traces_sampler_arg == 0.05
    with pytest.raises(ConfigError) as refused:
        load_config(ServiceConfig, {"OTEL_TRACES_EXPORTER": "jaeger", "OTEL_TRACES_SAMPLER_ARG": "1.5"})
    assert "OTEL_TRACES_EXPORTER" in str(refused.value) and "OTEL_TRACES_SAMPLER_ARG" in str(refused.value)
    with pytest.raises(ConfigError, match="OTEL_TRACES_SAMPLER"):
        load_config(ServiceConfig, {"OTEL_TRACES_SAMPLER": "sometimes"})


class StuckExporter(SpanExporter):
    """A collector that never answers."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(30)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.wait(30)


def test_shutdown_waits_for_the_exporter_at_most_the_flush_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = StuckExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_provider", provider)
    monkeypatch.setattr(tracing, "enabled", True)
    started = time.monotonic()
    shutdown_tracing(0.3)
    assert time.monotonic() - started < 1.5
    assert tracing.tracer_provider() is None and not tracing.enabled
    exporter.release.set()
    shutdown_tracing(0.3)  # a second stop has nothing to do


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on for the gateway's code in this process, with the sampler the default settings build."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler(settings()), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_provider", provider)
    yield exporter
    provider.shutdown()


def upstream(url: str, *, retries: int, threshold: int = 5) -> Upstream:
    return Upstream(
        "inventory-service",
        url,
        connect_timeout=1,
        total_timeout=2,
        pool_size=4,
        retry=RetryPolicy(retries, 0.01),
        breaker=CircuitBreaker(threshold, 30),
        metrics=GatewayMetrics(CollectorRegistry()),
    )


def dropping_app(drops: int) -> web.Application:
    hits = {"n": 0}

    async def handler(request: web.Request) -> web.Response:
        hits["n"] += 1
        if hits["n"] <= drops:
            assert request.transport is not None
            request.transport.close()
            raise web.HTTPInternalServerError()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/inventory", handler)
    return app


async def test_a_retry_is_a_span_between_the_failed_call_and_the_next(
    spans: InMemorySpanExporter, fake_upstream: Start
) -> None:
    client = upstream(await fake_upstream(dropping_app(drops=2)), retries=2)
    await client.start()
    tracer = trace.get_tracer("test", tracer_provider=tracing.tracer_provider())
    try:
        with tracer.start_as_current_span("GET /api/inventory", kind=SpanKind.SERVER) as request_span:
            status, _, body = await client.get_json("/inventory", {})
        assert status == 200 and body == {"ok": True}
    finally:
        await client.close()
    finished = spans.get_finished_spans()
    request_id = request_span.get_span_context().span_id
    calls = [s for s in finished if s.kind is SpanKind.CLIENT]
    retries = [s for s in finished if s.name == "retry inventory-service"]
    assert len(retries) == 1 and len(calls) == 2
    assert all(s.parent is not None and s.parent.span_id == request_id for s in (*calls, *retries))
    retry = retries[0]
    assert retry.attributes is not None
    assert retry.attributes["stockwiz.retry.attempt"] == 1
    assert retry.attributes["error.type"] == "ServerDisconnectedError"
    failed, answered = sorted(calls, key=lambda s: s.start_time or 0)
    assert failed.status.status_code is StatusCode.ERROR
    order = [failed.end_time, retry.start_time, retry.end_time, answered.start_time]
    assert order == sorted(order, key=lambda t: t or 0)
    assert answered.attributes is not None and answered.attributes["http.status_code"] == 200


async def test_the_breaker_opening_and_refusing_are_recorded(
    spans: InMemorySpanExporter, no_listener: str
) -> None:
    client = upstream(no_listener, retries=0, threshold=2)
    await client.start()
    tracer = trace.get_tracer("test", tracer_provider=tracing.tracer_provider())
    try:
        with tracer.start_as_current_span("GET /api/inventory", kind=SpanKind.SERVER):
            for _ in range(3):
                with pytest.raises(ProblemError):
                    await client.request("GET", "/inventory", headers={})
    finally:
        await client.close()
    finished = spans.get_finished_spans()
    request_span = next(s for s in finished if s.name == "GET /api/inventory")
    assert [event.name for event in request_span.events] == ["circuit opened"]
    # Two calls were sent and failed; the third was refused without one.
    assert len([s for s in finished if s.kind is SpanKind.CLIENT]) == 2
    refused = [s for s in finished if s.name == "circuit open inventory-service"]
    assert len(refused) == 1 and refused[0].status.status_code is StatusCode.ERROR
    assert refused[0].attributes is not None
    assert 25 <= int(str(refused[0].attributes["stockwiz.circuit.retry_after_s"])) <= 30
