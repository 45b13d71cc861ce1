"""The three images, built by the real Docker Engine and run as their ECS task definitions say.

Each runs with a read-only root filesystem, as the image's own uid, with /tmp mounted the Fargate way, the
task's cpu/memory limits and environment, against PostgreSQL on this machine (tests/containers/fargate.py
says what is translated and what differs). These are the tests that fail when an image does not build,
misses a dependency, cannot write its temporary files, or does not stop cleanly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.containers import api_walk, fargate
from tests.containers.conftest import API_TOKENS, WRITE_TOKEN
from tests.containers.engine import Container, image_files
from tests.containers.images_built import SERVICES, BuiltImage, layers
from tests.containers.tasks import Database, Running, start_task, task_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.docker]

APP_UID = 10001
PACKAGES = {"products": "products", "inventory": "inventory", "gateway": "gateway"}
# Everything the Dockerfile adds to the base: the venv, the code, /tmp's owner. A compiler, a pip cache or
# the tests would each blow this budget.
ADDED_BUDGET_MB = {"products": 125, "inventory": 125, "gateway": 60}


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    with task_database() as prepared:
        yield prepared


def start_service(
    service: str,
    image: BuiltImage,
    database: Database,
    backends: dict[str, int],
    *,
    name_suffix: str = "",
    extra_env: dict[str, str] | None = None,
) -> Running:
    return start_task(
        service,
        image,
        database,
        backends,
        api_tokens=API_TOKENS,
        name=f"stockwiz-test-{service}{name_suffix}",
        extra_env=extra_env,
    )


@pytest.fixture(scope="module")
def stack(built_images: dict[str, BuiltImage], database: Database) -> Iterator[dict[str, Running]]:
    """The three containers, started in the order ECS must start them: backends first."""
    running: dict[str, Running] = {}
    try:
        for service in ("products", "inventory"):
            running[service] = start_service(service, built_images[service], database, {})
        backends = {name: r.port for name, r in running.items()}
        running["gateway"] = start_service("gateway", built_images["gateway"], database, backends)
        yield running
    finally:
        for item in running.values():
            item.container.remove()


def _process_uids(container: Container) -> dict[int, tuple[int, str]]:
    """pid -> (real uid, command line) of every process in the container, read from the host's /proc."""
    init_pid = int(container.state()["Pid"])
    found: dict[int, tuple[int, str]] = {}
    pending = [init_pid]
    while pending:
        pid = pending.pop()
        status = Path(f"/proc/{pid}/status").read_text()
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        found[pid] = (uid, Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
        children = Path(f"/proc/{pid}/task/{pid}/children")
        pending += [int(child) for child in children.read_text().split()] if children.exists() else []
    return found


# -- build ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_image_layers_add_no_compiler_cache_or_tests(
    built_images: dict[str, BuiltImage], service: str
) -> None:
    image = built_images[service]
    assert image.added_bytes / 1e6 < ADDED_BUDGET_MB[service], (
        f"{service}: the Dockerfile adds {image.added_bytes / 1e6:.0f} MB, over the "
        f"{ADDED_BUDGET_MB[service]} MB budget:\n"
        + "\n".join(f"{s / 1e6:8.1f} MB  {c[:140]}" for c, s in layers(image.tag))
    )
    listing = image_files(image.tag, "/opt/venv", "/app", "/root", "/tmp")
    for path in listing:
        name = path.rsplit("/", 1)[-1]
        assert name not in {"gcc", "cc", "pip", "pip3"}, f"{service}: {path} is in the image"
        assert "/.cache/" not in path and not path.startswith("/root/.cache"), f"{service}: cache {path}"
        if path.startswith("/app/"):  # our code: no tests, no fixtures (libraries keep their own modules)
            assert not name.startswith(("test_", "conftest")) and "/tests/" not in path, path
    assert any(p.startswith(f"/app/{PACKAGES[service]}/") for p in listing)


@pytest.mark.parametrize("service", SERVICES)
def test_image_declares_the_runtime_contract(built_images: dict[str, BuiltImage], service: str) -> None:
    config = built_images[service].config()
    task = fargate.task_definitions()[service].container
    assert config["User"] == f"{APP_UID}:{APP_UID}" == task["user"]
    assert config["Healthcheck"]["Test"] == task["healthCheck"]["command"], "ECS runs the image's own probe"
    assert "/tmp" in (config.get("Volumes") or {}), (
        "ECS copies /tmp's owner into the bind mount only for a VOLUME"
    )
    assert [m["containerPath"] for m in task["mountPoints"]] == ["/tmp"]


