"""tools/capacity_model.py: RDS's connection formula, tasks per service, the database class and the first
bottleneck, and the monthly cost arithmetic, on figures of known shape."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from tools import capacity_model as model
from tools.capacity_model import DB_CLASSES, db_class, max_connections, plan, price, task_figures


def measured(mixed_rate: float = 500.0, db_ms: float = 0.4, gateway_share: float = 1.0) -> dict[str, Any]:
    """A measurement of the shape tools/capacity.py writes."""

    def containers(gateway: float) -> dict[str, Any]:
        shares = {"gateway": gateway, "products": 0.5, "inventory": 0.25}
        return {s: {"cpu_share_of_limit": v, "memory_mib_peak": 90.0} for s, v in shares.items()}

    overload = {
        "statuses": {"200": 900, "503": 100},
        "states": {s: {"oom_killed": False, "running": True, "exit_code": 0} for s in model.SERVICES},
    }
    workload = {
        "rate": mixed_rate,
        "p99_ms": 60.0,
        "containers": containers(gateway_share),
        "overload": overload,
    }
    return {
        "method": {"p99_limit_ms": 100.0, "mix": {"composed": 70, "list100": 20, "adjust": 10}},
        "stacks": {
            "prod": {
                "cpus": 0.5,
                "memory_mib": 1024,
                "db_pool_size": 20,
                "workloads": {
                    "mixed": {
                        **workload,
                        "db_cpu_ms_per_request": db_ms,
                        "bytes_per_answer": 2000.0,
                        "log_bytes_per_request": 1000.0,
                    },
                    "adjust": {**workload, "rate": 100.0, "db_cpu_ms_per_request": 1.0},
                },
            }
        },
    }


def test_max_connections_follows_rds_formula_with_the_memory_rds_keeps() -> None:
    medium = db_class("db.t4g.medium")
    assert max_connections(medium) == int(4 * 1024**3 * model.DB_MEMORY_SHARE // 9531392) == 396
    # Published observations (2, 4, 8 GiB: 198, 413, 856) lie at or above the model's figures.
    assert max_connections(db_class("db.t4g.small")) <= 198
    assert max_connections(medium) <= 413
    assert max_connections(db_class("db.m6g.large")) <= 856
    assert max_connections(db_class("db.m6g.12xlarge")) == 5000  # the formula's ceiling


def test_each_service_serves_the_measured_rate_divided_by_its_share_of_the_cpu_limit() -> None:
    figures = task_figures(measured(), "prod")
    # The gateway saturated; products used half as much CPU (twice the rate), inventory a quarter (capped).
    assert figures.per_service_rate == {"gateway": 500.0, "products": 1000.0, "inventory": 1000.0}
    assert figures.write_share == 0.1 and figures.db_cpu_ms_per_write == 1.0


def test_tasks_scale_with_the_rate_at_the_headroom_and_never_below_two() -> None:
    figures = task_figures(measured(), "prod")
    assert model.tasks_per_service(100, figures) == {"gateway": 2, "products": 2, "inventory": 2}
    tasks = model.tasks_per_service(10_000, figures)
    assert tasks["gateway"] == math.ceil(10_000 / (500 * model.HEADROOM)) == 29
    assert tasks["products"] == tasks["inventory"] == 15


def test_peak_connections_count_both_database_services_twice_during_a_deploy() -> None:
    assert model.peak_connections({"gateway": 9, "products": 3, "inventory": 2}, 20) == (3 + 2) * 20 * 2


def test_the_database_class_follows_the_binding_constraint() -> None:
    floor = db_class("db.t4g.medium")
    assert model.choose_db(100, 0.1, floor) == (floor, "none (the stack's class has room)")
    chosen, reason = model.choose_db(1200, 0.1, floor)
    assert reason == "RDS connections" and model.usable_connections(chosen) >= 1200
    assert all(model.usable_connections(c) < 1200 for c in DB_CLASSES if c.hourly < chosen.hourly)
    chosen, reason = model.choose_db(100, 5.0, floor)
    assert reason == "DB CPU" and chosen.vcpus * chosen.baseline * model.DB_CPU_TARGET >= 5.0
    assert model.choose_db(100, 1000.0, floor)[1] == "DB CPU (beyond one writer)"
    assert model.choose_db(9000, 1.0, floor)[1] == "RDS connections (beyond any class)"
    # Both need the same class: both named.
    assert model.choose_db(900, 2.0, floor) == (db_class("db.m6g.xlarge"), "DB CPU and RDS connections")


def test_a_plan_at_ten_thousand_is_bound_by_connections_and_names_rds_proxy() -> None:
    figures = task_figures(measured(db_ms=0.05), "prod")
    big = plan(10_000, figures)
    assert big.connections == (15 + 15) * 20 * 2
    assert big.bottleneck == "RDS connections"
    (proxy,) = [a for a in model.alternatives(big, figures) if a.name == "RDS Proxy"]
    assert proxy.monthly_db < big.db.hourly * 2 * model.HOURS_PER_MONTH


def test_more_connections_than_any_class_takes_put_rds_proxy_in_front_and_in_the_bill() -> None:
    figures = task_figures(measured(mixed_rate=60.0, db_ms=0.05), "prod")
    big = plan(10_000, figures)
    assert big.connections > 5000 and big.bottleneck == "RDS connections (beyond any class: RDS Proxy)"
    # The class the CPU needs (0.83 vCPU at 60 %: db.m6g.large), with the proxy's price per its vCPU.
    assert big.db == db_class("db.m6g.large")
    assert big.monthly["rds_proxy"] == pytest.approx(2 * price("rds_proxy_vcpu_hour") * 730, abs=0.01)
    assert not [a for a in model.alternatives(big, figures) if a.name == "RDS Proxy"]


def test_read_replicas_are_the_next_step_where_one_instance_lacks_the_cpu() -> None:
    figures = task_figures(measured(db_ms=10.0), "prod")
    huge = plan(10_000, figures)
    assert huge.bottleneck == "DB CPU (beyond one writer)"
    (replicas,) = model.alternatives(huge, figures)
    # 10,000/s x 10 ms = 100 vCPU busy, /0.6: 167 vCPU needed; 90 % of it reads, on 48-vCPU replicas at 60 %.
    assert replicas.name == f"{math.ceil(166.67 * 0.9 / (48 * 0.6))} read replica(s)"


def test_monthly_cost_items_follow_the_price_table() -> None:
    figures = task_figures(measured(), "prod")
    p = plan(100, figures)
    task_hour = 0.5 * price("fargate_vcpu_hour") + 1.0 * price("fargate_gb_hour")
    assert p.monthly["fargate"] == pytest.approx(6 * task_hour * 730, abs=0.01)
    assert p.monthly["rds"] == pytest.approx(0.065 * 2 * 730 + 50 * price("rds_gp3_gb_month") * 2, abs=0.01)
    log_gb = 100 * 1000 * model.SECONDS_PER_MONTH / 1e9
    assert p.monthly["logs"] == pytest.approx(log_gb * 0.5, abs=0.01)
    assert p.monthly["nat"] == pytest.approx(3 * 0.045 * 730 + log_gb * 0.045, abs=0.01)
    assert p.per_million == pytest.approx(p.total / (100 * model.SECONDS_PER_MONTH / 1e6))


def test_transfer_out_is_priced_by_tier() -> None:
    assert model.transfer_out_cost(1000) == pytest.approx(90.0)
    assert model.transfer_out_cost(20_000) == pytest.approx(10_000 * 0.09 + 10_000 * 0.085)


def test_the_report_prints_every_target_and_every_price() -> None:
    figures = measured(db_ms=0.05)
    figures["stacks"]["dev"] = copy.deepcopy(figures["stacks"]["prod"]) | {"cpus": 0.25, "memory_mib": 512}
    text = model.report(figures)
    for key in model.PRICES:
        assert key in text
    for rate in ("   100 ", "  1000 ", " 10000 "):
        assert rate in text
    assert "dev" in text and "RDS Proxy" in text


def test_autoscaling_settings_follow_the_measurement_and_the_database_class() -> None:
    settings = model.autoscaling(measured(mixed_rate=500.0), "prod", "db.t4g.medium")
    assert settings.requests_per_target == 15_000  # 50 % of 500/s, per minute
    assert settings.cpu_target_percent == 60  # the gateway saturated at the limit
    assert settings.max_count == (396 - model.RESERVED_CONNECTIONS) // (2 * 20 * 2) == 4
    lighter = model.autoscaling(measured(mixed_rate=76.0, gateway_share=0.25), "prod", "db.m6g.large")
    assert lighter.requests_per_target == 4500  # the gateway used half the busiest's CPU: twice 76/s
    usable = max_connections(db_class("db.m6g.large")) - model.RESERVED_CONNECTIONS
    # The busiest (products) used half its limit at the latency limit: the target is 60 % of that.
    assert lighter.cpu_target_percent == 30 and lighter.max_count == usable // 80
