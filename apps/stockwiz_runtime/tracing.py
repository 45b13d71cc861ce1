"""OpenTelemetry tracing, off unless `OTEL_TRACES_EXPORTER` names an exporter.

Off (the default) nothing of OpenTelemetry is imported, no middleware is added and no instrumentation is
installed: a request runs exactly the code it ran before tracing existed. On, `configure_tracing` (called
by `stockwiz_runtime.server.serve` before the application is built) sets the global tracer provider and
installs the official instrumentations:

- aiohttp server: `AioHttpServerInstrumentor` replaces `aiohttp.web.Application` with a subclass that puts
  its middleware first, so every request gets a SERVER span around all of our middlewares (the request id
  and access log lines are written inside it) and a W3C `traceparent` from the caller is continued. That is
  the instrumentation's documented use and it fits our factory as it is, because the factory looks up
  `web.Application` when it runs, after tracing was configured;
- the database (`stockwiz_runtime.db_tracing`), for the services that have one;
- the gateway's HTTP client (`gateway.tracing`): one CLIENT span per upstream call, which injects
  `traceparent` into the request the service receives.

The trace and span ids are added to every JSON log line written inside a span (`add_trace_ids`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Sampler

log = logging.getLogger("stockwiz.tracing")

# Probes and scrapes (the load balancer, ECS, Prometheus) would be most of the traces and tell nothing:
# they get no span, unless the instrumentation's standard variables say otherwise.
DEFAULT_EXCLUDED_URLS = "^/livez$,^/readyz$,^/health$,^/metrics$"
_EXCLUDED_URLS_VARIABLES = ("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")

Sampling = Literal[
    "parentbased_traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "traceidratio",
    "always_on",
    "always_off",
]


class TracingSettings(BaseModel):
    """The standard OpenTelemetry variables this runtime validates itself (the SDK reads the others)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    otel_traces_exporter: Literal["none", "console", "otlp"] = Field("none", alias="OTEL_TRACES_EXPORTER")
    otel_traces_sampler: Sampling = Field("parentbased_traceidratio", alias="OTEL_TRACES_SAMPLER")
    # The ratio of traces started here that are recorded (a caller's decision is followed when parent-based).
    otel_traces_sampler_arg: float = Field(1.0, alias="OTEL_TRACES_SAMPLER_ARG", ge=0, le=1)
    # How long the spans still queued at shutdown may take to leave (after SHUTDOWN_TIMEOUT's drain).
    tracing_flush_timeout: float = Field(5.0, alias="TRACING_FLUSH_TIMEOUT", gt=0, le=30)

    @property
    def tracing_enabled(self) -> bool:
        return self.otel_traces_exporter != "none"


# Read by the JSON log formatter on every line: a plain module global, so that with tracing off a log line
# costs one attribute lookup more than before.
enabled = False
_provider: TracerProvider | None = None


def sampler(settings: TracingSettings) -> Sampler:
    """The configured sampler, refusing to start a trace at a CLIENT span: a database statement or an HTTP
    call made outside any request (the readiness probe's `SELECT 1`, the low-stock count a metrics scrape
    runs, the purge of expired idempotency keys, the gateway's fetch of the services' API documents) would
    otherwise be a trace of its own, of one span, many times a minute."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import sampling

    ratio = settings.otel_traces_sampler_arg
    root: sampling.Sampler
    name = settings.otel_traces_sampler.removeprefix("parentbased_")
    if name == "traceidratio":
        root = sampling.TraceIdRatioBased(ratio)
    else:
        root = sampling.ALWAYS_ON if name == "always_on" else sampling.ALWAYS_OFF
    parent_based = settings.otel_traces_sampler.startswith("parentbased_")
    configured = sampling.ParentBased(root) if parent_based else root

    class RequestsOnly(sampling.Sampler):
        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: trace.SpanKind | None = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> sampling.SamplingResult:
            if kind is trace.SpanKind.CLIENT:
                parent = trace.get_current_span(parent_context).get_span_context()
                if not parent.is_valid:
                    return sampling.SamplingResult(sampling.Decision.DROP)
            return configured.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"RequestsOnly{{{configured.get_description()}}}"

    return RequestsOnly()


def configure_tracing(settings: TracingSettings, service_name: str) -> TracerProvider | None:
    """Set up the global tracer provider and the server instrumentation; None (and nothing done) when off."""
    global enabled, _provider
    if not settings.tracing_enabled:
        return None
    from opentelemetry import trace
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if settings.otel_traces_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Endpoint, headers and timeout come from the standard OTEL_EXPORTER_OTLP_* variables.
        exporter = OTLPSpanExporter()
    else:
        # One span per line on stderr: stdout stays one JSON log object per line.
        exporter = ConsoleSpanExporter(
            out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + os.linesep
        )
    # OTEL_RESOURCE_ATTRIBUTES (deployment.environment=prod, ...) is merged in by Resource.create.
    resource = Resource.create({SERVICE_NAME: service_name})
    provider = TracerProvider(resource=resource, sampler=sampler(settings), shutdown_on_exit=False)
    # Queue size, batch size and delay: the standard OTEL_BSP_* variables.
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    # The instrumentation reads its exclusions from the environment when it is installed.
    if not any(os.environ.get(name) for name in _EXCLUDED_URLS_VARIABLES):
        os.environ[_EXCLUDED_URLS_VARIABLES[0]] = DEFAULT_EXCLUDED_URLS
    AioHttpServerInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    enabled = True
    log.info(
        "tracing on: exporter %s, sampler %s",
        settings.otel_traces_exporter,
        settings.otel_traces_sampler,
        extra={"fields": {"sampler_ratio": settings.otel_traces_sampler_arg}},
    )
    return provider


def shutdown_tracing(timeout: float) -> None:
    """Export the spans still queued, waiting `timeout` seconds at most (the SDK's own wait is 30 s, longer
    than ECS lets a stopping task live), then stop the provider. Nothing to do when tracing is off."""
    global enabled, _provider
    provider, _provider = _provider, None
    if provider is None:
        return
    enabled = False
    worker = threading.Thread(target=provider.shutdown, name="tracing-shutdown", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        log.warning("spans not exported within %.1f s of stopping were dropped", timeout)


def add_trace_ids(entry: dict[str, Any]) -> None:
    """Add the current span's trace and span ids (hex, as W3C and X-Ray show them) to a log entry."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        entry["trace_id"] = format(context.trace_id, "032x")
        entry["span_id"] = format(context.span_id, "016x")


def tracer_provider() -> TracerProvider | None:
    """The provider `configure_tracing` set up, None while tracing is off."""
    return _provider
