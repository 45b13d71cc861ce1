"""One run of the low-stock check, written against small interfaces so that AWS and local runs share it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from lowstock.alert import Alert, render
from lowstock.records import AnnouncedState, LowRecord, diff

log = logging.getLogger("lowstock.run")


class StateBusy(RuntimeError):
    """Another run holds the state lease; it is doing this run's work right now."""


class LowStockSource(Protocol):
    @property
    def first_page_url(self) -> str: ...

    @property
    def app_url(self) -> str:
        """Where the web UI is, for links to a product's page."""
        ...

    def fetch(self) -> list[LowRecord]: ...


class StateStore(Protocol):
    def lease(self) -> AbstractContextManager[None]:
        """Hold exclusive use of the state; raises StateBusy when another run holds it."""
        ...

    def load(self) -> AnnouncedState: ...

    def save(self, state: AnnouncedState) -> None: ...


class Notifier(Protocol):
    def publish(self, alert: Alert) -> None: ...


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    value: float
    unit: str


class MetricsSink(Protocol):
    def put(self, metrics: Sequence[Metric]) -> None: ...


@dataclass(frozen=True, slots=True)
class Collaborators:
    source: LowStockSource
    store: StateStore
    notifier: Notifier
    metrics: MetricsSink
    stack: str
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def _fields(**fields: Any) -> dict[str, Any]:
    return {"fields": fields}


def run_once(deps: Collaborators) -> dict[str, Any]:
    """Read, compare, announce, remember, measure. Raises when the API cannot be read: never an all-clear."""
    try:
        with deps.store.lease():
            return _run_leased(deps)
    except StateBusy as exc:
        log.warning("another run holds the state; skipping this one", extra=_fields(reason=str(exc)))
        return {"status": "skipped", "reason": str(exc)}


def _run_leased(deps: Collaborators) -> dict[str, Any]:
    started = deps.monotonic()
    try:
        current = deps.source.fetch()
    except Exception:
        latency_ms = (deps.monotonic() - started) * 1000
        # Report the failure as data, but never a low-stock count: a missing value is not a zero.
        _put_quietly(
            deps.metrics, [Metric("ApiSuccess", 0, "Count"), Metric("ApiLatency", latency_ms, "Milliseconds")]
        )
        raise
    latency_ms = (deps.monotonic() - started) * 1000

    previous = deps.store.load()
    changes = diff(previous, current)
    if changes:
        alert = render(
            changes,
            stack=deps.stack,
            generated_at=deps.now(),
            source_url=deps.source.first_page_url,
            app_url=deps.source.app_url,
        )
        # Announce before remembering: a crash in between repeats an alert rather than losing one.
        deps.notifier.publish(alert)
    new_state = AnnouncedState.of(current)
    if new_state != previous:
        deps.store.save(new_state)

    deps.metrics.put(
        [
            Metric("LowStockRecords", len(current), "Count"),
            Metric("OutOfStockRecords", changes.out_of_stock, "Count"),
            Metric("NewlyLowRecords", len(changes.became_low), "Count"),
            Metric("RecoveredRecords", len(changes.recovered), "Count"),
            Metric("ApiLatency", latency_ms, "Milliseconds"),
            Metric("ApiSuccess", 1, "Count"),
        ]
    )
    summary = {
        "status": "notified" if changes else "unchanged",
        "low": len(current),
        "out_of_stock": changes.out_of_stock,
        "became_low": [r.id for r in changes.became_low],
        "recovered": [r.id for r in changes.recovered],
        "api_latency_ms": round(latency_ms, 1),
    }
    log.info("low-stock check finished", extra={"fields": summary})
    return summary


def _put_quietly(sink: MetricsSink, metrics: Sequence[Metric]) -> None:
    try:
        sink.put(metrics)
    except Exception as exc:  # the API failure being raised matters more than a lost metric
        log.error("could not publish failure metrics", extra=_fields(error=str(exc)))


def iter_metric_data(metrics: Sequence[Metric], dimensions: dict[str, str]) -> Iterator[dict[str, Any]]:
    dims = [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]
    for m in metrics:
        yield {"MetricName": m.name, "Value": float(m.value), "Unit": m.unit, "Dimensions": dims}
