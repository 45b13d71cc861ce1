"""`make bench`: how fast StockWiz is on this machine, measured with wrk against real processes.

It starts the three services on a fresh PostgreSQL database with production settings (INFO JSON logs to a
file, auth on, no debug, no demo data), seeds 1,000 products with stock in 3 warehouses through the API,
runs wrk (a separate C process, so the load generator costs little CPU next to the servers) for each
scenario after a short warm-up, checks stock correctness after the contention runs, measures start-up, and
prints a table and writes build/bench/results.json.

Options (or environment): --duration / BENCH_DURATION (seconds per scenario, default 10), --connections /
BENCH_CONNECTIONS (default 64), --only (run the scenarios whose key contains this text, or one of several
comma-separated texts), --serve (start and seed, print the URLs and token, and wait: for profiling with
py-spy), --out (the JSON file), --tracing / BENCH_TRACING (`off`, the default, or a sampling ratio such as
`1` or `0.05`; several, comma-separated, take turns on one seeded database, each on freshly started
services, --rounds / BENCH_ROUNDS times, and are compared by their medians; tracing exports over OTLP to a
receiver in this process that only counts what arrives).
STOCKWIZ_BENCH_POSTGRES_URL: the server to create the throw-away database on (default: the tests' server,
postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench" / "results.json"
sys.path[:0] = [str(REPO), str(REPO / "apps")]

from gateway.config import GatewayConfig  # noqa: E402
from tests.support.databases import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.otlp import OtlpReceiver  # noqa: E402
from tests.support.processes import ServiceProcess, free_port, start_service  # noqa: E402

PRODUCTS = 1000
WAREHOUSES = ("Warehouse A", "Warehouse B", "Warehouse C")
WARM_UP_SECONDS = 2
SETTLE_SECONDS = 1
SERVICES = ("products", "inventory", "gateway")
IMPORT_TIMER = "import time; t = time.perf_counter(); import {module}.app; print(time.perf_counter() - t)"

# wrk's Lua hooks: pick a target per request and report the summary as JSON on the last line.
LUA_REPORT = """
threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  local refused, checked, mismatched = 0, 0, 0
  for _, thread in ipairs(threads) do
    refused = refused + (thread:get("refused") or 0)
    checked = checked + (thread:get("checked") or 0)
    mismatched = mismatched + (thread:get("mismatched") or 0)
  end
  io.write(string.format('\\n{"requests": %d, "seconds": %f, "non2xx": %d, "socket_errors": %d, '
    .. '"refused": %d, "checked": %d, "mismatched": %d, "p50_ms": %f, "p99_ms": %f}\\n', summary.requests,
    summary.duration / 1e6, summary.errors.status, errors, refused, checked, mismatched,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""
# Counts 503 answers (admission control's refusals) apart from other errors. Defining response() makes wrk
# parse every answer, a few microseconds each: negligible at our services' rates, not at the baseline's, so
# the baseline runs without it.
LUA_COUNT_503 = """
refused = 0
response = function(status, headers, body)
  if status == 503 then refused = refused + 1 end
  if check then check(status, body) end
end
"""
# The composed read's answers, each compared with the bytes expected for the product it names (file
# EXPECTED: one line per product, its id, a tab, its body). The body names its product first ({"id":N,...),
# which is how an answer is matched with what was asked when 64 connections share one Lua state.
LUA_CHECK_BODIES = """
checked, mismatched = 0, 0
local expected = {}
for line in io.lines(EXPECTED) do
  local tab = line:find("\\t", 1, true)
  expected[line:sub(1, tab - 1)] = line:sub(tab + 1)
end
check = function(status, body)
  if status ~= 200 then return end
  local id = body:match('^{"id":(%d+),')
  if id and expected[id] == body then checked = checked + 1 else mismatched = mismatched + 1 end
end
"""
LUA_RANDOM_PATH = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format(PATH_FORMAT, math.random(1, COUNT)))
end
"""
LUA_ADJUST = """
math.randomseed(os.time())
local ids = IDS
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"delta": 1, "reason": "receive", "reference": "REFERENCE"}'
request = function()
  return wrk.format(nil, string.format(PATH_FORMAT, ids[math.random(1, #ids)]))
end
"""


@dataclass
class Result:
    key: str
    scenario: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    ratio_to_baseline: float | None = None
    note: str = ""
    # 503 answers (admission control's refusals: the benchmark has no outage), not counted in `errors`.
    refused: int = 0
    # "off", or the sampling ratio the services ran with.
    tracing: str = "off"
    # CPU time the three services spent per request during the run (user + system, from /proc), in µs: on
    # a shared machine far steadier than throughput, which other work's load moves.
    cpu_us_per_request: float | None = None
    # Answers whose bytes were checked against the expected ones (the composed read), and those that differed.
    checked: int | None = None
    mismatched: int | None = None


@dataclass
class Settings:
    duration: int
    connections: int
    only: str
    out: Path
    tracing: tuple[str, ...] = ("off",)
    rounds: int = 1

    def selects(self, key: str) -> bool:
        """Whether scenario `key` runs: --only is empty, or one of its comma-separated parts is in the key."""
        return not self.only or any(part and part in key for part in self.only.split(","))


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk from Debian's packages ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        return shutil.which("wrk") or sys.exit("wrk could not be installed")
    sys.exit("make bench needs wrk: install it (apt-get install wrk)")


def run_wrk(
    wrk: str,
    url: str,
    lua: str,
    *,
    token: str | None,
    duration: int,
    connections: int,
    count_503: bool = True,
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + (LUA_COUNT_503 if count_503 else "") + LUA_REPORT)
    command = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", script.name]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    try:
        completed = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 30)
    finally:
        os.unlink(script.name)
    lines = completed.stdout.strip().splitlines()
    # wrk reports a Lua error on stderr and may still exit 0: only the JSON line proves a real run.
    if completed.returncode != 0 or not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr or completed.stdout}")
    return dict(json.loads(lines[-1]))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)
    return total


def result(key: str, name: str, raw: dict[str, Any]) -> Result:
    return Result(
        key=key,
        scenario=name,
        # Admission control's refusals are not served requests: a scenario that got many 503s would
        # otherwise look faster than one that served every request (they are shown in their own column).
        requests_per_s=round((raw["requests"] - raw["refused"]) / raw["seconds"], 1),
        p50_ms=round(raw["p50_ms"], 2),
        p99_ms=round(raw["p99_ms"], 2),
        errors=raw["non2xx"] - raw["refused"] + raw["socket_errors"],
        requests=raw["requests"],
        refused=raw["refused"],
        checked=raw["checked"] if raw["checked"] or raw["mismatched"] else None,
        mismatched=raw["mismatched"] if raw["checked"] or raw["mismatched"] else None,
    )


def random_path(path_format: str, count: int) -> str:
    return LUA_RANDOM_PATH.replace("PATH_FORMAT", json.dumps(path_format)).replace("COUNT", str(count))


def adjust_script(ids: list[int], reference: str) -> str:
    return (
        LUA_ADJUST.replace("PATH_FORMAT", json.dumps("/api/inventory/%d/adjust"))
        .replace("IDS", "{" + ",".join(map(str, ids)) + "}")
        .replace("REFERENCE", reference)
    )


async def seed(gateway: str, token: str) -> list[int]:
    """1,000 products with stock in three warehouses, through the API as a client would create them."""
    headers = {"Authorization": f"Bearer {token}"}
    record_ids: list[int] = []
    connector = aiohttp.TCPConnector(limit=16)
    async with aiohttp.ClientSession(gateway, headers=headers, connector=connector) as session:
        # Stock goes only into managed warehouses (a fresh database has none without demo data).
        for warehouse in WAREHOUSES:
            async with session.post("/api/warehouses", json={"name": warehouse}) as response:
                if response.status not in (201, 409):
                    raise RuntimeError(f"seeding a warehouse: {response.status} {await response.text()}")

        async def one(index: int) -> None:
            body = {
                "name": f"Bench product {index:04d}",
                "price": 10 + index % 90 + 0.99,
                "category": f"Category {index % 12}",
                "sku": f"BENCH-{index:04d}",
                "description": "Benchmark item",
            }
            async with session.post("/api/products", json=body) as response:
                if response.status != 201:
                    raise RuntimeError(f"seeding a product: {response.status} {await response.text()}")
                product_id = (await response.json())["id"]
            for number, warehouse in enumerate(WAREHOUSES):
                stock = {"product_id": product_id, "warehouse": warehouse, "quantity": 100 + number * 50}
                async with session.post("/api/inventory", json=stock) as response:
                    if response.status != 201:
                        raise RuntimeError(f"seeding stock: {response.status} {await response.text()}")
                    record_ids.append((await response.json())["id"])

        await asyncio.gather(*(one(index) for index in range(PRODUCTS)))
    return sorted(record_ids)


async def expected_composed(products_url: str, inventory_url: str) -> str:
    """What `GET /api/products/{id}` must answer for every product, built the way the gateway composed it
    before it had one call for it: the product service's answer with the inventory summary's entry for the
    product spliced in (money and timestamps as those services write them). One line per product (id, tab,
    body), for the composed run's Lua check."""
    lines: list[str] = []
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{products_url}/products?limit=1000&sort=id") as response:
            ids = [product["id"] for product in await response.json()]
        summary: dict[str, Any] = {}
        for start in range(0, len(ids), 100):
            chunk = ",".join(map(str, ids[start : start + 100]))
            async with session.get(f"{inventory_url}/inventory/summary?product_ids={chunk}") as response:
                summary.update(await response.json())
        for product_id in ids:
            async with session.get(f"{products_url}/products/{product_id}") as response:
                body = await response.read()
            entry = summary.get(str(product_id))
            if entry is not None:
                body = body[:-1] + b',"inventory":' + orjson.dumps(entry) + b"}"
            lines.append(f"{product_id}\t{body.decode()}")
    return "\n".join(lines) + "\n"


@dataclass
class Ledger:
    quantity: int
    ledger_sum: int
    run_movements: int
    broken_links: int


async def ledger_state(database_url: str, ids: list[int], reference: str) -> dict[int, Ledger]:
    """Per record: its quantity, the sum of its ledger movements, how many movements carry `reference`,
    and how many movements do not start from the quantity the previous one left (a lost update would)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """
            SELECT i.id, i.quantity,
              COALESCE(SUM(m.delta), 0) AS ledger_sum,
              COUNT(*) FILTER (WHERE m.reference = $2) AS run_movements,
              COUNT(*) FILTER (WHERE m.previous IS NOT NULL AND m.quantity_after <> m.previous + m.delta)
                AS broken_links
            FROM inventory i
            LEFT JOIN (
              SELECT inventory_id, delta, reference, quantity_after,
                LAG(quantity_after) OVER (PARTITION BY inventory_id ORDER BY id) AS previous
              FROM stock_movements WHERE inventory_id = ANY($1::int[])
            ) m ON m.inventory_id = i.id
            WHERE i.id = ANY($1::int[])
            GROUP BY i.id, i.quantity
            """,
            ids,
            reference,
        )
    finally:
        await conn.close()
    return {
        row["id"]: Ledger(row["quantity"], row["ledger_sum"], row["run_movements"], row["broken_links"])
        for row in rows
    }


def _ready_after(url: str, process: subprocess.Popen[bytes], started: float, timeout: float = 30) -> float:
    """Seconds from `started` to the first /readyz 200, polled every 5 ms (start_service polls every 100)."""
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)
    raise TimeoutError(f"{url}/readyz did not answer 200 within {timeout} s")


def startup_times(env: dict[str, str], log_dir: Path, repeats: int = 3) -> list[Result]:
    """A second instance of each service, started while the first runs (as a scale-out would): process start
    to /readyz 200, and the time to import the application's modules alone; the median of `repeats` runs."""
    results = []
    for module in SERVICES:
        imports, readies = [], []
        for _ in range(repeats):
            imported = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    IMPORT_TIMER.format(module=module),
                ],
                env={**os.environ, "PYTHONPATH": str(REPO / "apps")},
                capture_output=True,
                text=True,
                check=True,
            )
            imports.append(float(imported.stdout))
            started = time.perf_counter()
            service = start_service(module, log_dir, port=free_port(), env=env, ready=False)
            try:
                readies.append(_ready_after(service.url, service.process, started))
            finally:
                service.stop()
        results.append(
            Result(
                f"startup-{module}",
                f"start-up: {module} to /readyz 200 (ms)",
                0,
                round(statistics.median(readies) * 1000, 1),
                round(max(readies) * 1000, 1),
                0,
                0,
                note=f"median (p50) and slowest (p99 column) of {repeats}; imports alone "
                f"{statistics.median(imports) * 1000:.0f} ms",
            )
        )
    return results


OVERLOAD_FACTOR = 2.0
OVERLOAD_ROUNDS = 3
OVERLOAD_CONNECTIONS = 512
MEMORY_SETTLE_SECONDS = 60
# "Back at rest": within this of the resting RSS (the allocator keeps a few arenas it has touched).
MEMORY_SLACK_MIB = 8


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def run_openloop(port: int, rate: float, duration: int, token: str, pid: int) -> tuple[dict[str, Any], float]:
    """tools.openloop against the gateway at `rate`, in its own process; also the gateway's peak RSS."""
    command = [
        sys.executable,
        "-m",
        "tools.openloop",
        f"--port={port}",
        f"--rate={rate}",
        f"--duration={duration}",
        f"--connections={OVERLOAD_CONNECTIONS}",
        "--path-format=/api/products/%d",
        f"--count={PRODUCTS}",
        f"--header=Authorization: Bearer {token}",
    ]
    generator = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while generator.poll() is None:
        peak = max(peak, rss_mib(pid))
        time.sleep(0.25)
    out, _ = generator.communicate()
    if generator.returncode != 0:
        raise RuntimeError(f"tools.openloop failed ({generator.returncode})")
    return json.loads(out.strip().splitlines()[-1]), peak


def overload(stack: Stack, wrk: str, settings: Settings) -> list[Result]:
    """The gateway at twice its capacity, with an open-loop generator (tools.openloop): requests keep
    arriving at the fixed rate whatever the answers, as real clients do.

    Capacity is measured with wrk (closed loop) on the same route with as many connections as the gateway
    admits at once, so nothing is refused. The machine is shared and its speed drifts by tens of percent from
    one minute to the next, so each overload round sits between two capacity runs and is compared with
    their mean; there are OVERLOAD_ROUNDS rounds and the median ratio is reported. The same is done against
    a second gateway with admission control off (the behaviour before it existed), for comparison."""
    results = []
    limit = GatewayConfig.model_fields["max_in_flight"].default
    unbounded = start_service(
        "gateway", stack.log_dir, env={**stack.env, "MAX_IN_FLIGHT": "100000", "ADMISSION_QUEUE": "0"}
    )
    try:
        for key, label, gateway in (
            ("overload-2x", "admission control on (the defaults)", stack.gateway),
            ("overload-2x-unbounded", "admission control off, for comparison", unbounded),
        ):
            if settings.only not in key:
                continue
            results += _overload_rounds(key, label, gateway, stack.token, wrk, settings, limit)
    finally:
        unbounded.stop()
    return results


def _overload_rounds(
    key: str, label: str, gateway: ServiceProcess, token: str, wrk: str, settings: Settings, connections: int
) -> list[Result]:
    pid = gateway.process.pid
    lua = random_path("/api/products/%d", PRODUCTS)

    def capacity() -> float:
        raw = run_wrk(wrk, gateway.url, lua, token=token, duration=settings.duration, connections=connections)
        return float(raw["requests"] - raw["non2xx"] - raw["socket_errors"]) / float(raw["seconds"])

    print(f"  overload, {label}: capacity (closed loop, {connections} connections) ...", flush=True)
    load_before = os.getloadavg()[0]
    run_wrk(wrk, gateway.url, lua, token=token, duration=WARM_UP_SECONDS, connections=connections)
    capacities = [capacity()]
    resting = rss_mib(pid)
    rounds: list[tuple[float, dict[str, Any]]] = []
    peak = resting
    for _ in range(OVERLOAD_ROUNDS):
        rate = round(capacities[-1] * OVERLOAD_FACTOR, 1)
        print(f"  overload, {label}: {rate}/s open loop, then capacity again ...", flush=True)
        outcome, round_peak = run_openloop(gateway.port, rate, settings.duration, token, pid)
        peak = max(peak, round_peak)
        capacities.append(capacity())
        rounds.append(((capacities[-2] + capacities[-1]) / 2, outcome))
    settle_started = time.monotonic()
    after = rss_mib(pid)
    while time.monotonic() - settle_started < MEMORY_SETTLE_SECONDS and after > resting + MEMORY_SLACK_MIB:
        time.sleep(1)
        after = rss_mib(pid)
    settled_in = time.monotonic() - settle_started
    ratios = [outcome["goodput_per_s"] / cap for cap, outcome in rounds]
    median_round = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
    outcome = rounds[median_round][1]
    refused = sum(o["statuses"].get("503", 0) + o["statuses"].get("429", 0) for _, o in rounds)
    failed = sum(o["sent"] - o["accepted"] for _, o in rounds) - refused
    p99s = ", ".join(f"{o['accepted_p99_ms']:.0f}" for _, o in rounds)
    note = (
        f"goodput {ratios[median_round]:.0%} of capacity (median round; rounds "
        f"{', '.join(f'{r:.0%}' for r in ratios)}; capacity {', '.join(f'{c:.0f}' for c in capacities)}/s); "
        f"accepted p99 per round {p99s} ms; {refused} refused (503 + Retry-After), {failed} failed or timed "
        f"out; gateway RSS {resting:.0f} MiB at rest, {peak:.0f} peak, {after:.0f} after {settled_in:.0f} s; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    return [
        Result(
            key,
            f"overload 2x, {label}: accepted requests",
            outcome["goodput_per_s"],
            outcome["accepted_p50_ms"],
            outcome["accepted_p99_ms"],
            failed,
            sum(o["sent"] for _, o in rounds),
            note=note,
        )
    ]


def print_table(results: list[Result]) -> None:
    header = f"{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'503s':>6} {'x base':>6} {'cpu µs':>7}"
    print(f"\n{'scenario':56} {header}  note")
    for r in results:
        ratio = f"{r.ratio_to_baseline:.3f}" if r.ratio_to_baseline is not None else ""
        rps = f"{r.requests_per_s:.0f}" if r.requests_per_s else ""
        cpu = f"{r.cpu_us_per_request:.0f}" if r.cpu_us_per_request is not None else ""
        figures = f"{rps:>8} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:6d} {r.refused:6d} {ratio:>6} {cpu:>7}"
        print(f"{r.scenario:56} {figures}  {r.note}")


@dataclass
class Stack:
    database: str
    token: str
    products: ServiceProcess
    inventory: ServiceProcess
    gateway: ServiceProcess
    baseline_url: str
    record_ids: list[int]
    env: dict[str, str]
    log_dir: Path


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tracing_environment(tracing: str, receiver: OtlpReceiver | None) -> dict[str, str]:
    """The services' settings for one tracing setting: none for `off` (the default, nothing loaded), else
    the OTLP exporter to `receiver` with parent-based ratio sampling, the SDK's default batching."""
    if tracing == "off":
        return {}
    assert receiver is not None
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": tracing,
    }


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh database on the benchmark's PostgreSQL server, dropped afterwards whatever happens."""
    os.environ.setdefault(
        "STOCKWIZ_TEST_POSTGRES_URL",
        os.environ.get("STOCKWIZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    database = asyncio.run(create_postgres_database())
    try:
        yield database
    finally:
        asyncio.run(drop_postgres_database(database))


@contextmanager
def running_stack(
    database: str, tracing: dict[str, str] | None = None, record_ids: list[int] | None = None
) -> Iterator[Stack]:
    """The three services and the baseline on `database`, seeded unless `record_ids` says it already is;
    everything stopped after, whatever happens. `tracing`: the services' settings (tracing_environment)."""
    log_dir = Path(tempfile.mkdtemp(prefix="stockwiz-bench-"))
    token = secrets.token_urlsafe(32)
    api_tokens = json.dumps(
        [{"name": "bench", "scope": "write", "sha256": hashlib.sha256(token.encode()).hexdigest()}]
    )
    production = {"LOG_LEVEL": "INFO", "DATABASE_URL": database, "SEED_DEMO_DATA": "false", **(tracing or {})}
    services: list[ServiceProcess] = []
    baseline: subprocess.Popen[bytes] | None = None
    try:
        products = start_service("products", log_dir, env=production)
        services.append(products)
        inventory = start_service("inventory", log_dir, env=production)
        services.append(inventory)
        env = {
            **production,
            "PRODUCT_SERVICE_URL": products.url,
            "INVENTORY_SERVICE_URL": inventory.url,
            "API_TOKENS": api_tokens,
            # The benchmark is one client hammering on purpose; the limiter's own cost is still paid.
            "RATE_LIMIT_PER_MINUTE": "100000000",
            "RATE_LIMIT_BURST": "100000000",
        }
        gateway = start_service("gateway", log_dir, env=env)
        services.append(gateway)
        baseline_port = free_port()
        with (log_dir / "baseline.log").open("wb") as baseline_log:
            baseline = subprocess.Popen(
                [sys.executable, str(REPO / "tools" / "bench_baseline.py")],
                env={**os.environ, "PORT": str(baseline_port)},
                stdout=baseline_log,
                stderr=subprocess.STDOUT,
            )
        baseline_url = f"http://127.0.0.1:{baseline_port}"
        _ready_after(baseline_url, baseline, time.perf_counter())
        if record_ids is None:
            print(f"seeding {PRODUCTS} products x {len(WAREHOUSES)} warehouses ...", flush=True)
            started = time.perf_counter()
            record_ids = asyncio.run(seed(gateway.url, token))
            print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
        yield Stack(database, token, products, inventory, gateway, baseline_url, record_ids, env, log_dir)
    finally:
        if baseline is not None:
            _stop(baseline)
        for service in services:
            service.stop()


def run_scenarios(stack: Stack, wrk: str, settings: Settings) -> list[Result]:
    results: list[Result] = []

    def scenario(
        key: str, name: str, url: str, lua: str = "", auth: bool = True, warm_up: bool = True
    ) -> Result | None:
        if not settings.selects(key):
            return None
        print(f"  {name} ...", flush=True)
        token = stack.token if auth else None
        if warm_up:
            run_wrk(wrk, url, lua, token=token, duration=WARM_UP_SECONDS, connections=settings.connections)
        pids = [s.process.pid for s in (stack.products, stack.inventory, stack.gateway)]
        cpu_before = cpu_seconds(pids)
        raw = run_wrk(
            wrk,
            url,
            lua,
            token=token,
            duration=settings.duration,
            connections=settings.connections,
            count_503=not url.startswith(stack.baseline_url),
        )
        used = cpu_seconds(pids) - cpu_before
        outcome = result(key, name, raw)
        if used > 0 and outcome.requests and not key.startswith("baseline"):
            outcome.cpu_us_per_request = round(used / outcome.requests * 1e6, 1)
        results.append(outcome)
        return outcome

    gateway, products = stack.gateway.url, stack.products.url
    expected = stack.log_dir / "expected-composed.tsv"
    if settings.selects("composed-product"):
        expected.write_text(asyncio.run(expected_composed(products, stack.inventory.url)))
    base = scenario(
        "baseline", "baseline: minimal aiohttp JSON handler", f"{stack.baseline_url}/item", auth=False
    )
    composed = scenario(
        "composed-product",
        "GET /api/products/{id} via gateway (product + stock)",
        gateway,
        random_path("/api/products/%d", PRODUCTS)
        + LUA_CHECK_BODIES.replace("EXPECTED", json.dumps(str(expected))),
    )
    if composed is not None:
        # Every answer the clients saw must be the right product with its right stock, byte for byte.
        # (Lua counts each 200 as checked or wrong; anything else is an error wrk counts.)
        composed.note = (
            f"{composed.checked or 0} answers checked byte for byte, {composed.mismatched or 0} wrong"
        )
        if composed.mismatched or not composed.checked or composed.errors:
            raise SystemExit(f"composed read check failed: {composed.note}, {composed.errors} errors")
    scenario(
        "direct-product",
        "GET /products/{id} on the product service",
        products,
        random_path("/products/%d", PRODUCTS),
        auth=False,
    )
    plain_100 = scenario("list-100", "GET /api/products?limit=100", f"{gateway}/api/products?limit=100")
    scenario("list-1000", "GET /api/products?limit=1000", f"{gateway}/api/products?limit=1000")
    scenario(
        "direct-list-1000",
        "GET /products?limit=1000 on the product service",
        f"{products}/products?limit=1000",
        auth=False,
    )
    full_100 = scenario(
        "full-100", "GET /api/products-full?limit=100", f"{gateway}/api/products-full?limit=100"
    )
    if plain_100 is not None and full_100 is not None:
        cost = plain_100.requests_per_s / max(full_100.requests_per_s, 1)
        full_100.note = f"{cost:.2f}x the cost of a plain list of 100"

    if settings.only in "overload-2x-unbounded":
        results += overload(stack, wrk, settings)

    # Contention: every request adds 1; afterwards each record's quantity must equal its ledger sum, and the
    # growth must match what clients saw succeed (up to the requests in flight when wrk stopped).
    for key, label, ids in (
        ("adjust-1", "1 record", stack.record_ids[:1]),
        ("adjust-100", "100 records", stack.record_ids[1:101]),
    ):
        if not settings.selects(key):
            continue
        # Each run's movements carry their own reference; a pause after each wrk run lets the requests in
        # flight when it stopped finish, so the counts below are settled.
        reference = f"bench-{key}-{secrets.token_hex(4)}"
        warm_up = adjust_script(ids, reference + "-warm-up")
        run_wrk(
            wrk,
            gateway,
            warm_up,
            token=stack.token,
            duration=WARM_UP_SECONDS,
            connections=settings.connections,
        )
        time.sleep(SETTLE_SECONDS)
        before = asyncio.run(ledger_state(stack.database, ids, reference))
        lua = adjust_script(ids, reference)
        outcome = scenario(key, f"POST /api/inventory/{{id}}/adjust, {label}", gateway, lua, warm_up=False)
        assert outcome is not None
        time.sleep(SETTLE_SECONDS)
        after = asyncio.run(ledger_state(stack.database, ids, reference))
        grown = sum(after[i].quantity - before[i].quantity for i in ids)
        movements = sum(state.run_movements for state in after.values())
        # A refused request (503 overloaded) was turned away before any work: it must not be a movement.
        succeeded = outcome.requests - outcome.errors - outcome.refused
        checks = {
            "quantity == ledger sum": all(s.quantity == s.ledger_sum for s in after.values()),
            "each movement starts where the last ended": all(not s.broken_links for s in after.values()),
            "growth == movements of this run": grown == movements,
            # Requests in flight when wrk stopped (one per connection at most) were applied but not counted.
            "every success is a movement": succeeded <= movements <= succeeded + settings.connections,
        }
        failed = [name for name, ok in checks.items() if not ok]
        outcome.note = (
            f"+{grown} units, {movements} movements, {succeeded} successes, {outcome.refused} refused: "
            + ("no lost update, ledger exact" if not failed else "FAILED " + "; ".join(failed))
        )
        if failed or outcome.errors:
            raise SystemExit(f"stock correctness check failed: {outcome.scenario}: {outcome.note}")

    # The baseline again at the end: on a shared VM the machine itself drifts, and two baselines far apart
    # say the run is not to be trusted. Ratios use their mean.
    base_again = scenario(
        "baseline-again", "baseline again, after the scenarios", f"{stack.baseline_url}/item", auth=False
    )
    if base is not None and base_again is not None:
        drift = base_again.requests_per_s / base.requests_per_s - 1
        base_again.note = f"drift {drift:+.0%} from the first baseline"
    if settings.selects("startup"):
        results += startup_times(stack.env, stack.log_dir)
    if base is not None:
        base_rate = base.requests_per_s
        if base_again is not None:
            base_rate = (base.requests_per_s + base_again.requests_per_s) / 2
        for r in results:
            if r.requests_per_s:
                r.ratio_to_baseline = round(r.requests_per_s / base_rate, 3)
    return results


def parse_args(argv: list[str] | None) -> tuple[Settings, bool]:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "64")))
    parser.add_argument(
        "--only", default="", help="run the scenarios whose key contains this text (several: comma-separated)"
    )
    parser.add_argument("--serve", action="store_true", help="start and seed, then wait (for profiling)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--tracing",
        default=os.environ.get("BENCH_TRACING", "off"),
        help="off, or a sampling ratio (1, 0.05); several comma-separated are run one after the other",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", "1")),
        help="with several --tracing settings: cycle through them this many times (medians are reported)",
    )
    args = parser.parse_args(argv)
    tracing = tuple(part.strip() for part in args.tracing.split(",") if part.strip())
    for setting in tracing:
        if setting != "off" and not 0 <= float(setting) <= 1:
            parser.error(f"--tracing: {setting!r} is neither off nor a ratio from 0 to 1")
    settings = Settings(
        args.duration, args.connections, args.only, args.out, tracing or ("off",), max(1, args.rounds)
    )
    return settings, args.serve


