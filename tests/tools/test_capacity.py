"""tools/capacity.py's logic without the Docker Engine: the step search, the pass/fail rule, docker stats
parsing, and the task limits it reads from each stack's configuration."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tools import capacity
from tools.capacity import Sample, Step, judge, next_start, parse_size, parse_stats_line, search, summarize
from tools.pulumi_mocks import ROOT, STACKS


def step(rate: float, *, p99: float = 20.0, statuses: dict[str, int] | None = None, **extra: int) -> Step:
    sent = int(rate * 6)
    outcome = Step(
        rate=rate,
        p50_ms=p99 / 4,
        p99_ms=p99,
        sent=sent,
        accepted=extra.get("accepted", sent),
        statuses=statuses if statuses is not None else {"200": sent},
        errors=extra.get("errors", 0),
        timeouts=extra.get("timeouts", 0),
        not_sent=extra.get("not_sent", 0),
    )
    outcome.passed, outcome.reason = judge(outcome)
    return outcome


def server(capacity_rate: float) -> tuple[list[float], Callable[[float], Step]]:
    """A server whose p99 stays low up to `capacity_rate` and crosses the limit above it; the rates tried."""
    tried: list[float] = []

    def measure(rate: float) -> Step:
        tried.append(rate)
        return step(rate, p99=30.0 if rate <= capacity_rate else 400.0)

    return tried, measure


@pytest.mark.parametrize("true_capacity", [7.0, 76.0, 138.0, 516.0, 2000.0])
def test_the_search_finds_the_highest_passing_rate_within_the_bisection_resolution(
    true_capacity: float,
) -> None:
    tried, measure = server(true_capacity)
    found = search(measure, start=60.0, factor=1.5, bisections=2, lowest=2.0)
    assert found.best is not None and found.best.rate <= true_capacity
    # After two bisections the passing rate lies within a quarter of the bracketing interval (x1.5): 12.5 %.
    assert found.best.rate >= true_capacity / 1.125 - 0.1
    assert [s.rate for s in found.steps] == tried
    assert all(s.passed == (s.rate <= true_capacity) for s in found.steps)
    # Every failing rate was tried twice, every passing one once.
    counts = {rate: tried.count(rate) for rate in tried}
    assert all(n == (1 if rate <= true_capacity else 2) for rate, n in counts.items())


def test_a_step_slowed_once_by_other_work_passes_on_its_second_try() -> None:
    tried: list[float] = []

    def measure(rate: float) -> Step:
        tried.append(rate)
        first_try = tried.count(rate) == 1
        return step(rate, p99=400.0 if (rate == 135.0 and first_try) or rate > 300 else 30.0)

    found = search(measure, start=60.0, factor=1.5, bisections=0, lowest=2.0)
    assert tried == [60.0, 90.0, 135.0, 135.0, 202.5, 303.8, 303.8]
    assert found.best is not None and found.best.rate == 202.5


def test_a_start_that_fails_steps_down_and_nothing_passing_reports_no_rate() -> None:
    tried, measure = server(1.0)
    found = search(measure, start=60.0, factor=1.5, bisections=2, lowest=2.0)
    assert found.best is None
    assert tried[0] == 60.0 and min(tried) >= 2.0 and tried == sorted(tried, reverse=True)


def test_errors_fail_a_step_even_at_low_latency() -> None:
    def measure(rate: float) -> Step:
        if rate > 100:
            return step(rate, p99=5.0, statuses={"200": 100, "503": 3})
        return step(rate, p99=5.0)

    found = search(measure, start=60.0, factor=1.5, bisections=1, lowest=2.0)
    assert found.best is not None and 60 <= found.best.rate <= 100


@pytest.mark.parametrize(
    ("outcome", "passes", "reason"),
    [
        (step(50, p99=99.9), True, "p99 100 ms"),
        (step(50, p99=100.0), False, "p99 100 ms"),
        (step(50, statuses={"200": 290, "503": 10}), False, "answers 10x 503"),
        (step(50, statuses={"200": 299, "500": 1}), False, "answers 1x 500"),
        (step(50, errors=1), False, "1 connection errors, 0 timeouts"),
        (step(50, timeouts=2), False, "0 connection errors, 2 timeouts"),
        (step(50, not_sent=1), False, "1 arrivals found every connection busy"),
        (step(50, accepted=299), False, "299 of 300 answered"),
    ],
)
def test_a_step_passes_only_with_every_answer_2xx_and_p99_under_the_limit(
    outcome: Step, passes: bool, reason: str
) -> None:
    assert judge(outcome) == (passes, reason)


def test_a_step_reads_what_openloop_prints() -> None:
    raw = {
        "rate": 120.0,
        "seconds": 6,
        "wall_seconds": 6.01,
        "sent": 720,
        "not_sent": 0,
        "statuses": {"200": 720},
        "accepted": 720,
        "goodput_per_s": 120.0,
        "accepted_p50_ms": 4.2,
        "accepted_p99_ms": 31.5,
        "accepted_max_ms": 40.0,
        "refused_p99_ms": 0.0,
        "errors": 0,
        "timeouts": 0,
        "bytes_per_answer": 812.5,
    }
    outcome = Step.from_openloop(raw)
    assert (outcome.rate, outcome.p99_ms, outcome.bytes_per_answer, outcome.passed) == (
        120.0,
        31.5,
        812.5,
        True,
    )


def test_a_step_at_a_low_rate_lasts_until_its_p99_is_not_its_slowest_answer() -> None:
    assert capacity.step_seconds(500.0) == capacity.STEP_SECONDS
    assert capacity.step_seconds(40.0) == capacity.MIN_ANSWERS / 40.0
    assert capacity.step_seconds(2.0) == capacity.MAX_STEP_SECONDS


def test_later_stacks_start_from_the_earlier_result_scaled_by_cpu() -> None:
    assert next_start(None, None, 0.25) == capacity.FIRST_RATE
    assert next_start(500.0, 0.5, 0.25) == pytest.approx(500 * 0.5 * capacity.START_SHARE)
    assert next_start(1.0, 0.5, 0.25) == capacity.LOWEST_RATE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0B", 0),
        ("512MiB", 512 * 1024**2),
        ("45.2MiB", round(45.2 * 1024**2)),
        ("1.5GiB", round(1.5 * 1024**3)),
        ("12.3kB", 12300),
        ("7.8MB", 7_800_000),
    ],
)
def test_docker_sizes_are_parsed_in_their_own_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_a_size_docker_never_prints_is_refused() -> None:
    with pytest.raises(ValueError, match="not a docker size"):
        parse_size("12 parsecs")


def test_docker_stats_lines_are_parsed_and_summarized_against_the_limits() -> None:
    lines = [
        {"Name": "stockwiz-capacity-gateway", "CPUPerc": "24.10%", "MemUsage": "61.5MiB / 512MiB"},
        {"Name": "stockwiz-capacity-gateway", "CPUPerc": "25.90%", "MemUsage": "64MiB / 512MiB"},
        {"Name": "stockwiz-capacity-products", "CPUPerc": "10.00%", "MemUsage": "80MiB / 512MiB"},
    ]
    samples = [parse_stats_line(json.dumps({**line, "ID": "abc", "MemPerc": "12%"})) for line in lines]
    assert samples[0] == Sample("stockwiz-capacity-gateway", 24.1, round(61.5 * 1024**2), 512 * 1024**2)
    usage = summarize(samples, cpus=0.25)
    gateway = usage["stockwiz-capacity-gateway"]
    assert (gateway.cpu_percent_mean, gateway.cpu_percent_peak, gateway.samples) == (25.0, 25.9, 2)
    assert gateway.cpu_share_of_limit == 1.0  # 25 % of one core is all of 0.25 vCPU
    assert gateway.memory_mib_peak == 64.0 and gateway.memory_share_of_limit == 0.125
    assert usage["stockwiz-capacity-products"].cpu_share_of_limit == 0.4


@pytest.mark.parametrize("stack", STACKS)
def test_the_limits_are_the_stacks_task_size(stack: str) -> None:
    settings = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    limits = capacity.task_limits(stack)
    assert limits.cpus == settings["stockwiz:taskCpu"] / 1024
    assert limits.memory_mib == settings["stockwiz:taskMemory"]
    assert limits.db_pool_size == 20  # the runtime's DB_POOL_SIZE default; no task overrides it


def test_a_workloads_mix_is_written_for_openloop(tmp_path: Path) -> None:
    path = capacity.requests_file("mixed", [11, 12, 13], tmp_path)
    kinds = {kind["name"]: kind for kind in json.loads(path.read_text())["kinds"]}
    assert {name: kind["weight"] for name, kind in kinds.items()} == capacity.MIX
    assert kinds["adjust"]["method"] == "POST" and kinds["adjust"]["paths"] == [
        f"/api/inventory/{n}/adjust" for n in (11, 12, 13)
    ]
    assert json.loads(kinds["adjust"]["body"])["delta"] == 1 and kinds["composed"]["body"] is None
    assert len(kinds["composed"]["paths"]) == capacity.PRODUCTS


def test_dockers_cgroup_weighs_as_several_processes_while_measuring_and_is_restored(tmp_path: Path) -> None:
    shares = tmp_path / "cpu.shares"
    shares.write_text("1024\n")
    with capacity.docker_weight(shares) as weight:
        assert weight == {"before": 1024, "during": 1024 * capacity.DOCKER_WEIGHT_PROCESSES}
        assert shares.read_text() == str(1024 * capacity.DOCKER_WEIGHT_PROCESSES)
    assert shares.read_text() == "1024"
    with pytest.raises(RuntimeError), capacity.docker_weight(shares):
        raise RuntimeError("a failed measurement")
    assert shares.read_text() == "1024"
    with capacity.docker_weight(tmp_path / "absent") as weight:  # cgroup v2, or not root: left alone
        assert weight == {}
