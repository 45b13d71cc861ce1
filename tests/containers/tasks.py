"""The three service images started as their ECS tasks, against a private PostgreSQL: shared by the image
tests (test_images.py) and `make capacity` (tools/capacity.py), which runs the same tasks at each stack's
size.

Each container runs as tests/containers/fargate.py translates its task definition (read-only root, the
image's uid, /tmp the Fargate way, the task's cpu and memory); PostgreSQL is a private cluster with TLS and
password checks (tests/support/private_postgres.py) in which the app role logs in as RDS IAM lets it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg

from stockwiz_runtime.db import tls_option
from tests.containers import fargate
from tests.containers.engine import Container
from tests.containers.images_built import BuiltImage
from tests.support.private_postgres import SERVER_NAME, PrivateCluster, private_cluster
from tests.support.processes import free_port, wait_ready

# Inside the containers: where the test CA is mounted (read-only), and the task role's stand-in.
CA_IN_CONTAINER = "/run/stockwiz-test/ca.crt"
TASK_ROLE_ENV = {"AWS_ACCESS_KEY_ID": "AKIDSTOCKWIZTEST", "AWS_SECRET_ACCESS_KEY": "stockwiz-test-secret"}


@dataclass
class Running:
    service: str
    container: Container
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Database:
    cluster: PrivateCluster
    name: str


@contextmanager
def task_database(stack: str = "dev") -> Iterator[Database]:
    """A private PostgreSQL with TLS and password checks; the app role gets in as RDS IAM would let it."""
    app_user = fargate.task_definitions(stack)["products"].environment()["DB_USER"]
    with private_cluster(iam_users=(app_user,)) as cluster:

        async def prepare() -> None:
            conn = await asyncpg.connect(cluster.admin_url(), ssl=tls_option("verify-full", cluster.ca_file))
            try:
                await conn.execute("CREATE ROLE rds_iam NOLOGIN")  # RDS has it; db-setup grants it
                await conn.execute("CREATE DATABASE stockwiz")
            finally:
                await conn.close()

        asyncio.run(prepare())
        yield Database(cluster, "stockwiz")


def task_secrets(database: Database, api_tokens: str) -> dict[str, str]:
    # The RDS-managed master secret's two keys, as db-setup receives them.
    return {
        "DB_USER": "postgres",
        "DB_PASSWORD": database.cluster.superuser_password,
        "API_TOKENS": api_tokens,
    }


def task_overrides(service: str, port: int, database: Database, backends: dict[str, int]) -> dict[str, str]:
    values = {"PORT": str(port)}
    if service == "gateway":
        values |= {
            "PRODUCT_SERVICE_URL": f"http://127.0.0.1:{backends['products']}",
            "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{backends['inventory']}",
            "TRUSTED_PROXIES": "127.0.0.1/32",
        }
    else:
        values |= {
            "DB_HOST": SERVER_NAME,
            "DB_PORT": str(database.cluster.port),
            "DB_NAME": database.name,
            "DB_SSLROOTCERT": CA_IN_CONTAINER,
        }
    return values


def start_task(
    service: str,
    image: BuiltImage | str,
    database: Database,
    backends: dict[str, int],
    *,
    api_tokens: str,
    stack: str = "dev",
    name: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Running:
    """The service's task of `stack` in a container named `name` (default stockwiz-test-<service>), ready."""
    port = free_port()
    task = fargate.task_definitions(stack)[service]
    container = fargate.start(
        name or f"stockwiz-test-{service}",
        image if isinstance(image, str) else image.tag,
        task,
        secrets=task_secrets(database, api_tokens),
        overrides=task_overrides(service, port, database, backends),
        extra_env={**(TASK_ROLE_ENV if service != "gateway" else {}), **(extra_env or {})},
        mounts=[f"type=bind,src={database.cluster.ca_file},dst={CA_IN_CONTAINER},readonly"],
    )
    running = Running(service, container, port)
    try:
        wait_ready(running.url, timeout=90)
    except Exception:
        logs = container.logs()
        container.remove()
        raise AssertionError(f"{service} container never became ready:\n{logs[-4000:]}") from None
    return running