# -- running as Fargate runs it ----------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_ready_and_the_images_own_healthcheck_passes(stack: dict[str, Running], service: str) -> None:
    running = stack[service]
    status, body = api_walk.request(f"{running.url}/readyz", WRITE_TOKEN)
    assert status == 200, body
    state = running.container.state()  # still running after start-up and migrations
    assert state["Running"] and not state["OOMKilled"]
    result = running.container.exec(*running.container.healthcheck_command())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_every_process_runs_as_the_images_uid(stack: dict[str, Running], service: str) -> None:
    processes = _process_uids(stack[service].container)
    assert len(processes) >= 2, processes  # the init process and the service under it
    assert {uid for uid, _ in processes.values()} == {APP_UID}, processes
    assert any(f"-m {service}" in command for _, command in processes.values()), processes


IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
failed = []
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name.endswith(".__main__"):
            continue  # the image's CMD; importing it would start a second server
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {exc!r}")
print("\\n".join(failed) or "ok")
sys.exit(1 if failed else 0)
"""


@pytest.mark.parametrize("service", SERVICES)
def test_every_module_of_the_service_imports_from_the_images_venv(
    stack: dict[str, Running], service: str
) -> None:
    packages = [PACKAGES[service], *([] if service == "gateway" else ["stockwiz_runtime"])]
    result = stack[service].container.exec("python", "-c", IMPORT_EVERYTHING, *packages)
    assert result.returncode == 0, result.stdout + result.stderr
    interpreter = stack[service].container.exec("python", "-c", "import sys; print(sys.prefix)")
    assert interpreter.stdout.strip() == "/opt/venv"


def test_the_gateway_image_runs_the_shared_runtime_without_a_database_library(
    stack: dict[str, Running],
) -> None:
    # The gateway image ships the shared runtime but installs no database library: what its CMD and
    # HEALTHCHECK load must import, and none of it may reach for SQLAlchemy or a driver.
    script = (
        "import sys, gateway.app, stockwiz_runtime.server, stockwiz_runtime.healthcheck;"
        "loaded = {m.split('.')[0] for m in sys.modules};"
        "print(sorted(loaded & {'sqlalchemy', 'asyncpg', 'aiosqlite', 'alembic'}))"
    )
    result = stack["gateway"].container.exec("python", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    missing = stack["gateway"].container.exec("python", "-c", "import sqlalchemy")
    assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_only_tmp_is_writable_and_the_service_user_can_write_there(
    stack: dict[str, Running], service: str
) -> None:
    container = stack[service].container
    write = "import sys; open(sys.argv[1], 'w').write('x')"
    assert container.exec("python", "-c", write, "/tmp/probe").returncode == 0
    for path in ("/app/probe", "/probe", "/opt/venv/probe"):
        result = container.exec("python", "-c", write, path)
        assert result.returncode != 0 and "Read-only file system" in result.stderr, (path, result.stderr)


def test_a_walk_through_the_gateway_container(stack: dict[str, Running]) -> None:
    api_walk.walk(stack["gateway"].url, WRITE_TOKEN)


@pytest.mark.parametrize("service", SERVICES)
def test_sigterm_during_a_slow_request_finishes_it_and_exits_0_within_the_stop_timeout(
    built_images: dict[str, BuiltImage], stack: dict[str, Running], database: Database, service: str
) -> None:
    backends = {name: stack[name].port for name in ("products", "inventory")}
    running = start_service(
        service,
        built_images[service],
        database,
        backends,
        name_suffix="-sigterm",
        extra_env={"CHAOS_ENABLED": "true"},
    )
    stop_timeout = int(fargate.task_definitions()[service].container["stopTimeout"])
    answer: dict[str, Any] = {}

    def slow_request() -> None:
        answer["status"], answer["body"] = api_walk.request(
            f"{running.url}/chaos/delay?ms=3000", WRITE_TOKEN, timeout=30
        )

    try:
        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.5)  # the request is in flight
        started = time.monotonic()
        # `docker stop` sends the image's STOPSIGNAL (SIGTERM) to PID 1, the init process ECS runs with
        # initProcessEnabled, then SIGKILL after the stop timeout: as ECS does.
        stopped = running.container.stop(stop_timeout)
        elapsed = time.monotonic() - started
        thread.join(30)
        assert answer.get("status") == 200, (answer, running.container.logs()[-3000:])
        assert stopped == 0, running.container.logs()[-3000:]
        assert elapsed < stop_timeout, f"took {elapsed:.1f} s, the stop timeout is {stop_timeout} s"
        assert not running.container.state()["OOMKilled"]
    finally:
        running.container.remove()
