"""Each stack's autoscaling settings stay inside the range `make capacity` measured as safe.

The figures are tools/capacity_measured.json: what one task of each stack's size served of the mixed
workload at p99 < 100 ms (tools/capacity.py), read by the capacity model (tools/capacity_model.py). A
change of task size, pool size, database class or autoscaling setting that leaves that range fails here;
after a change of task size, `make capacity` measures the new size (README, Capacity and cost).
"""

from __future__ import annotations

import pulumi
import pytest

from components.config import StackConfig
from tools.capacity_model import (
    DB_SERVICES,
    DEPLOY_SURGE,
    HEADROOM,
    db_class,
    load,
    task_figures,
    usable_connections,
)
from tools.pulumi_mocks import STACKS, stack_config

MEASURED = load()
# Below this share of the measured rate the request policy would add tasks for load one task serves easily.
LOWEST_SHARE = 0.3


def config(stack: str) -> StackConfig:
    pulumi.runtime.set_all_config(stack_config(stack))
    try:
        return StackConfig.load(stack)
    finally:
        pulumi.runtime.set_all_config({})


AUTOSCALED = [stack for stack in STACKS if config(stack).autoscaling]


def test_prod_scales_and_dev_does_not() -> None:
    assert AUTOSCALED == ["prod"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_measurement_is_of_the_stacks_task_size(stack: str) -> None:
    measured = MEASURED["stacks"][stack]
    settings = config(stack)
    assert (measured["cpus"], measured["memory_mib"]) == (settings.task_cpu / 1024, settings.task_memory), (
        f"{stack}'s task size changed since tools/capacity_measured.json was measured: run make capacity"
    )


@pytest.mark.parametrize("stack", AUTOSCALED)
def test_requests_per_target_is_a_safe_share_of_what_one_gateway_task_serves(stack: str) -> None:
    # ALBRequestCountPerTarget counts requests per target per minute.
    per_second = config(stack).requests_per_target / 60
    measured = task_figures(MEASURED, stack).per_service_rate["gateway"]
    assert per_second <= HEADROOM * measured, (
        f"{stack}: requestsPerTarget {per_second:.0f}/s per task leaves under {1 - HEADROOM:.0%} headroom "
        f"below the measured {measured:.0f}/s"
    )
    assert per_second >= LOWEST_SHARE * measured, (
        f"{stack}: requestsPerTarget {per_second:.0f}/s per task adds tasks at under {LOWEST_SHARE:.0%} of "
        f"the measured {measured:.0f}/s"
    )


@pytest.mark.parametrize("stack", AUTOSCALED)
def test_the_cpu_target_leaves_headroom_below_the_cpu_at_the_latency_limit(stack: str) -> None:
    # At the highest rate with p99 < 100 ms, the busiest container used this share of its CPU limit.
    containers = MEASURED["stacks"][stack]["workloads"]["mixed"]["containers"]
    busiest = min(1.0, max(c["cpu_share_of_limit"] for c in containers.values()))
    target = config(stack).cpu_target_percent / 100
    assert LOWEST_SHARE * busiest <= target <= HEADROOM * busiest, (target, busiest)


@pytest.mark.parametrize("stack", STACKS)
def test_max_count_keeps_the_database_connections_within_the_class(stack: str) -> None:
    settings = config(stack)
    pool = MEASURED["stacks"][stack]["db_pool_size"]
    # Both database services at maxCount, each task with a full pool, doubled while a deployment runs the
    # old and the new tasks side by side.
    peak = settings.max_count * len(DB_SERVICES) * pool * DEPLOY_SURGE
    available = usable_connections(db_class(settings.db_instance_class))
    assert peak <= available, (
        f"{stack}: maxCount {settings.max_count} can open {peak:.0f} connections during a deployment; "
        f"{settings.db_instance_class} has {available} (RDS's default max_connections less the reserved)"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_no_task_was_oom_killed_at_twice_the_measured_load(stack: str) -> None:
    for workload, result in MEASURED["stacks"][stack]["workloads"].items():
        states = result["overload"]["states"]
        assert not any(state["oom_killed"] for state in states.values()), (stack, workload, states)
