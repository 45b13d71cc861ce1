"""Business metrics of the inventory service, registered in the app's own registry (app[METRICS])."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from inventory.idempotency import Change


class InventoryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.movements = Counter(
            "inventory_movements", "Stock movements recorded, by reason.", ["reason"], registry=registry
        )
        self.units = Counter(
            "inventory_units_moved",
            "Units moved (the absolute value of each movement's delta), by reason.",
            ["reason"],
            registry=registry,
        )
        self.refused = Counter(
            "inventory_refused_changes",
            "Stock changes refused with 409, by problem type (insufficient-stock, ...).",
            ["kind"],
            registry=registry,
        )
        self.replays = Counter(
            "inventory_idempotent_replays",
            "Writes answered from a stored response because their Idempotency-Key was used before.",
            registry=registry,
        )
        self.low_stock = Gauge(
            "inventory_low_stock_records",
            "Stock records at or below their reorder point, counted when /metrics is scraped.",
            registry=registry,
        )

        self.adjust_rounds = Histogram(
            "inventory_adjust_round_size",
            "Adjustments of one record combined into one transaction (see inventory.batching).",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=registry,
        )

    def observe(self, change: Change) -> None:
        if change.replayed:
            self.replays.inc()
            return
        for reason, delta in change.movements:
            self.movements.labels(reason).inc()
            self.units.labels(reason).inc(abs(delta))