def print_tracing_comparison(results: list[Result], settings: tuple[str, ...]) -> None:
    """Each scenario's throughput and latency per tracing setting, relative to the first setting (off when
    it was run) and to the baseline of the same setting's run."""
    first = settings[0]

    def median(key: str, tracing: str, field: str) -> float | None:
        values = [getattr(r, field) for r in results if r.key == key and r.tracing == tracing]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    measured = [r.key for r in results if r.requests_per_s and not r.key.startswith("baseline")]
    keys = list(dict.fromkeys(measured))
    print(f"\ntracing: medians over the rounds, relative to {first}")
    header = f"{'scenario':44} {'tracing':>7} {'req/s':>8} {'vs ' + first:>8}"
    versus_first = "vs " + first
    header += f" {'p50 ms':>8} {'p99 ms':>8} {'x base':>7} {versus_first:>8}"
    print(f"{header} {'cpu µs':>7} {versus_first:>8}")
    for key in keys:
        scenario = next(r.scenario for r in results if r.key == key)
        reference = median(key, first, "requests_per_s") or 1
        reference_ratio = median(key, first, "ratio_to_baseline")
        reference_cpu = median(key, first, "cpu_us_per_request")
        for tracing in settings:
            cpu = median(key, tracing, "cpu_us_per_request")
            cpu_shown = f"{cpu:.0f}" if cpu is not None else ""
            cpu_versus = f"{cpu / reference_cpu:.2f}" if cpu is not None and reference_cpu else ""
            rps = median(key, tracing, "requests_per_s") or 0
            ratio = median(key, tracing, "ratio_to_baseline")
            shown = f"{ratio:.3f}" if ratio is not None else ""
            versus = f"{ratio / reference_ratio:.2f}" if ratio is not None and reference_ratio else ""
            print(
                f"{scenario[:44]:44} {tracing:>7} {rps:8.0f} {rps / reference:8.2f} "
                f"{median(key, tracing, 'p50_ms') or 0:8.2f} {median(key, tracing, 'p99_ms') or 0:8.2f} "
                f"{shown:>7} {versus:>8} {cpu_shown:>7} {cpu_versus:>8}"
            )


