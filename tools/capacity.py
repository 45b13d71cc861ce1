"""`make capacity`: what one Fargate task of each stack's size serves, measured under the real Docker Engine.

The three images (built, or reused when their build context has not changed) run as their ECS task
definitions say (tests/containers/tasks.py and fargate.py: read-only root, the image's uid, the task's
environment), each with `--cpus` and `--memory` equal to the stack's task size, read from the task
definitions the Pulumi program synthesizes for that stack (taskCpu / taskMemory in Pulumi.<stack>.yaml),
one task per service, against a private PostgreSQL cluster of its own (TLS, IAM-style login), seeded with
1,000 products x 3 warehouses through the API.

For each stack and each workload it offers an open-loop rate (tools/openloop.py: arrivals at a fixed rate
whatever the answers) and steps it up by FACTOR until a step fails (p99 of the answers >= 100 ms, or any
answer that is not 2xx, or a connection error, timeout or arrival the generator could not send), then
bisects between the last passing and the first failing rate. The highest passing rate is run once more
while `docker stats` samples each container (CPU, memory) and /proc the database's CPU time; then twice
that rate, after which `docker inspect` says whether a container was OOM-killed and the status codes say
what the task answered. Workloads: the composed read (GET /api/products/{id} through the gateway, auth on),
the 100-product list, the stock adjustment (POST /api/inventory/{id}/adjust on any of the 3,000 stock
records) and the mix MIX of the three.

Prints a table, writes tools/capacity_measured.json (what tools/capacity_model.py reads), then prints the
model. The figures are a lower bound: the load generator, PostgreSQL and the three containers share this
machine's cores with whatever else runs (the load average is recorded). Against that, while measuring,
Docker's parent cgroup weighs as DOCKER_WEIGHT_PROCESSES ordinary processes instead of one (cgroup v1), and
the generator and PostgreSQL (standing in for RDS, whose CPU is its own) run at GENERATOR_NICE.

    python -m tools.capacity [--stacks dev,prod] [--workloads composed,mixed] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "apps")]

from stockwiz_runtime.db import DatabaseSettings  # noqa: E402
from tests.containers import fargate  # noqa: E402
from tests.containers.engine import docker, engine_problem, image_exists, inspect  # noqa: E402
from tests.containers.images import CONTEXT  # noqa: E402
from tests.containers.tasks import Database, Running, start_task, task_database  # noqa: E402
from tests.support.otlp import OtlpReceiver  # noqa: E402

OUT = REPO / "tools" / "capacity_measured.json"
P99_LIMIT_MS = 100.0
WARM_UP_SECONDS = 1.5
STEP_SECONDS = 5.0
# A step lasts long enough for its p99 to be more than its slowest answer, up to MAX_STEP_SECONDS.
MIN_ANSWERS = 300
MAX_STEP_SECONDS = 10.0
FACTOR = 1.5
BISECTIONS = 2
OVERLOAD_FACTOR = 2.0
CONNECTIONS = 256
GENERATOR_NICE = -10
# The first rate tried for the first stack; later stacks start from the earlier one's result scaled by the
# ratio of their CPUs (x START_SHARE, so the first step usually passes).
FIRST_RATE = 60.0
START_SHARE = 0.7
LOWEST_RATE = 2.0
MAX_STEPS_UP = 12
PRODUCTS = 1000
# The mixed workload: mostly single-product reads, some list pages, one write in ten.
MIX = {"composed": 70, "list100": 20, "adjust": 10}
WORKLOADS = ("composed", "list100", "adjust", "mixed")
SERVICES = ("products", "inventory", "gateway")
# Stack order: prod (the larger task) first; it also seeds the database faster.
STACK_ORDER = ("prod", "dev")
ADJUST_BODY = '{"delta": 1, "reason": "receive", "reference": "capacity"}'


# --- what a stack's task is ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    stack: str
    cpus: float
    memory_mib: int
    db_pool_size: int


def task_limits(stack: str) -> Limits:
    """The task size of `stack` as its task definitions declare it (from taskCpu / taskMemory), and the
    database pool each backend task opens (DB_POOL_SIZE in its environment, else the runtime's default)."""
    tasks = fargate.task_definitions(stack)
    sizes = {(task.cpu_units, task.memory_mib) for task in tasks.values()}
    if len(sizes) != 1:
        raise ValueError(f"{stack}: the services' task sizes differ: {sorted(sizes)}")
    ((cpu_units, memory_mib),) = sizes
    pools = {
        DatabaseSettings.model_validate(tasks[service].environment()).db_pool_size
        for service in ("products", "inventory")
    }
    return Limits(stack, cpu_units / 1024, memory_mib, max(pools))


# --- one step of offered load -------------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    p50_ms: float
    p99_ms: float
    sent: int
    accepted: int
    statuses: dict[str, int]
    errors: int
    timeouts: int
    not_sent: int
    bytes_per_answer: float = 0.0
    passed: bool = False
    reason: str = ""

    @classmethod
    def from_openloop(cls, raw: dict[str, Any]) -> Step:
        step = cls(
            rate=float(raw["rate"]),
            p50_ms=float(raw["accepted_p50_ms"]),
            p99_ms=float(raw["accepted_p99_ms"]),
            sent=int(raw["sent"]),
            accepted=int(raw["accepted"]),
            statuses={str(k): int(v) for k, v in raw["statuses"].items()},
            errors=int(raw["errors"]),
            timeouts=int(raw["timeouts"]),
            not_sent=int(raw["not_sent"]),
            bytes_per_answer=float(raw.get("bytes_per_answer", 0.0)),
        )
        step.passed, step.reason = judge(step)
        return step


def judge(step: Step) -> tuple[bool, str]:
    """Whether a step passes: every arrival sent and answered 2xx, and the answers' p99 under the limit."""
    failed = {status: n for status, n in step.statuses.items() if not status.startswith("2")}
    if failed:
        return False, "answers " + ", ".join(f"{n}x {status}" for status, n in sorted(failed.items()))
    if step.errors or step.timeouts:
        return False, f"{step.errors} connection errors, {step.timeouts} timeouts"
    if step.not_sent:
        return False, f"{step.not_sent} arrivals found every connection busy"
    if step.sent == 0 or step.accepted < step.sent:
        return False, f"{step.accepted} of {step.sent} answered"
    if step.p99_ms >= P99_LIMIT_MS:
        return False, f"p99 {step.p99_ms:.0f} ms"
    return True, f"p99 {step.p99_ms:.0f} ms"


@dataclass
class Search:
    best: Step | None
    steps: list[Step] = field(default_factory=list)


def search(
    measure: Callable[[float], Step],
    start: float,
    *,
    factor: float = FACTOR,
    bisections: int = BISECTIONS,
    lowest: float = LOWEST_RATE,
) -> Search:
    """The highest passing rate: up by `factor` from `start` until a step fails (down by it while the start
    fails), then `bisections` halvings of the interval between the last pass and the first failure.

    A failing step is tried once more and the rate passes when the second try does: on a shared machine
    other work only ever slows a step down, so one slow window says less about the tasks than a good one."""
    found = Search(None)

    def step(rate: float) -> bool:
        for _ in range(2):
            outcome = measure(round(rate, 1))
            found.steps.append(outcome)
            if outcome.passed:
                if found.best is None or outcome.rate > found.best.rate:
                    found.best = outcome
                return True
        return False

    rate = start
    failing: float | None = None
    if not step(rate):
        failing = rate
        while rate / factor >= lowest:
            rate /= factor
            if step(rate):
                break
            failing = rate
        else:
            return found
    else:
        for _ in range(MAX_STEPS_UP):
            rate *= factor
            if not step(rate):
                failing = rate
                break
        else:
            return found  # still passing: the generator's own ceiling, reported as the best rate
    assert found.best is not None and failing is not None
    low, high = found.best.rate, failing
    for _ in range(bisections):
        middle = (low + high) / 2
        if step(middle):
            low = middle
        else:
            high = middle
    return found


def next_start(earlier: float | None, earlier_cpus: float | None, cpus: float) -> float:
    """Where the search starts: scaled from an earlier stack's result when there is one."""
    if not earlier or not earlier_cpus:
        return FIRST_RATE
    return max(LOWEST_RATE, earlier * cpus / earlier_cpus * START_SHARE)


# --- docker stats -------------------------------------------------------------------------------------------

_UNITS = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}
_SIZE = re.compile(r"^\s*([\d.]+)\s*([A-Za-z]+)\s*$")


