"""The capacity model: what 100, 1,000 and 10,000 requests/s of the mixed workload take, and cost, in AWS.

Pure functions over the per-task figures `make capacity` measured (tools/capacity_measured.json) and the
price table PRICES below (us-east-1 on-demand list prices, with their source and date; the stacks deploy to
eu-west-1, where Fargate and RDS list about 10 % higher). `python -m tools.capacity_model` prints the model
from the recorded figures without measuring anything.

How the model reasons, per target rate R of the mixed workload:
- Tasks per service: R / (what one task of that service serves x HEADROOM), at least MIN_TASKS (one per
  zone, as prod runs). What one task serves is the measured mixed rate of one task set, divided by the
  share of its CPU limit that service used at that rate (the service that saturated serves the measured
  rate; one that used half its CPU serves twice as much).
- Database connections: every backend task opens DB_POOL_SIZE connections (products and inventory; the
  gateway has none), and a rolling deployment (maximumPercent 200) runs the old and the new tasks side by
  side, so the peak is twice that. RDS sets max_connections = LEAST(DBInstanceClassMemory / 9531392, 5000)
  for PostgreSQL (AWS, "Maximum number of database connections"); DBInstanceClassMemory is the class's
  memory less what RDS reserves for itself, taken here as DB_MEMORY_SHARE of the nominal memory (published
  observations: 2 GiB -> 198, 4 GiB -> 413, 8 GiB -> 856, i.e. 88-95 %). RESERVED_CONNECTIONS are kept
  for the superuser, RDS's own agents, db-setup and one-off operator tasks.
- Database CPU: the database's measured CPU time per mixed request (a PostgreSQL on the test machine, TLS
  on) at DB_CPU_TARGET of the class's sustained vCPUs (a burstable t4g class sustains only its baseline).
- The class is the cheapest that satisfies both; the first bottleneck is whichever forced it beyond the
  stack's current class; the single writer's share is the write (adjustment) part of the database CPU.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEASURED = Path(__file__).resolve().parent / "capacity_measured.json"
TARGETS = (100, 1_000, 10_000)
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
SERVICES = ("gateway", "products", "inventory")
DB_SERVICES = ("products", "inventory")
MAX_SPREAD = 2.0
# Run a task at most at this share of what it was measured to serve at p99 < 100 ms (autoscaling's target).
HEADROOM = 0.7
MIN_TASKS = 2
DEPLOY_SURGE = 2.0  # ECS deploymentMaximumPercent 200: old and new tasks run together during a deploy
DB_MEMORY_SHARE = 0.88  # the lowest observed ratio (2 GiB: 198 connections), so never optimistic
RESERVED_CONNECTIONS = 10
DB_CPU_TARGET = 0.6
CONNECTION_DIVISOR = 9531392
# ALB LCUs: clients are assumed to keep connections alive for this many requests (browsers and API clients
# reuse connections; a client that opens one per request multiplies the new-connection dimension).
REQUESTS_PER_CONNECTION = 10
REQUEST_BYTES = 400  # a request's line and headers (bearer token included) on the ALB's processed bytes
STORAGE_GB = 50  # prod's dbAllocatedStorageGb

# One table of every price the model uses: (USD, unit, source). us-east-1, on-demand, read 2026-12-02 from
# the AWS pricing pages as quoted by the sources named (no AWS account or price API here): check them in the
# AWS Pricing Calculator before quoting a bill.
FARGATE = "aws.amazon.com/fargate/pricing (Linux/x86), quoted by vantage.sh and wring.co, 2026-03"
RDS = "aws.amazon.com/rds/postgresql/pricing, quoted by infratally.com and selfhost.dev, 2026-05"
ELB = "aws.amazon.com/elasticloadbalancing/pricing"
VPC = "aws.amazon.com/vpc/pricing"
TRANSFER = "aws.amazon.com/ec2/pricing/on-demand (data transfer out to the internet)"
PRICES: dict[str, tuple[float, str, str]] = {
    "fargate_vcpu_hour": (0.04048, "per vCPU-hour", FARGATE),
    "fargate_gb_hour": (0.004445, "per GB-hour", FARGATE),
    "rds_gp3_gb_month": (0.115, "per GB-month, each copy (Multi-AZ: 2)", RDS),
    "rds_proxy_vcpu_hour": (0.015, "per vCPU-hour of the instance, at least 2", "aws.amazon.com/rds/proxy"),
    "alb_hour": (0.0225, "per ALB-hour", ELB),
    "alb_lcu_hour": (0.008, "per LCU-hour", ELB),
    "nat_hour": (0.045, "per NAT gateway-hour", VPC),
    "nat_gb": (0.045, "per GB processed", VPC),
    "transfer_out_gb_first_10tb": (0.09, "per GB, first 10 TB/month", TRANSFER),
    "transfer_out_gb_next_40tb": (0.085, "per GB, next 40 TB/month", TRANSFER),
    "transfer_out_gb_next_100tb": (0.07, "per GB, next 100 TB/month", TRANSFER),
    "logs_ingest_gb": (0.50, "per GB ingested (standard class)", "aws.amazon.com/cloudwatch/pricing"),
}  # fmt: skip


@dataclass(frozen=True)
class DbClass:
    name: str
    vcpus: int
    memory_gib: float
    # Sustained share of each vCPU: a burstable class's baseline (t4g: 10-30 %), 1 for the m6g family.
    baseline: float
    hourly: float  # single-AZ, USD; Multi-AZ (one standby) is twice this


DB_CLASSES = (
    DbClass("db.t4g.micro", 2, 1, 0.10, 0.016),
    DbClass("db.t4g.small", 2, 2, 0.20, 0.032),
    DbClass("db.t4g.medium", 2, 4, 0.20, 0.065),
    DbClass("db.t4g.large", 2, 8, 0.30, 0.129),
    DbClass("db.m6g.large", 2, 8, 1.0, 0.159),
    DbClass("db.m6g.xlarge", 4, 16, 1.0, 0.318),
    DbClass("db.m6g.2xlarge", 8, 32, 1.0, 0.636),
    DbClass("db.m6g.4xlarge", 16, 64, 1.0, 1.272),
    DbClass("db.m6g.8xlarge", 32, 128, 1.0, 2.544),
    DbClass("db.m6g.12xlarge", 48, 192, 1.0, 3.816),
)


def db_class(name: str) -> DbClass:
    return next(c for c in DB_CLASSES if c.name == name)


def max_connections(db: DbClass) -> int:
    """RDS for PostgreSQL's default: LEAST({DBInstanceClassMemory/9531392}, 5000)."""
    memory = db.memory_gib * 1024**3 * DB_MEMORY_SHARE
    return int(min(memory // CONNECTION_DIVISOR, 5000))


def usable_connections(db: DbClass) -> int:
    return max_connections(db) - RESERVED_CONNECTIONS


def price(key: str) -> float:
    return PRICES[key][0]


# --- reading the measurement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskFigures:
    """One stack's task size and what one task of each service serves of the mixed workload."""

    stack: str
    cpus: float
    memory_mib: int
    db_pool_size: int
    mixed_rate: float
    per_service_rate: dict[str, float]
    db_cpu_ms_per_request: float
    db_cpu_ms_per_write: float
    write_share: float
    bytes_per_answer: float
    log_bytes_per_request: float


def task_figures(measured: dict[str, Any], stack: str) -> TaskFigures:
    figures = measured["stacks"][stack]
    mixed = figures["workloads"]["mixed"]
    containers = mixed.get("containers", {})
    # The busiest container set the task set's rate; a service that used a smaller share of its CPU limit
    # serves proportionally more per task, counted at most MAX_SPREAD times the measured rate (CPU readings
    # on a shared machine are noisy, and a service's latency, not only its CPU, may be the limit).
    shares = {s: containers.get(s, {}).get("cpu_share_of_limit", 0.0) for s in SERVICES}
    busiest = max(shares.values()) or 1.0
    per_service = {
        service: mixed["rate"] * min(MAX_SPREAD, busiest / share if share else MAX_SPREAD)
        for service, share in shares.items()
    }
    adjust = figures["workloads"].get("adjust", {})
    mix = measured["method"]["mix"]
    return TaskFigures(
        stack=stack,
        cpus=float(figures["cpus"]),
        memory_mib=int(figures["memory_mib"]),
        db_pool_size=int(figures["db_pool_size"]),
        mixed_rate=float(mixed["rate"]),
        per_service_rate=per_service,
        db_cpu_ms_per_request=float(mixed.get("db_cpu_ms_per_request", 0.0)),
        db_cpu_ms_per_write=float(
            adjust.get("db_cpu_ms_per_request", mixed.get("db_cpu_ms_per_request", 0.0))
        ),
        write_share=mix.get("adjust", 0) / sum(mix.values()),
        bytes_per_answer=float(mixed.get("bytes_per_answer", 0.0)),
        log_bytes_per_request=float(mixed.get("log_bytes_per_request", 0.0)),
    )


# --- the plan for one rate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    rate: float
    tasks: dict[str, int]
    connections: int  # peak, during a rolling deployment
    db: DbClass
    db_vcpus_needed: float
    bottleneck: str
    writer_share: float  # of the chosen class's sustained CPU taken by writes
    monthly: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.monthly.values())

    @property
    def per_million(self) -> float:
        return self.total / (self.rate * SECONDS_PER_MONTH / 1e6)


def tasks_per_service(rate: float, figures: TaskFigures) -> dict[str, int]:
    return {
        service: max(MIN_TASKS, math.ceil(rate / (figures.per_service_rate[service] * HEADROOM)))
        for service in SERVICES
    }


def peak_connections(tasks: dict[str, int], pool_size: int) -> int:
    return math.ceil(sum(tasks[s] for s in DB_SERVICES) * pool_size * DEPLOY_SURGE)


def sustained_vcpus(db: DbClass) -> float:
    return db.vcpus * db.baseline


def choose_db(connections: int, vcpus_needed: float, floor: DbClass) -> tuple[DbClass, str]:
    """The cheapest class at least as large as `floor` with room for both, and what forced it."""
    fits_cpu = [c for c in DB_CLASSES if sustained_vcpus(c) * DB_CPU_TARGET >= vcpus_needed]
    fits_connections = [c for c in DB_CLASSES if usable_connections(c) >= connections]
    candidates = [
        c for c in DB_CLASSES if c in fits_cpu and c in fits_connections and c.hourly >= floor.hourly
    ]
    if not candidates:
        if not fits_connections:
            return DB_CLASSES[-1], "RDS connections (beyond any class)"
        return DB_CLASSES[-1], "DB CPU (beyond one writer)"
    chosen = min(candidates, key=lambda c: c.hourly)
    by_cpu = min((c for c in fits_cpu if c.hourly >= floor.hourly), key=lambda c: c.hourly, default=None)
    by_connections = min(
        (c for c in fits_connections if c.hourly >= floor.hourly), key=lambda c: c.hourly, default=None
    )
    if chosen == floor:
        reason = "none (the stack's class has room)"
    elif by_cpu is not None and by_connections is not None and by_cpu == by_connections:
        reason = "DB CPU and RDS connections"
    elif by_connections is not None and (by_cpu is None or by_connections.hourly > by_cpu.hourly):
        reason = "RDS connections"
    else:
        reason = "DB CPU"
    return chosen, reason


def monthly_cost(
    rate: float,
    tasks: dict[str, int],
    db: DbClass,
    figures: TaskFigures,
    *,
    multi_az: bool,
    nat_gateways: int,
    proxy: bool = False,
    replicas: int = 0,
) -> dict[str, float]:
    task_hour = figures.cpus * price("fargate_vcpu_hour") + figures.memory_mib / 1024 * price(
        "fargate_gb_hour"
    )
    copies = 2 if multi_az else 1
    answered_gb = rate * figures.bytes_per_answer * SECONDS_PER_MONTH / 1e9
    processed_gb_hour = rate * (figures.bytes_per_answer + REQUEST_BYTES) * 3600 / 1e9
    lcus = max(rate / REQUESTS_PER_CONNECTION / 25, processed_gb_hour / 1.0, 1.0)
    log_gb = rate * figures.log_bytes_per_request * SECONDS_PER_MONTH / 1e9
    cost = {
        "fargate": sum(tasks.values()) * task_hour * HOURS_PER_MONTH,
        "rds": (db.hourly * (copies + replicas) * HOURS_PER_MONTH)
        + STORAGE_GB * price("rds_gp3_gb_month") * (copies + replicas),
        "alb": (price("alb_hour") + lcus * price("alb_lcu_hour")) * HOURS_PER_MONTH,
        # The tasks reach CloudWatch Logs (and ECR, X-Ray) through the NAT gateways: no VPC endpoints.
        "nat": nat_gateways * price("nat_hour") * HOURS_PER_MONTH + log_gb * price("nat_gb"),
        "transfer_out": transfer_out_cost(answered_gb),
        "logs": log_gb * price("logs_ingest_gb"),
    }
    if proxy:
        cost["rds_proxy"] = max(2, db.vcpus) * price("rds_proxy_vcpu_hour") * HOURS_PER_MONTH
    return {key: round(value, 2) for key, value in cost.items()}


def transfer_out_cost(gb: float) -> float:
    tiers = (
        (10_000, price("transfer_out_gb_first_10tb")),
        (40_000, price("transfer_out_gb_next_40tb")),
        (math.inf, price("transfer_out_gb_next_100tb")),
    )
    cost, left = 0.0, gb
    for size, per_gb in tiers:
        used = min(left, size)
        cost += used * per_gb
        left -= used
        if left <= 0:
            break
    return cost


def plan(
    rate: float,
    figures: TaskFigures,
    *,
    floor: str = "db.t4g.medium",
    multi_az: bool = True,
    nat_gateways: int = 3,
) -> Plan:
    """What `rate` req/s of the mixed workload takes with `figures`' task size, as prod deploys it."""
    tasks = tasks_per_service(rate, figures)
    connections = peak_connections(tasks, figures.db_pool_size)
    vcpus_needed = rate * figures.db_cpu_ms_per_request / 1000 / DB_CPU_TARGET
    db, bottleneck = choose_db(connections, vcpus_needed, db_class(floor))
    proxy = bottleneck.startswith("RDS connections (beyond")
    if proxy:
        # No instance takes that many connections: RDS Proxy in front multiplexes them onto the class that
        # the CPU needs (its own price per vCPU of that class is added).
        db, _ = choose_db(0, vcpus_needed, db_class(floor))
        bottleneck = "RDS connections (beyond any class: RDS Proxy)"
    writes = rate * figures.write_share * figures.db_cpu_ms_per_write / 1000
    return Plan(
        rate=rate,
        tasks=tasks,
        connections=connections,
        db=db,
        db_vcpus_needed=round(vcpus_needed, 2),
        bottleneck=bottleneck,
        writer_share=round(writes / sustained_vcpus(db), 3),
        monthly=monthly_cost(
            rate, tasks, db, figures, multi_az=multi_az, nat_gateways=nat_gateways, proxy=proxy
        ),
    )


@dataclass(frozen=True)
class Alternative:
    name: str
    db: DbClass
    monthly_db: float
    note: str


def alternatives(p: Plan, figures: TaskFigures, *, multi_az: bool = True) -> list[Alternative]:
    """The next step where the database binds: RDS Proxy where connections force a larger class than the
    CPU needs (connections multiplexed, the class chosen by CPU alone), when that is cheaper; read replicas
    for the reads where one instance's CPU is not enough."""
    copies = 2 if multi_az else 1
    found = []
    if "RDS connections" in p.bottleneck and "RDS Proxy" not in p.bottleneck:
        by_cpu, _ = choose_db(0, p.db_vcpus_needed, DB_CLASSES[0])
        by_cpu = max(by_cpu, db_class("db.t4g.medium"), key=lambda c: c.hourly)
        proxy = max(2, by_cpu.vcpus) * price("rds_proxy_vcpu_hour") * HOURS_PER_MONTH
        instance = by_cpu.hourly * copies * HOURS_PER_MONTH
        current = p.db.hourly * copies * HOURS_PER_MONTH
        if instance + proxy < current:
            found.append(
                Alternative(
                    "RDS Proxy",
                    by_cpu,
                    round(instance + proxy, 2),
                    f"{by_cpu.name} sized by CPU, the proxy multiplexing {p.connections} client connections "
                    f"onto {usable_connections(by_cpu)}; versus {p.db.name} at {current:,.0f} USD/month",
                )
            )
    if "one writer" in p.bottleneck or p.db_vcpus_needed > sustained_vcpus(p.db) * DB_CPU_TARGET:
        reads = 1 - figures.write_share
        replicas = math.ceil(p.db_vcpus_needed * reads / (sustained_vcpus(p.db) * DB_CPU_TARGET))
        found.append(
            Alternative(
                f"{replicas} read replica(s)",
                p.db,
                round(p.db.hourly * (copies + replicas) * HOURS_PER_MONTH, 2),
                "the reads (GET) moved to replicas; writes stay on the one primary",
            )
        )
    return found


# --- autoscaling --------------------------------------------------------------------------------------------

# The request policy adds gateway tasks when each serves this share of what it was measured to serve: a
# scale-out takes about two minutes (60 s cooldown, then a task starts), during which traffic may grow by
# 40 % before the tasks pass HEADROOM; and the measured rate is a lower bound (a shared machine).
REQUEST_SHARE = 0.5
# The CPU policy's target as a share of the CPU the busiest service used at the latency limit.
CPU_SHARE = 0.6


@dataclass(frozen=True)
class Autoscaling:
    requests_per_target: int  # ALB requests per target per minute
    cpu_target_percent: int
    max_count: int


def autoscaling(measured: dict[str, Any], stack: str, db_instance_class: str) -> Autoscaling:
    """The settings the measurement supports for `stack`: requestsPerTarget at REQUEST_SHARE of what one
    gateway task served (per minute, rounded down to 100), the CPU target at CPU_SHARE of the busiest
    service's CPU at that rate (rounded down to 5 %), and the largest maxCount whose connections, during a
    deployment, fit the database class."""
    figures = task_figures(measured, stack)
    per_minute = figures.per_service_rate["gateway"] * REQUEST_SHARE * 60
    containers = measured["stacks"][stack]["workloads"]["mixed"].get("containers", {})
    busiest = min(1.0, max((c["cpu_share_of_limit"] for c in containers.values()), default=1.0))
    per_task = len(DB_SERVICES) * figures.db_pool_size * DEPLOY_SURGE
    return Autoscaling(
        requests_per_target=max(100, int(per_minute // 100 * 100)),
        cpu_target_percent=int(busiest * CPU_SHARE * 100 // 5 * 5),
        max_count=int(usable_connections(db_class(db_instance_class)) // per_task),
    )


# --- printing ----------------------------------------------------------------------------------------------


def per_task_table(measured: dict[str, Any]) -> list[str]:
    lines = [
        f"per task (one task per service), p99 < {measured['method']['p99_limit_ms']:.0f} ms, open loop; "
        f"mix {measured['method']['mix']}",
        f"{'stack':5} {'task size':>15} {'workload':9} {'req/s':>7} {'p99 ms':>7} {'max CPU':>8} "
        f"{'max mem':>14} {'at 2x':>28}",
    ]
    for stack, figures in measured["stacks"].items():
        size = f"{figures['cpus']:g} vCPU/{figures['memory_mib']} MiB"
        for workload, result in figures["workloads"].items():
            containers = result.get("containers", {})
            cpu = max((c["cpu_share_of_limit"] for c in containers.values()), default=0.0)
            memory = max((c["memory_mib_peak"] for c in containers.values()), default=0.0)
            overload = result.get("overload", {})
            oom = any(s["oom_killed"] for s in overload.get("states", {}).values())
            answered = overload.get("statuses", {})
            ok = sum(n for code, n in answered.items() if code.startswith("2"))
            refused = sum(n for code, n in answered.items() if not code.startswith("2"))
            at_2x = f"{'OOM' if oom else 'no OOM'}, {ok} 2xx, {refused} other"
            lines.append(
                f"{stack:5} {size:>15} {workload:9} {result['rate']:7.0f} {result.get('p99_ms', 0):7.1f} "
                f"{cpu:8.0%} {memory:7.0f} MiB{memory / figures['memory_mib']:4.0%} {at_2x:>28}"
            )
    return lines


def report(measured: dict[str, Any], stack: str = "prod") -> str:
    figures = task_figures(measured, stack)
    lines = per_task_table(measured)
    lines += [
        "",
        f"model: the mixed workload on {stack}'s task size ({figures.cpus:g} vCPU, "
        f"{figures.memory_mib} MiB), tasks at <= {HEADROOM:.0%} of the measured rate, at least {MIN_TASKS} "
        "per service, Multi-AZ database, 3 NAT gateways",
        "one task serves: "
        + ", ".join(f"{s} {r:.0f}/s" for s, r in figures.per_service_rate.items())
        + f"; database CPU {figures.db_cpu_ms_per_request:.2f} ms per request; "
        f"{figures.bytes_per_answer:.0f} B per answer, "
        f"{figures.log_bytes_per_request:.0f} B of logs per request",
        f"{'req/s':>7} {'tasks gw/prod/inv':>17} {'peak conns':>10} {'database':>15} {'max conns':>9} "
        f"{'DB vCPU':>7} {'writer':>6}  {'first bottleneck':32} {'USD/month':>10} {'USD/M req':>9}",
    ]
    plans = [plan(rate, figures) for rate in TARGETS]
    for p in plans:
        tasks = "/".join(str(p.tasks[s]) for s in SERVICES)
        lines.append(
            f"{p.rate:7.0f} {tasks:>17} {p.connections:10d} {p.db.name:>15} {max_connections(p.db):9d} "
            f"{p.db_vcpus_needed:7.2f} {p.writer_share:6.0%}  {p.bottleneck:32} {p.total:10,.0f} "
            f"{p.per_million:9.2f}"
        )
    lines.append("")
    lines.append("monthly cost by item (USD):")
    for p in plans:
        items = ", ".join(f"{k} {v:,.0f}" for k, v in p.monthly.items())
        lines.append(f"  {p.rate:6.0f}/s: {items}")
    for p in plans:
        for alternative in alternatives(p, figures):
            lines.append(
                f"  next step at {p.rate:.0f}/s: {alternative.name}: {alternative.monthly_db:,.0f} "
                f"USD/month for the database ({alternative.note})"
            )
    settings = autoscaling(measured, stack, "db.t4g.medium")
    lines.append("")
    lines.append(
        f"autoscaling {stack} from these figures (db.t4g.medium): requestsPerTarget "
        f"{settings.requests_per_target}/min ({REQUEST_SHARE:.0%} of one gateway task's "
        f"{figures.per_service_rate['gateway']:.0f}/s), cpuTargetPercent {settings.cpu_target_percent}, "
        f"maxCount {settings.max_count} (x {len(DB_SERVICES)} services x {figures.db_pool_size} connections "
        f"x {DEPLOY_SURGE:g} during a deploy <= {usable_connections(db_class('db.t4g.medium'))})"
    )
    lines.append("")
    lines.append("prices (us-east-1, on-demand):")
    for key, (value, unit, source) in PRICES.items():
        lines.append(f"  {key:28} {value:>9} USD {unit} ({source})")
    lines.append(
        "  RDS for PostgreSQL instance-hours, single-AZ (Multi-AZ x2): "
        + ", ".join(f"{c.name} {c.hourly}" for c in DB_CLASSES)
        + f" ({RDS})"
    )
    return "\n".join(lines)


def load(path: Path = MEASURED) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else MEASURED
    print(report(load(path)))


if __name__ == "__main__":
    main()
