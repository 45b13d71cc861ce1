"""`make bench`: how fast StockWiz is on this machine, measured with wrk against real processes.

It starts the three services on a fresh PostgreSQL database with production settings (INFO JSON logs to a
file, auth on, no debug), seeds 1,000 products with stock in 3 warehouses, runs wrk (a separate C process,
so the load generator costs little CPU next to the servers) for each scenario, checks stock correctness
after the contention runs, and prints a table and writes build/bench/results.json.

Environment: BENCH_DURATION (seconds per scenario, default 10), BENCH_CONNECTIONS (default 64),
STOCKWIZ_BENCH_POSTGRES_URL (default: the tests' server, postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench"
sys.path[:0] = [str(REPO), str(REPO / "apps")]

from tests.support.databases import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.processes import ServiceProcess, free_port, start_service  # noqa: E402

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
PRODUCTS = 1000
WAREHOUSES = ("Warehouse A", "Warehouse B", "Warehouse C")

# wrk's Lua hooks: pick a target per request and report the summary as JSON on the last line.
LUA_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('\\n{"requests": %d, "seconds": %f, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}\\n', summary.requests, summary.duration / 1e6, summary.errors.status,
    errors, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
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
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"delta": 1, "reason": "receive"}'
request = function()
  return wrk.format(nil, string.format(PATH_FORMAT, IDS[math.random(1, #IDS)]))
end
"""


@dataclass
class Result:
    scenario: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    ratio_to_baseline: float | None = None
    note: str = ""


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
    wrk: str, url: str, lua: str, *, token: str | None, connections: int = CONNECTIONS
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + LUA_REPORT)
    command = [wrk, "-t1", f"-c{connections}", f"-d{DURATION}s", "--timeout", "5s", "-s", script.name]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    return json.loads(output.strip().splitlines()[-1])


def result(name: str, raw: dict[str, Any], note: str = "") -> Result:
    return Result(
        scenario=name,
        requests_per_s=round(raw["requests"] / raw["seconds"], 1),
        p50_ms=round(raw["p50_ms"], 2),
        p99_ms=round(raw["p99_ms"], 2),
        errors=raw["non2xx"] + raw["socket_errors"],
        requests=raw["requests"],
        note=note,
    )


def random_path(path_format: str, count: int) -> str:
    return LUA_RANDOM_PATH.replace("PATH_FORMAT", json.dumps(path_format)).replace("COUNT", str(count))


async def seed(gateway: str, token: str) -> list[int]:
    """1,000 products with stock in three warehouses, through the API as a client would create them."""
    headers = {"Authorization": f"Bearer {token}"}
    record_ids: list[int] = []
    connector = aiohttp.TCPConnector(limit=16)
    async with aiohttp.ClientSession(gateway, headers=headers, connector=connector) as session:

        async def one(index: int) -> None:
            body = {
                "name": f"Bench product {index:04d}",
                "price": f"{10 + index % 90}.99",
                "category": f"Category {index % 12}",
                "sku": f"BENCH-{index:04d}",
                "description": "Benchmark item",
            }
            body["price"] = float(body["price"])
            async with session.post("/api/products", json=body) as response:
                assert response.status == 201, await response.text()
                product_id = (await response.json())["id"]
            for number, warehouse in enumerate(WAREHOUSES):
                stock = {"product_id": product_id, "warehouse": warehouse, "quantity": 100 + number * 50}
                async with session.post("/api/inventory", json=stock) as response:
                    assert response.status == 201, await response.text()
                    record_ids.append((await response.json())["id"])

        await asyncio.gather(*(one(index) for index in range(PRODUCTS)))
    return sorted(record_ids)


async def stock_state(database_url: str, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per record: (quantity, sum of its ledger movements)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT i.id, i.quantity,"
            " COALESCE((SELECT SUM(delta) FROM stock_movements m WHERE m.inventory_id = i.id), 0) AS ledger"
            " FROM inventory i WHERE i.id = ANY($1::int[])",
            ids,
        )
    finally:
        await conn.close()
    return {row["id"]: (row["quantity"], row["ledger"]) for row in rows}


def startup_times(env: dict[str, str], log_dir: Path) -> list[Result]:
    """A second instance of each service, started while the first runs (as a scale-out would)."""
    results = []
    for module in ("products", "inventory", "gateway"):
        imported = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time; t = time.perf_counter(); import {module}.app; print(time.perf_counter() - t)",
            ],
            env={**os.environ, "PYTHONPATH": str(REPO / "apps")},
            capture_output=True,
            text=True,
            check=True,
        )
        started = time.perf_counter()
        service = start_service(module, log_dir, env=env)
        ready = time.perf_counter() - started
        service.stop()
        results.append(
            Result(
                f"start-up: {module} to /readyz 200",
                0,
                round(ready * 1000, 1),
                0,
                0,
                0,
                note=f"import {float(imported.stdout) * 1000:.0f} ms",
            )
        )
    return results


def print_table(results: list[Result]) -> None:
    print(f"\n{'scenario':58} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'x base':>7}  note")
    for r in results:
        ratio = f"{r.ratio_to_baseline:.2f}" if r.ratio_to_baseline is not None else ""
        rps = f"{r.requests_per_s:.0f}" if r.requests_per_s else ""
        print(f"{r.scenario:58} {rps:>9} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:7d} {ratio:>7}  {r.note}")