def parse_size(text: str) -> int:
    """Bytes in one of docker's sizes: '45.2MiB', '512MiB', '1.5GiB', '0B', '12.3kB'."""
    match = _SIZE.match(text)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"not a docker size: {text!r}")
    return round(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Sample:
    name: str
    cpu_percent: float  # of one core, as docker stats reports it
    memory_bytes: int
    limit_bytes: int


def parse_stats_line(line: str) -> Sample:
    """One line of `docker stats --no-stream --format '{{json .}}'`."""
    row = json.loads(line)
    used, _, limit = row["MemUsage"].partition("/")
    return Sample(
        name=row["Name"],
        cpu_percent=float(row["CPUPerc"].rstrip("%") or 0),
        memory_bytes=parse_size(used),
        limit_bytes=parse_size(limit),
    )


@dataclass
class Usage:
    """A container's use of its limits during one run."""

    cpu_percent_mean: float
    cpu_percent_peak: float
    cpu_share_of_limit: float
    memory_mib_peak: float
    memory_share_of_limit: float
    samples: int


def summarize(samples: list[Sample], cpus: float) -> dict[str, Usage]:
    """Per container: mean and peak CPU (percent of one core; and the mean's share of the --cpus limit), peak
    memory (and its share of the --memory limit)."""
    by_name: dict[str, list[Sample]] = {}
    for sample in samples:
        by_name.setdefault(sample.name, []).append(sample)
    usage = {}
    for name, rows in by_name.items():
        mean = sum(r.cpu_percent for r in rows) / len(rows)
        peak_memory = max(r.memory_bytes for r in rows)
        usage[name] = Usage(
            cpu_percent_mean=round(mean, 1),
            cpu_percent_peak=round(max(r.cpu_percent for r in rows), 1),
            cpu_share_of_limit=round(mean / 100 / cpus, 3),
            memory_mib_peak=round(peak_memory / 1024**2, 1),
            memory_share_of_limit=round(peak_memory / rows[0].limit_bytes, 3) if rows[0].limit_bytes else 0,
            samples=len(rows),
        )
    return usage


@contextmanager
def sampled(names: list[str]) -> Iterator[list[Sample]]:
    """`docker stats` of the named containers, sampled in a thread until the block ends."""
    samples: list[Sample] = []
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            result = docker("stats", "--no-stream", "--format", "{{json .}}", *names, check=False, timeout=60)
            samples.extend(parse_stats_line(line) for line in result.stdout.splitlines() if line.strip())

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join(60)


# --- the database's CPU -------------------------------------------------------------------------------------


def process_tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of `root` and its children so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue  # a backend that ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / ticks
        pending += [int(child) for child in children]
    return total


def postmaster_pid(database: Database) -> int:
    return int((database.cluster.directory / "data" / "postmaster.pid").read_text().split()[0])


# --- the containers' share of a busy machine ------------------------------------------------------------

DOCKER_CPU_SHARES = Path("/sys/fs/cgroup/cpu/docker/cpu.shares")
# Under cgroup v1 every container sits in Docker's parent group, which competes for the CPU with the weight
# of ONE ordinary process (cpu.shares 1024) against every process outside Docker. On a shared machine with
# a load of 8 the three tasks together then get about a ninth of it, far below their --cpus, whereas a
# Fargate task's vCPUs are its own. While measuring, the group weighs as this many ordinary processes, so a
# container gets its --cpus when it asks for them (the quota still caps each at its limit).
DOCKER_WEIGHT_PROCESSES = 8


@contextmanager
def docker_weight(path: Path = DOCKER_CPU_SHARES) -> Iterator[dict[str, int]]:
    """Docker's parent cgroup at DOCKER_WEIGHT_PROCESSES processes' weight, restored afterwards; yields
    {"before": ..., "during": ...} (empty where the group is not there or cannot be written: cgroup v2,
    not root)."""
    try:
        before = int(path.read_text())
        path.write_text(str(1024 * DOCKER_WEIGHT_PROCESSES))
    except (OSError, ValueError):
        yield {}
        return
    try:
        yield {"before": before, "during": int(path.read_text())}
    finally:
        path.write_text(str(before))


# --- running the tasks --------------------------------------------------------------------------------------


def ensure_images() -> dict[str, str]:
    """service -> image: reused when an image of the same build context (components/image_tag's digest)
    and base is in the engine, else built as the container tests build it."""
    from components.image_tag import context_digest
    from tests.containers.images_built import build, resolve_base

    base = None
    images = {}
    for service in SERVICES:
        digest = context_digest(CONTEXT, CONTEXT / service / "Dockerfile")[:16]
        tag = f"stockwiz-{service}:capacity-{digest}"
        if not image_exists(tag):
            base = base or resolve_base()
            print(f"building {service} on {base.reference} ...", flush=True)
            built = build(service, base)
            docker("tag", built.tag, tag)
        images[service] = tag
    return images


@dataclass
class Tasks:
    stack: str
    running: dict[str, Running]
    token: str

    @property
    def names(self) -> list[str]:
        return [r.container.name for r in self.running.values()]

    @property
    def gateway_port(self) -> int:
        return self.running["gateway"].port


def start_tasks(stack: str, images: dict[str, str], database: Database, collector: str) -> Tasks:
    """One task per service at `stack`'s size; the gateway with auth on and the per-client rate limit
    lifted: one load generator stands for many clients, each of which the limit would let through. Spans
    go to `collector` (an OTLP receiver on this machine standing in for the task's collector sidecar, at
    the stack's own sampling ratio), so tracing costs what it costs in AWS and no export fails."""
    token = secrets.token_urlsafe(32)
    api_tokens = json.dumps(
        [{"name": "capacity", "scope": "write", "sha256": hashlib.sha256(token.encode()).hexdigest()}]
    )
    running: dict[str, Running] = {}
    try:
        for service in SERVICES:
            backends = {name: r.port for name, r in running.items()}
            extra = (
                {"RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_BURST": "100000000"}
                if service == "gateway"
                else {}
            )
            if "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in fargate.task_definitions(stack)[service].environment():
                extra["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = collector
            running[service] = start_task(
                service,
                images[service],
                database,
                backends,
                api_tokens=api_tokens,
                stack=stack,
                name=f"stockwiz-capacity-{service}",
                extra_env=extra,
            )
    except Exception:
        for item in running.values():
            item.container.remove()
        raise
    return Tasks(stack, running, token)


def stop_tasks(tasks: Tasks) -> None:
    for item in tasks.running.values():
        item.container.remove()


def requests_file(workload: str, record_ids: list[int], directory: Path) -> Path:
    """The openloop mix for a workload (tools/openloop.py, --requests-file)."""
    kinds = {
        "composed": {"method": "GET", "paths": [f"/api/products/{n}" for n in range(1, PRODUCTS + 1)]},
        "list100": {"method": "GET", "paths": ["/api/products?limit=100"]},
        "adjust": {
            "method": "POST",
            "paths": [f"/api/inventory/{record}/adjust" for record in record_ids],
            "body": ADJUST_BODY,
        },
    }
    weights = MIX if workload == "mixed" else {workload: 1}
    mix = [{"name": name, "weight": weight, "body": None, **kinds[name]} for name, weight in weights.items()]
    path = directory / f"{workload}.json"
    path.write_text(json.dumps({"kinds": mix}))
    return path


def _ahead_of_other_work() -> None:
    """The generator's own scheduling delays count as latency (from each scheduled arrival): on a shared
    machine it runs at GENERATOR_NICE where allowed (as root), so that the tasks, not the neighbours'
    work, decide the p99 as far as the generator can."""
    with suppress(PermissionError):
        os.nice(GENERATOR_NICE)


def step_seconds(rate: float) -> float:
    return min(MAX_STEP_SECONDS, max(STEP_SECONDS, MIN_ANSWERS / rate))


def offer(tasks: Tasks, mix: Path, rate: float, seconds: float | None = None) -> Step:
    seconds = seconds or step_seconds(rate)
    command = [
        sys.executable,
        "-m",
        "tools.openloop",
        f"--port={tasks.gateway_port}",
        f"--rate={rate}",
        f"--duration={seconds}",
        f"--warm-up={WARM_UP_SECONDS}",
        f"--connections={CONNECTIONS}",
        "--timeout=10",
        f"--requests-file={mix}",
        f"--header=Authorization: Bearer {tasks.token}",
    ]
    completed = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=_ahead_of_other_work,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"tools.openloop failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return Step.from_openloop(json.loads(completed.stdout.strip().splitlines()[-1]))


def log_bytes(tasks: Tasks) -> int:
    """What the three containers have written to stdout and stderr so far (what CloudWatch Logs ingests)."""
    total = 0
    for name in tasks.names:
        result = subprocess.run(["docker", "logs", name], capture_output=True, check=False, timeout=120)
        total += len(result.stdout) + len(result.stderr)
    return total


def container_states(tasks: Tasks) -> dict[str, dict[str, Any]]:
    states = {}
    for service, item in tasks.running.items():
        state = inspect(item.container.id)["State"]
        states[service] = {
            "oom_killed": bool(state["OOMKilled"]),
            "running": bool(state["Running"]),
            "exit_code": int(state["ExitCode"]),
        }
    return states


def usage_by_service(tasks: Tasks, samples: list[Sample], cpus: float) -> dict[str, dict[str, Any]]:
    by_name = summarize(samples, cpus)
    return {
        service: asdict(by_name[item.container.name])
        for service, item in tasks.running.items()
        if item.container.name in by_name
    }


def measure_workload(
    tasks: Tasks, limits: Limits, workload: str, mix: Path, start: float, database: Database
) -> dict[str, Any]:
    def measure(rate: float) -> Step:
        outcome = offer(tasks, mix, rate)
        mark = "pass" if outcome.passed else "FAIL"
        print(f"    {rate:8.1f}/s  {mark}  {outcome.reason}", flush=True)
        time.sleep(1)  # let a backlog drain before the next step
        return outcome

    print(f"  {workload}: stepping up from {start:.0f}/s", flush=True)
    found = search(measure, start)
    result: dict[str, Any] = {"steps": [asdict(s) for s in found.steps]}
    if found.best is None:
        result["rate"] = 0.0
        return result
    rate = found.best.rate
    print(f"  {workload}: {rate:.0f}/s again, sampling docker stats ...", flush=True)
    logs_before = log_bytes(tasks)
    postmaster = postmaster_pid(database)
    db_before = process_tree_cpu_seconds(postmaster)
    with sampled(tasks.names) as samples:
        confirm = offer(tasks, mix, rate)
    db_seconds = process_tree_cpu_seconds(postmaster) - db_before
    answers = sum(confirm.statuses.values())
    # Warm-up answers log too: divide by everything the generator sent in both phases.
    offered = max(1, round(rate * (step_seconds(rate) + WARM_UP_SECONDS)))
    result |= {
        "rate": rate,
        "p50_ms": found.best.p50_ms,
        "p99_ms": found.best.p99_ms,
        "confirm": asdict(confirm),
        "containers": usage_by_service(tasks, samples, limits.cpus),
        "db_cpu_ms_per_request": round(db_seconds * 1000 / offered, 3),
        "log_bytes_per_request": round((log_bytes(tasks) - logs_before) / offered, 1),
        "bytes_per_answer": confirm.bytes_per_answer if answers else found.best.bytes_per_answer,
    }
    time.sleep(1)
    overload_rate = round(rate * OVERLOAD_FACTOR, 1)
    print(f"  {workload}: {overload_rate:.0f}/s (2x), sampling docker stats ...", flush=True)
    with sampled(tasks.names) as samples:
        overloaded = offer(tasks, mix, overload_rate)
    result["overload"] = {
        "rate": overload_rate,
        "statuses": overloaded.statuses,
        "accepted": overloaded.accepted,
        "sent": overloaded.sent,
        "not_sent": overloaded.not_sent,
        "errors": overloaded.errors,
        "timeouts": overloaded.timeouts,
        "accepted_p99_ms": overloaded.p99_ms,
        "containers": usage_by_service(tasks, samples, limits.cpus),
        "states": container_states(tasks),
    }
    time.sleep(2)
    return result


def seed(tasks: Tasks) -> list[int]:
    from tools.bench import seed as seed_through_api

    return asyncio.run(seed_through_api(f"http://127.0.0.1:{tasks.gateway_port}", tasks.token))


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def measure_stack(
    stack: str,
    images: dict[str, str],
    database: Database,
    record_ids: list[int] | None,
    starts: dict[str, float],
    workloads: tuple[str, ...],
    directory: Path,
    collector: str,
) -> tuple[dict[str, Any], list[int]]:
    limits = task_limits(stack)
    print(f"\n== {stack}: {limits.cpus:g} vCPU, {limits.memory_mib} MiB per task ==", flush=True)
    tasks = start_tasks(stack, images, database, collector)
    try:
        if record_ids is None:
            print(f"  seeding {PRODUCTS} products x 3 warehouses through the API ...", flush=True)
            # Seeding is not measured: the tasks get the machine's CPUs for it, then their limit back.
            docker("update", "--cpus", str(os.cpu_count() or 1), *tasks.names)
            started = time.monotonic()
            record_ids = seed(tasks)
            docker("update", "--cpus", f"{limits.cpus:g}", *tasks.names)
            print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)
        results: dict[str, Any] = {}
        for workload in workloads:
            mix = requests_file(workload, record_ids, directory)
            results[workload] = measure_workload(
                tasks, limits, workload, mix, starts.get(workload, FIRST_RATE), database
            )
            if not all(
                s["running"] for s in results[workload].get("overload", {}).get("states", {}).values()
            ):
                print("  a container stopped under 2x: starting the tasks again", flush=True)
                stop_tasks(tasks)
                tasks = start_tasks(stack, images, database, collector)
    finally:
        stop_tasks(tasks)
    return {**asdict(limits), "workloads": results}, record_ids


def print_table(measured: dict[str, Any]) -> None:
    print(f"\nper task, one task per service; p99 < {P99_LIMIT_MS:.0f} ms, no errors (open loop)")
    header = f"{'stack':5} {'size':>14} {'workload':9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
    header += f" {'CPU gw/prod/inv (% of limit)':>29} {'mem peak MiB (of limit)':>25}  2x: OOM, statuses"
    print(header)
    for stack, figures in measured["stacks"].items():
        size = f"{figures['cpus']:g} vCPU/{figures['memory_mib']}M"
        for workload, result in figures["workloads"].items():
            containers = result.get("containers", {})
            cpu = "/".join(
                f"{containers[s]['cpu_share_of_limit'] * 100:.0f}" if s in containers else "-"
                for s in ("gateway", "products", "inventory")
            )
            memory = max((c["memory_mib_peak"] for c in containers.values()), default=0.0)
            overload = result.get("overload", {})
            oom = any(s["oom_killed"] for s in overload.get("states", {}).values())
            statuses = ", ".join(f"{n}x{code}" for code, n in overload.get("statuses", {}).items())
            print(
                f"{stack:5} {size:>14} {workload:9} {result['rate']:7.0f} {result.get('p50_ms', 0):7.1f} "
                f"{result.get('p99_ms', 0):7.1f} {cpu:>29} {memory:10.0f} ({figures['memory_mib']:>5})"
                f"           {'OOM' if oom else 'no OOM'}, {statuses}"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", default=",".join(STACK_ORDER), help="comma-separated, in this order")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.stacks = tuple(s for s in args.stacks.split(",") if s)
    args.workloads = tuple(w for w in args.workloads.split(",") if w)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the containers and the private PostgreSQL are removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    problem = engine_problem()
    if problem:
        sys.exit(f"make capacity needs the Docker Engine: {problem}")
    started = time.monotonic()
    load_before = uptime()
    print(f"load before: {load_before}", flush=True)
    images = ensure_images()
    stacks: dict[str, Any] = {}
    record_ids: list[int] | None = None
    starts: dict[str, float] = {}
    earlier: tuple[dict[str, Any], float] | None = None
    with (
        task_database(args.stacks[0]) as database,
        tempfile.TemporaryDirectory() as directory,
        OtlpReceiver(keep=False) as collector,
        docker_weight() as weight,
    ):
        if weight:
            print(
                f"Docker's cgroup weight: {weight['before']} -> {weight['during']} while measuring",
                flush=True,
            )
        for stack in args.stacks:
            cpus = task_limits(stack).cpus
            if earlier is not None:
                starts = {
                    workload: next_start(result["rate"], earlier[1], cpus)
                    for workload, result in earlier[0].items()
                }
            stacks[stack], record_ids = measure_stack(
                stack,
                images,
                database,
                record_ids,
                starts,
                args.workloads,
                Path(directory),
                collector.endpoint,
            )
            earlier = (stacks[stack]["workloads"], cpus)
    measured: dict[str, Any] = {
        "docker_cgroup_cpu_shares": weight,
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "uptime_before": load_before,
            "uptime_after": uptime(),
            "postgres": "a private cluster on this machine (TLS, fsync off), unlimited CPU",
            "load_generator": "tools.openloop on this machine",
            "collector": "an OTLP receiver in this process that counts spans (no ADOT sidecar)",
        },
        "method": {
            "p99_limit_ms": P99_LIMIT_MS,
            "step_seconds": STEP_SECONDS,
            "min_answers_per_step": MIN_ANSWERS,
            "max_step_seconds": MAX_STEP_SECONDS,
            "warm_up_seconds": WARM_UP_SECONDS,
            "factor": FACTOR,
            "bisections": BISECTIONS,
            "overload_factor": OVERLOAD_FACTOR,
            "generator_and_postgres_nice": GENERATOR_NICE if os.geteuid() == 0 else 0,
            "mix": MIX,
            "products": PRODUCTS,
            "stock_records": len(record_ids or []),
        },
        "stacks": stacks,
        "total_s": round(time.monotonic() - started, 1),
    }
    args.out.write_text(json.dumps(measured, indent=2) + "\n")
    print_table(measured)
    print(
        f"\nwrote {args.out} in {measured['total_s'] / 60:.1f} min; "
        f"load after: {measured['machine']['uptime_after']}"
    )
    from tools.capacity_model import report

    modelled = [stack for stack in ("prod", *stacks) if "mixed" in stacks.get(stack, {}).get("workloads", {})]
    if modelled:
        print()
        print(report(measured, modelled[0]))


if __name__ == "__main__":
    main()
