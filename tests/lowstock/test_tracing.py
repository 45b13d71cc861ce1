"""The Lambda traced: its log lines name the invocation's X-Ray trace, and with OpenTelemetry's botocore
instrumentation installed (what the ADOT layer's /opt/otel-instrument wrapper does before the handler is
imported) every AWS call of a run is a span of that same trace. AWS through moto, the API a real HTTP fake."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry import context, trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lowstock import logs

Invoke = Callable[..., dict[str, Any]]
# As Lambda sets it for an invocation with active tracing (the root is the X-Ray trace id).
HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = "5759e988bd862e3fe1be46a994272793"


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    configure = logs.configure
    monkeypatch.setattr(logs, "configure", lambda level: configure(level, stream))
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_log_lines_carry_the_invocations_trace_id(
    invoke: Invoke, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER)
    invoke()
    entries = lines(log_stream)
    assert len(entries) == 2 and all(entry["trace_id"] == TRACE_ID for entry in entries)


@pytest.mark.parametrize("header", ["", "Root=garbage;Sampled=0", "Parent=53995c3f42cd8ad8"])
def test_without_a_trace_header_the_lines_name_no_trace(header: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    assert logs.current_trace_id() is None


@pytest.fixture
def instrumented() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    BotocoreInstrumentor().instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        BotocoreInstrumentor().uninstrument()
        provider.shutdown()


def test_every_aws_call_of_a_run_is_a_span_of_the_invocations_trace(
    invoke: Invoke,
    log_stream: io.StringIO,
    instrumented: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER)
    # The invocation's context, as the layer takes it from Lambda's X-Ray header.
    parent = AwsXRayPropagator().extract({"X-Amzn-Trace-Id": HEADER})
    token = context.attach(parent)
    try:
        invoke()
    finally:
        context.detach(token)

    # SNS.Publish is a PRODUCER span (a message sent on), the others CLIENT spans.
    calls = [s for s in instrumented.get_finished_spans() if s.kind in (SpanKind.CLIENT, SpanKind.PRODUCER)]
    names = {s.name for s in calls}
    assert {
        "Secrets Manager.GetSecretValue",
        "SSM.GetParameter",
        "SSM.PutParameter",
        "stockwiz-alerts-test send",  # SNS.Publish, named as a messaging span: "<topic> send"
        "CloudWatch.PutMetricData",
    } <= names, names
    parent_span = trace.get_current_span(parent).get_span_context()
    for span in calls:
        assert span.context is not None and format(span.context.trace_id, "032x") == TRACE_ID
        assert span.parent is not None and span.parent.span_id == parent_span.span_id
    # The log lines and the spans name the same trace.
    assert {entry["trace_id"] for entry in lines(log_stream)} == {TRACE_ID}
