"""A credential rotation is lived without a restart: a running service reads its password again for every
new connection (stockwiz_runtime.credentials), retries a refused login a bounded number of times, and keeps
serving throughout. In AWS the source is an IAM token per connection; here it is a password file the test
rewrites, on a PostgreSQL that checks passwords and serves TLS (tests/support/private_postgres.py), with the
service verifying the server certificate (verify-full) as it does against RDS."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from stockwiz_runtime.config import load_config
from stockwiz_runtime.dbsetup import SetupConfig, setup
from tests.support.private_postgres import PrivateCluster
from tests.support.processes import ServiceProcess, start_service

pytestmark = pytest.mark.postgres  # its own PostgreSQL databases, roles or servers


@dataclass
class Rotation:
    cluster: PrivateCluster
    database: str
    app: str
    owner: str
    password_file: Path

    async def admin(self, statement: str, *args: object) -> object:
        context = ssl.create_default_context(cafile=str(self.cluster.ca_file))
        conn = await asyncpg.connect(self.cluster.admin_url(self.database), ssl=context)
        try:
            return await conn.fetchval(statement, *args)
        finally:
            await conn.close()

    def set_password_in_database(self, password: str) -> None:
        asyncio.run(self.admin(f"ALTER ROLE \"{self.app}\" PASSWORD '{password}'"))

    def set_password_in_source(self, password: str) -> None:
        # As a secrets agent does: the new file replaces the old one at once, never half-written.
        staging = self.password_file.with_suffix(".new")
        staging.write_text(password + "\n")
        os.replace(staging, self.password_file)

    def sessions_since(self, moment: datetime) -> int:
        count = asyncio.run(
            self.admin(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND backend_start > $2",
                self.app,
                moment,
            )
        )
        assert isinstance(count, int)
        return count

    def server_now(self) -> datetime:
        now = asyncio.run(self.admin("SELECT clock_timestamp()"))
        assert isinstance(now, datetime)
        return now


@pytest.fixture
def rotation(private_postgres: PrivateCluster, tmp_path: Path) -> Iterator[Rotation]:
    suffix = uuid.uuid4().hex[:8]
    cluster = private_postgres
    state = Rotation(
        cluster, f"rotation_{suffix}", f"swz_app_{suffix}", f"swz_owner_{suffix}", tmp_path / "pw"
    )
    asyncio.run(_on_postgres(cluster, f'CREATE DATABASE "{state.database}"'))
    config = load_config(
        SetupConfig,
        {
            "DATABASE_URL": cluster.admin_url(state.database),
            "DB_SSLMODE": "verify-full",
            "DB_SSLROOTCERT": str(cluster.ca_file),
            "DB_APP_USER": state.app,
            "DB_OWNER_ROLE": state.owner,
        },
    )
    asyncio.run(setup(config))
    try:
        yield state
    finally:
        asyncio.run(_on_postgres(cluster, f'DROP DATABASE IF EXISTS "{state.database}" WITH (FORCE)'))
        for role in (state.app, state.owner):
            asyncio.run(_on_postgres(cluster, f'DROP ROLE IF EXISTS "{role}"'))


async def _on_postgres(cluster: PrivateCluster, statement: str) -> None:
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    conn = await asyncpg.connect(cluster.admin_url(), ssl=context)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class Load:
    """Clients reading and writing products until stopped; each may retry a failed request `retries` times."""

    url: str
    retries: int = 0
    clients: int = 4
    succeeded: int = 0
    retried: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _request(self, method: str, path: str, body: dict[str, object] | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read())

    def _one(self, method: str, path: str, body: dict[str, object] | None = None) -> object:
        for attempt in range(self.retries + 1):
            try:
                result = self._request(method, path, body)
            except (urllib.error.URLError, OSError) as error:
                if attempt == self.retries:
                    with self._lock:
                        self.failures.append(f"{method} {path}: {error}")
                    return None
                with self._lock:
                    self.retried += 1
                continue
            with self._lock:
                self.succeeded += 1
            return result
        return None

    def _client(self, number: int) -> None:
        sequence = 0
        while not self._stop.is_set():
            sequence += 1
            self._one("GET", "/products?limit=5")
            body = {"name": "Lamp", "price": 5, "sku": f"ROT-{number}-{sequence}-{uuid.uuid4().hex[:6]}"}
            created = self._one("POST", "/products", body)
            if isinstance(created, dict):
                self._one("GET", f"/products/{created['id']}")

    def __enter__(self) -> Load:
        self._threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def _start(rotation: Rotation, log_dir: Path, password: str) -> ServiceProcess:
    rotation.set_password_in_database(password)
    rotation.set_password_in_source(password)
    cluster = rotation.cluster
    return start_service(
        "products",
        log_dir,
        env={
            "DB_HOST": "localhost",
            "DB_PORT": str(cluster.port),
            "DB_NAME": rotation.database,
            "DB_USER": rotation.app,
            "DB_PASSWORD_FILE": str(rotation.password_file),
            "DB_SSLMODE": "verify-full",
            "DB_SSLROOTCERT": str(cluster.ca_file),
            "MIGRATE_ON_START": "false",
            "DB_POOL_SIZE": "4",
            # Every connection is replaced a second after it opened, so new logins keep happening (in AWS:
            # pool growth, DB_POOL_RECYCLE, a failover).
            "DB_POOL_RECYCLE": "1",
        },
    )


def test_a_rotation_under_load_fails_no_request(rotation: Rotation, log_dir: Path) -> None:
    service = _start(rotation, log_dir, "first-password")
    try:
        with Load(service.url) as load:
            time.sleep(1.5)
            before = load.succeeded
            rotated_at = rotation.server_now()
            # The database changes first and the source a moment later, as Secrets Manager's single-user
            # rotation does: a login in between is refused and retried after reading the source again.
            rotation.set_password_in_database("second-password")
            time.sleep(0.3)
            rotation.set_password_in_source("second-password")
            time.sleep(3)
        assert load.failures == []
        assert load.succeeded > before + 20, (before, load.succeeded)
        # The service really logged in again after the rotation, with the new password.
        assert rotation.sessions_since(rotated_at) >= 1
        assert service.process.poll() is None, service.log()[-3000:]
    finally:
        assert service.stop() == 0


def test_a_rotation_with_all_sessions_killed_costs_at_most_one_retry(
    rotation: Rotation, log_dir: Path
) -> None:
    service = _start(rotation, log_dir, "first-password")
    try:
        with Load(service.url, retries=1) as load:
            time.sleep(1)
            rotation.set_password_in_database("third-password")
            # Every session of the service ends now, so every login until the source changes is refused.
            killed = asyncio.run(
                rotation.admin(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1",
                    rotation.app,
                )
            )
            assert isinstance(killed, int) and killed >= 1
            time.sleep(0.5)
            rotation.set_password_in_source("third-password")
            time.sleep(3)
        # A request that met a killed connection got a 503 and succeeded when retried once (as a client
        # honouring Retry-After does); none failed twice, and logins waited for the new password.
        assert load.failures == []
        assert load.succeeded > 20
        log = service.log()
        assert "the database refused our credentials; reading them again" in log
        assert service.process.poll() is None, log[-3000:]
    finally:
        assert service.stop() == 0
