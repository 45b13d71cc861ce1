"""Every way PostgreSQL can be unavailable answers 503 `database-unavailable` with Retry-After, from real
service processes on a throw-away database with a dedicated role: connections refused (ALLOW_CONNECTIONS
false, CONNECTION LIMIT 0), the role's connection limit exhausted, backends terminated (what an RDS failover
or an administrator does, also to a query in flight), and the pool without a free connection. The outage is
logged once when it starts and once when it ends, never with a traceback per request; and the gateway's
breaker counts these answers."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from gateway.app import create_app as create_gateway
from stockwiz_runtime.db import Database, DatabaseUnavailable, normalize_database_url
from tests.gateway.conftest import gateway_config
from tests.support.databases import admin_postgres_url, create_postgres_database, drop_postgres_database
from tests.support.processes import ServiceProcess, start_service
from tests.support.warehouses import make_warehouses

pytestmark = pytest.mark.postgres  # its own PostgreSQL databases, roles or servers

UNAVAILABLE = "urn:stockwiz:problem:database-unavailable"


async def _admin(sql: str, database_url: str | None = None) -> Any:
    conn = await asyncpg.connect(database_url or admin_postgres_url())
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def admin(sql: str, database_url: str | None = None) -> Any:
    return asyncio.run(_admin(sql, database_url))


@dataclass
class Outage:
    """A throw-away database, a role of our own (superusers ignore connection limits), and its URL."""

    database: str
    name: str
    role: str
    role_url: str

    @property
    def terminate_sql(self) -> str:
        return f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'"

    def terminate(self) -> None:
        admin(self.terminate_sql)


@pytest.fixture
def outage() -> Iterator[Outage]:
    database = asyncio.run(create_postgres_database())
    name = str(make_url(database).database)
    role = f"stockwiz_out_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE ROLE "{role}" LOGIN')
    admin(f'GRANT ALL ON SCHEMA public TO "{role}"', database)
    role_url = make_url(database).set(username=role, password=None).render_as_string(hide_password=False)
    try:
        yield Outage(database, name, role, role_url)
    finally:
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true CONNECTION LIMIT -1')
        asyncio.run(drop_postgres_database(database))
        admin(f'DROP ROLE IF EXISTS "{role}"')


def call(
    url: str, method: str = "GET", body: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def assert_unavailable(answers: list[tuple[int, dict[str, str], Any]]) -> None:
    for status, headers, body in answers:
        assert status == 503, (status, body)
        assert headers["Content-Type"] == "application/problem+json"
        assert body["type"] == UNAVAILABLE, body
        assert int(headers["Retry-After"]) >= 1


def requests_of(service: ServiceProcess, product_id: int) -> list[tuple[int, dict[str, str], Any]]:
    """Every kind of database use: the fast read path, a read transaction, a write."""
    return [
        call(f"{service.url}/products/{product_id}"),
        call(f"{service.url}/products?limit=5"),
        call(f"{service.url}/products?q=lap"),
        call(f"{service.url}/products/categories"),
        call(f"{service.url}/products", "POST", {"name": "Another", "price": 1}),
        call(f"{service.url}/products/{product_id}", "PUT", {"price": 2}),
    ]


def assert_logged_once(service: ServiceProcess, refused: int) -> None:
    log = service.log()
    assert log.count("database unavailable:") == 1, log
    assert "Traceback" not in log and '"logger":"stockwiz.errors"' not in log, log
    lines = [json.loads(line) for line in log.splitlines() if "database available again" in line]
    assert len(lines) == 1, log
    assert f"; {refused} requests were answered 503" in lines[0]["message"]


def products_service(outage: Outage, log_dir: Path, **env: str) -> tuple[ServiceProcess, int]:
    service = start_service("products", log_dir, env={"DATABASE_URL": outage.role_url, **env})
    status, _, product = call(
        f"{service.url}/products", "POST", {"name": "Laptop", "price": 10, "sku": "L-1"}
    )
    assert status == 201
    return service, int(product["id"])


@pytest.mark.parametrize("refusal", ["ALLOW_CONNECTIONS false", "CONNECTION LIMIT 0"])
def test_a_database_refusing_connections_is_503_logged_once(
    outage: Outage, log_dir: Path, refusal: str
) -> None:
    service, product_id = products_service(outage, log_dir)
    try:
        admin(f'ALTER DATABASE "{outage.name}" {refusal}')
        outage.terminate()  # the pooled connections go too: every request must connect anew
        answers = requests_of(service, product_id) + requests_of(service, product_id)
        assert_unavailable(answers)
        readiness = call(f"{service.url}/readyz")
        assert readiness[0] == 503 and readiness[2]["checks"] == {"database": "failing"}
        admin(f'ALTER DATABASE "{outage.name}" ALLOW_CONNECTIONS true CONNECTION LIMIT -1')
        assert call(f"{service.url}/products/{product_id}")[0] == 200
        assert call(f"{service.url}/products", "POST", {"name": "Back", "price": 1})[0] == 201
        assert_logged_once(service, len(answers))
    finally:
        service.stop()


def test_the_roles_connection_limit_exhausted_is_503(outage: Outage, log_dir: Path) -> None:
    service, product_id = products_service(outage, log_dir, DB_POOL_SIZE="3")

    async def scenario() -> list[tuple[int, dict[str, str], Any]]:
        await _admin(f'ALTER ROLE "{outage.role}" CONNECTION LIMIT 2')
        await _admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{outage.role}'"
        )
        # Someone else holds the role's two connections.
        holders = [await asyncpg.connect(outage.role_url) for _ in range(2)]
        try:
            with ThreadPoolExecutor(3) as pool:
                return await asyncio.get_running_loop().run_in_executor(
                    pool, lambda: requests_of(service, product_id)
                )
        finally:
            for holder in holders:
                await holder.close()

    try:
        answers = asyncio.run(scenario())
        assert_unavailable(answers)
        assert "too many connections for role" in service.log()
        assert call(f"{service.url}/products/{product_id}")[0] == 200
        assert_logged_once(service, len(answers))
    finally:
        service.stop()


def test_backends_terminated_idle_or_mid_query_are_503(outage: Outage, log_dir: Path) -> None:
    """A failover or an administrator ends every session, idle ones and ones running a query."""
    service, product_id = products_service(outage, log_dir, DB_POOL_SIZE="2", DB_LOCK_TIMEOUT="30")
    try:

        async def mid_query() -> tuple[int, dict[str, str], Any]:
            # A write that waits on a row lock is mid-query when its backend is terminated.
            holder = await asyncpg.connect(outage.database)
            try:
                async with holder.transaction():
                    await holder.execute("SELECT 1 FROM products WHERE id = $1 FOR UPDATE", product_id)
                    loop = asyncio.get_running_loop()
                    pending = loop.run_in_executor(
                        None, lambda: call(f"{service.url}/products/{product_id}", "PUT", {"price": 3})
                    )
                    for _ in range(100):
                        waiting = await holder.fetchval(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE usename = $1 AND wait_event_type = 'Lock'",
                            outage.role,
                        )
                        if waiting:
                            break
                        await asyncio.sleep(0.05)
                    assert waiting == 1
                    await holder.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                        outage.role,
                    )
                    return await pending
            finally:
                await holder.close()

        answers = [asyncio.run(mid_query())]
        # The idle pooled connections were terminated too: at most one request each finds one dead.
        answers += [answer for answer in requests_of(service, product_id) if answer[0] >= 400]
        assert_unavailable(answers)
        assert call(f"{service.url}/products/{product_id}")[2]["price"] != 3  # that write never happened
        assert_logged_once(service, len(answers))
    finally:
        service.stop()


def test_no_free_pooled_connection_is_503_within_the_pool_timeout(outage: Outage, log_dir: Path) -> None:
    service, product_id = products_service(
        outage, log_dir, DB_POOL_SIZE="1", DB_POOL_TIMEOUT="0.5", DB_LOCK_TIMEOUT="30"
    )
    try:

        async def scenario() -> tuple[float, list[tuple[int, dict[str, str], Any]]]:
            holder = await asyncpg.connect(outage.database)
            try:
                async with holder.transaction():
                    await holder.execute("SELECT 1 FROM products WHERE id = $1 FOR UPDATE", product_id)
                    loop = asyncio.get_running_loop()
                    # This write takes the pool's one connection and waits on the lock...
                    blocked = loop.run_in_executor(
                        None, lambda: call(f"{service.url}/products/{product_id}", "PUT", {"price": 4})
                    )
                    await asyncio.sleep(0.5)
                    started = time.monotonic()
                    # ... so every other request waits DB_POOL_TIMEOUT for a connection, once.
                    answers = await loop.run_in_executor(None, lambda: requests_of(service, product_id))
                    elapsed = time.monotonic() - started
                await blocked
                return elapsed, answers
            finally:
                await holder.close()

        elapsed, answers = asyncio.run(scenario())
        assert_unavailable(answers)
        assert elapsed < len(answers) * 1.5  # 0.5 s each, not twice that (the fast path does not wait again)
        assert_logged_once(service, len(answers))
    finally:
        service.stop()


def test_inventory_writes_and_batched_adjustments_are_503(outage: Outage, log_dir: Path) -> None:
    products, product_id = products_service(outage, log_dir)
    inventory = start_service("inventory", log_dir, env={"DATABASE_URL": outage.role_url})
    try:
        make_warehouses(inventory.url, ("A", "B"))
        status, _, record = call(
            f"{inventory.url}/inventory", "POST", {"product_id": product_id, "warehouse": "A", "quantity": 5}
        )
        assert status == 201
        admin(f'ALTER DATABASE "{outage.name}" ALLOW_CONNECTIONS false')
        outage.terminate()
        adjust = f"{inventory.url}/inventory/{record['id']}/adjust"
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda _: call(adjust, "POST", {"delta": 1, "reason": "receive"}), range(8))
            )
        answers += [
            call(f"{inventory.url}/inventory/{record['id']}"),
            call(f"{inventory.url}/inventory/summary?product_ids={product_id}"),
            call(
                f"{inventory.url}/inventory/transfer",
                "POST",
                {"product_id": product_id, "from_warehouse": "A", "to_warehouse": "B", "quantity": 1},
            ),
        ]
        assert_unavailable(answers)
        admin(f'ALTER DATABASE "{outage.name}" ALLOW_CONNECTIONS true')
        assert call(f"{inventory.url}/inventory/{record['id']}")[2]["quantity"] == 5
        assert_logged_once(inventory, len(answers))
    finally:
        inventory.stop()
        products.stop()


async def test_the_gateways_breaker_counts_database_unavailable(
    outage: Outage, log_dir: Path, aiohttp_client: Any
) -> None:
    """The gateway counts every upstream 503 against the service's breaker: with the database refusing, the
    breaker opens and the gateway answers at once without calling the service."""
    products = start_service("products", log_dir, env={"DATABASE_URL": outage.role_url})
    try:
        gateway = await aiohttp_client(
            create_gateway(
                gateway_config(
                    products.url, products.url, BREAKER_FAILURE_THRESHOLD="3", BREAKER_RESET_SECONDS="30"
                )
            )
        )
        await _admin(f'ALTER DATABASE "{outage.name}" ALLOW_CONNECTIONS false')
        await _admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{outage.name}'"
        )
        for _ in range(3):
            response = await gateway.get("/api/products")
            assert response.status == 503
            assert (await response.json())["type"] == UNAVAILABLE  # the service's own problem, passed on
        response = await gateway.get("/api/products")
        assert response.status == 503
        assert (await response.json())["type"] == "urn:stockwiz:problem:upstream-unavailable"
        assert 25 <= int(response.headers["Retry-After"]) <= 30
        assert products.log().count('"route":"/products","path":"/products","status":503') == 3
    finally:
        products.stop()


async def test_a_server_that_never_answers_is_503_within_the_pool_timeout() -> None:
    """A host that accepts connections and then says nothing (a failover in progress, a black hole)."""
    silent: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    db = Database(normalize_database_url(f"postgresql://nobody@127.0.0.1:{port}/none"), pool_timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as refused:
            async with db.read():
                pass
        assert time.monotonic() - started < 3
        problem = db.problem_for(refused.value)
        assert problem is not None and (problem.status, problem.kind) == (503, "database-unavailable")
    finally:
        await db.dispose()
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()
