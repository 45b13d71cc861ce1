"""docker-compose.yml run for real: built, started health-gated, and walked through the published gateway.

Run with Debian's Compose v1.29 (the Compose available from the package registries here; the README's
instructions use v2's `docker compose`, which reads the same file). Where the official PostgreSQL image
cannot be pulled, tests/containers/compose.test.yml replaces it with a local build and gives the service
builds the tests' base image; nothing else in docker-compose.yml is overridden.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.containers import api_walk
from tests.containers.engine import DOCKER, IN_CI, docker, image_exists, inspect
from tests.containers.images import REPO
from tests.containers.images_built import REPORT, Base
from tests.containers.standin_base import ensure_standin
from tests.support.processes import free_port

pytestmark = [pytest.mark.slow, pytest.mark.docker]

COMPOSE_FILE = REPO / "docker-compose.yml"
TEST_OVERRIDE = Path(__file__).with_name("compose.test.yml")
SERVICES = ("postgres", "products", "inventory", "gateway")
TOKEN = "compose-test-token"  # throw-away: the stack publishes on 127.0.0.1 only


@dataclass
class ComposeStack:
    command: list[str]
    gateway: str
    environment: dict[str, str]

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd=REPO,
            env={**os.environ, **self.environment},
        )

    def container(self, service: str) -> str:
        return self.run("ps", "-q", service, timeout=60).stdout.strip()

    def logs(self) -> str:
        return self.run("logs", "--no-color", "--tail", "60", timeout=120).stdout


def _compose_command() -> list[str]:
    """Compose v1.29 (`docker-compose`, Debian's package) where installed, else v2 (`docker compose`)."""
    v1 = shutil.which("docker-compose")
    if v1 is not None:
        return [v1]
    if docker("compose", "version", check=False, timeout=60).returncode == 0:
        return [DOCKER, "compose"]
    message = "DOCKER COMPOSE UNAVAILABLE (apt-get install docker-compose): the Compose stack did NOT run."
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _official_postgres() -> str:
    image = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["postgres"]["image"]
    return str(image)


def _override(tmp: Path, postgres_pullable: bool) -> Path:
    """The tests' override, without the PostgreSQL stand-in when the official image can be had."""
    override = yaml.safe_load(TEST_OVERRIDE.read_text())
    if postgres_pullable:
        del override["services"]["postgres"]
    path = tmp / "compose.test.yml"
    path.write_text(yaml.safe_dump(override))
    return path


def _wait_ready(url: str, stack: ComposeStack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the gateway never became ready at {url}\n{stack.logs()}")


@pytest.fixture(scope="module")
def compose_stack(python_base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    compose = _compose_command()
    version = subprocess.run([*compose, "version"], capture_output=True, text=True, check=False).stdout
    REPORT.append(f"compose: {' '.join(compose)}: {version.splitlines()[0] if version else '?'}")
    tmp = tmp_path_factory.mktemp("compose")
    official_postgres = _official_postgres()
    pullable = image_exists(official_postgres) or (
        docker("pull", official_postgres, check=False, timeout=120).returncode == 0
    )
    port = free_port()
    env_file = tmp / "compose.env"
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    env_file.write_text(
        f"POSTGRES_PASSWORD={secrets.token_hex(24)}\n"
        f"API_TOKENS='{json.dumps([{'name': 'compose-test', 'scope': 'write', 'sha256': digest}])}'\n"
        f"GATEWAY_PORT={port}\n"
        "LOG_LEVEL=INFO\n"
    )
    project = f"stockwiz-test-{secrets.token_hex(4)}"
    command = [
        *compose,
        "--project-name",
        project,
        "--project-directory",
        str(REPO),
        "--env-file",
        str(env_file),
        "--file",
        str(COMPOSE_FILE),
        "--file",
        str(_override(tmp, pullable)),
    ]
    # Read by compose.test.yml: the service images' base, and the Debian base of the PostgreSQL stand-in.
    environment = {"STOCKWIZ_TEST_PYTHON_IMAGE": python_base.reference}
    if not pullable:
        environment["STOCKWIZ_TEST_DEBIAN_BASE"] = ensure_standin()
    stack = ComposeStack(command, f"http://127.0.0.1:{port}", environment)
    try:
        started = time.monotonic()
        up = stack.run("up", "--detach", "--build")
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:] + stack.logs()
        _wait_ready(stack.gateway, stack, timeout=180)
        REPORT.append(f"compose stack built, up and ready in {time.monotonic() - started:.1f} s")
        yield stack
    finally:
        stack.run("down", "--volumes", "--remove-orphans", timeout=300)


def test_every_container_of_the_stack_becomes_healthy(compose_stack: ComposeStack) -> None:
    deadline = time.monotonic() + 90
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {
            service: inspect(compose_stack.container(service))["State"]
            .get("Health", {})
            .get("Status", "none")
            for service in SERVICES
        }
        if set(states.values()) == {"healthy"}:
            break
        time.sleep(1)
    assert set(states.values()) == {"healthy"}, (states, compose_stack.logs())


def test_the_stack_runs_hardened_as_the_file_says(compose_stack: ComposeStack) -> None:
    for service in SERVICES:
        host = inspect(compose_stack.container(service))["HostConfig"]
        assert host["ReadonlyRootfs"] is True, service
        assert host["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
    gateway = inspect(compose_stack.container("gateway"))["NetworkSettings"]["Ports"]
    assert [binding["HostIp"] for binding in gateway["8000/tcp"]] == ["127.0.0.1"]
    for service in ("postgres", "products", "inventory"):
        assert not any(inspect(compose_stack.container(service))["NetworkSettings"]["Ports"].values()), (
            service
        )


def test_an_api_walk_through_the_published_gateway(compose_stack: ComposeStack) -> None:
    page = api_walk.walk(compose_stack.gateway, TOKEN)
    assert page, "the stack seeds the demo catalogue (SEED_DEMO_DATA) on first start"