def main() -> None:
    wrk = ensure_wrk()
    OUT.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="stockwiz-bench-"))
    os.environ.setdefault(
        "STOCKWIZ_TEST_POSTGRES_URL",
        os.environ.get("STOCKWIZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    database = asyncio.run(create_postgres_database())
    token = secrets.token_urlsafe(32)
    api_tokens = json.dumps(
        [{"name": "bench", "scope": "write", "sha256": hashlib.sha256(token.encode()).hexdigest()}]
    )
    production = {"LOG_LEVEL": "INFO", "DATABASE_URL": database, "SEED_DEMO_DATA": "false"}
    services: list[ServiceProcess] = []
    results: list[Result] = []
    try:
        products = start_service("products", log_dir, env=production)
        inventory = start_service("inventory", log_dir, env=production)
        services += [products, inventory]
        gateway = start_service(
            "gateway",
            log_dir,
            env={
                **production,
                "PRODUCT_SERVICE_URL": products.url,
                "INVENTORY_SERVICE_URL": inventory.url,
                "API_TOKENS": api_tokens,
                "RATE_LIMIT_PER_MINUTE": "100000000",
                "RATE_LIMIT_BURST": "100000000",
            },
        )
        services.append(gateway)
        baseline_port = free_port()
        baseline = subprocess.Popen(
            [sys.executable, str(REPO / "tools" / "bench_baseline.py")],
            env={**os.environ, "PORT": str(baseline_port)},
        )
        print(f"seeding {PRODUCTS} products x {len(WAREHOUSES)} warehouses ...", flush=True)
        started = time.perf_counter()
        record_ids = asyncio.run(seed(gateway.url, token))
        print(
            f"seeded in {time.perf_counter() - started:.1f} s; "
            f"{DURATION} s per scenario, {CONNECTIONS} connections",
            flush=True,
        )

        def scenario(name: str, url: str, lua: str = "", auth: bool = True, **kw: Any) -> Result:
            print(f"  {name} ...", flush=True)
            outcome = result(name, run_wrk(wrk, url, lua, token=token if auth else None, **kw))
            results.append(outcome)
            return outcome

        base = scenario(
            "baseline: minimal aiohttp JSON handler", f"http://127.0.0.1:{baseline_port}/item", auth=False
        )
        scenario(
            "GET /api/products/{id} via gateway (product + stock)",
            gateway.url,
            random_path("/api/products/%d", PRODUCTS),
        )
        scenario(
            "GET /products/{id} on the product service",
            products.url,
            random_path("/products/%d", PRODUCTS),
            auth=False,
        )
        scenario("GET /api/products?limit=100", f"{gateway.url}/api/products?limit=100")
        plain_100 = results[-1]
        scenario("GET /api/products?limit=1000", f"{gateway.url}/api/products?limit=1000")
        full_100 = scenario("GET /api/products-full?limit=100", f"{gateway.url}/api/products-full?limit=100")
        cost = plain_100.requests_per_s / max(full_100.requests_per_s, 1)
        full_100.note = f"{cost:.2f}x the cost of a plain list of 100"

        # Contention: every request adds 1; afterwards each record's quantity must equal its ledger sum, and
        # the growth must match what clients saw succeed (up to requests in flight when wrk stopped).
        for label, ids in (("1 record", record_ids[:1]), ("100 records", record_ids[1:101])):
            before = asyncio.run(stock_state(database, ids))
            lua = LUA_ADJUST.replace("PATH_FORMAT", json.dumps("/api/inventory/%d/adjust")).replace(
                "IDS", "{" + ",".join(map(str, ids)) + "}"
            )
            outcome = scenario(f"POST /api/inventory/{{id}}/adjust, {label}", gateway.url, lua)
            after = asyncio.run(stock_state(database, ids))
            grown = sum(after[i][0] - before[i][0] for i in ids)
            succeeded = outcome.requests - outcome.errors
            consistent = all(quantity == ledger for quantity, ledger in after.values())
            exact = succeeded <= grown <= succeeded + CONNECTIONS
            outcome.note = (
                f"ledger == quantity: {consistent}; +{grown} units for {succeeded} successes "
                f"({'no lost update' if exact else 'MISMATCH'})"
            )
            if not (consistent and exact):
                raise SystemExit(f"stock correctness check failed: {outcome.note}")

        results += startup_times(
            {
                **production,
                "PRODUCT_SERVICE_URL": products.url,
                "INVENTORY_SERVICE_URL": inventory.url,
                "API_TOKENS": api_tokens,
            },
            log_dir,
        )
        for r in results:
            if r.requests_per_s:
                r.ratio_to_baseline = round(r.requests_per_s / base.requests_per_s, 3)
        baseline.terminate()
        baseline.wait()
    finally:
        for service in services:
            service.stop()
        asyncio.run(drop_postgres_database(database))
    print_table(results)
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duration_s": DURATION,
        "connections": CONNECTIONS,
        "wrk_threads": 1,
    }
    (OUT / "results.json").write_text(
        json.dumps({"machine": machine, "results": [asdict(r) for r in results]}, indent=2)
    )
    print(f"\nwrote {OUT / 'results.json'}; service logs in {log_dir}")


if __name__ == "__main__":
    main()