def main(argv: list[str] | None = None) -> None:
    settings, serve = parse_args(argv)
    wrk = ensure_wrk()
    started = time.perf_counter()
    results: list[Result] = []
    exported: dict[str, dict[str, int]] = {}
    # Several settings share one database, seeded once, and take turns round after round, so that a machine
    # whose speed drifts (a shared VM) weighs on each of them alike.
    record_ids: list[int] | None = None
    with OtlpReceiver(keep=False) as receiver, bench_database() as database:
        for round_number in range(settings.rounds):
            for tracing in settings.tracing:
                if len(settings.tracing) > 1 or tracing != "off":
                    print(f"\n== tracing {tracing}, round {round_number + 1} ==", flush=True)
                before = (receiver.requests, receiver.bytes)
                environment = tracing_environment(tracing, receiver)
                with running_stack(database, environment, record_ids) as stack:
                    record_ids = stack.record_ids
                    run = bench_once(stack, settings, wrk, serve)
                if run is None:
                    return
                for r in run:
                    r.tracing = tracing
                results += run
                counts = exported.setdefault(tracing, {"otlp_requests": 0, "otlp_bytes": 0})
                counts["otlp_requests"] += receiver.requests - before[0]
                counts["otlp_bytes"] += receiver.bytes - before[1]
    if len(settings.tracing) > 1:
        print_tracing_comparison(results, settings.tracing)
        for tracing, counts in exported.items():
            sent = f"{counts['otlp_requests']} OTLP exports, {counts['otlp_bytes']:,} bytes"
            print(f"  tracing {tracing}: {sent}")
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duration_s": settings.duration,
        "connections": settings.connections,
        "wrk_threads": 1,
        "tracing": list(settings.tracing),
        "rounds": settings.rounds,
        "exported": exported,
        "total_s": round(time.perf_counter() - started, 1),
    }
    settings.out.parent.mkdir(parents=True, exist_ok=True)
    settings.out.write_text(
        json.dumps({"machine": machine, "results": [asdict(r) for r in results]}, indent=2)
    )
    print(f"\nwrote {settings.out} in {machine['total_s']} s")


def bench_once(stack: Stack, settings: Settings, wrk: str, serve: bool) -> list[Result] | None:
    """One benchmark run on a running stack: its results (None when it only served)."""
    if serve:
        print(
            f"gateway {stack.gateway.url} (pid {stack.gateway.process.pid}), products "
            f"{stack.products.url} (pid {stack.products.process.pid}), inventory {stack.inventory.url} "
            f"(pid {stack.inventory.process.pid}), baseline {stack.baseline_url}\n"
            f"token {stack.token}\nrecords {stack.record_ids[:3]}...; Ctrl-C to stop",
            flush=True,
        )
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            signal.pause()
        except KeyboardInterrupt:
            return None
    print(f"{settings.duration} s per scenario, {settings.connections} connections", flush=True)
    results = run_scenarios(stack, wrk, settings)
    print_table(results)
    print(f"service logs in {stack.log_dir}")
    return results


if __name__ == "__main__":
    main()
