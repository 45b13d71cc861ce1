"""RDS rotates the master password it manages; ECS resolves secrets only at task start. A service whose
credentials stop working must stop itself (gracefully) so ECS replaces it with a task holding the new ones."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from tests.support.databases import admin_postgres_url, create_postgres_database, drop_postgres_database
from tests.support.processes import start_service


async def _admin(sql: str, database_url: str | None = None) -> None:
    conn = await asyncpg.connect(database_url or admin_postgres_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_rejected_credentials_stop_the_service_gracefully(log_dir: Path) -> None:
    role = f"stockwiz_rot_{uuid.uuid4().hex[:8]}"
    database = asyncio.run(create_postgres_database())
    asyncio.run(_admin(f'CREATE ROLE "{role}" LOGIN'))
    asyncio.run(_admin(f'GRANT ALL ON SCHEMA public TO "{role}"', database))
    service_url = make_url(database).set(username=role, password=None).render_as_string(hide_password=False)
    service = start_service(
        "products", log_dir, env={"DATABASE_URL": service_url, "DB_POOL_SIZE": "1", "DB_MAX_OVERFLOW": "0"}
    )
    try:
        # "Rotate": the role may no longer log in, and its open connection is closed.
        asyncio.run(_admin(f'ALTER ROLE "{role}" NOLOGIN'))
        asyncio.run(
            _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        )
        # The first request may still find the killed connection in the pool; the next must reconnect.
        statuses = []
        for _ in range(3):
            try:
                urllib.request.urlopen(f"{service.url}/products", timeout=10)
                statuses.append(200)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
            except OSError:
                break  # the service has stopped listening
        assert statuses and set(statuses) == {503}, statuses
        assert service.process.wait(15) == 0, service.log()
        log = service.log()
        assert "the database rejected our credentials" in log
        assert '"message":"stopped"' in log
    finally:
        service.stop()
        asyncio.run(drop_postgres_database(database))
        asyncio.run(_admin(f'DROP ROLE IF EXISTS "{role}"'))
