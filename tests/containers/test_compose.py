"""docker-compose.yml: valid against the Compose Specification, hardened, health-gated, secrets from .env.

tests/containers/compose-spec.json is the Compose Specification's JSON schema, copied unchanged from
compose-spec/compose-spec, schema/compose-spec.json (commit 00655e2222608fa6eaecdf12ac5195889ca2244a,
Apache-2.0). Refresh it from there when Compose gains keys we want to use.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.containers.images import REPO, SERVICE_PORTS, dockerfile

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
SCHEMA = Path(__file__).with_name("compose-spec.json")
APP_SERVICES = sorted(SERVICE_PORTS)
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?])?(?P<rest>[^}]*)\}")
SHUTDOWN_TIMEOUT_DEFAULT = 20.0


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def seconds(duration: str) -> float:
    """A Compose duration such as 30s, 1m30s or 1500ms."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def test_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def test_the_schema_rejects_what_compose_rejects() -> None:
    """Guards the shipped schema itself: a typo'd key and a bad depends_on condition must fail."""
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert not validator.is_valid({"services": {"a": {"image": "x", "read_onyl": True}}})
    assert not validator.is_valid(
        {"services": {"a": {"image": "x", "depends_on": {"b": {"condition": "service_ready"}}}}}
    )
    assert validator.is_valid({"services": {"a": {"image": "x", "read_only": True}}})


def test_runs_postgres_and_the_three_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"postgres", *APP_SERVICES}


@pytest.mark.parametrize("name", ["postgres", *APP_SERVICES])
def test_every_container_is_hardened(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    assert service["read_only"] is True
    assert any(str(t).split(":")[0] == "/tmp" for t in service["tmpfs"]), "only /tmp is writable"
    assert service["cap_drop"] == ["ALL"]
    assert not service.get("cap_add")
    assert "no-new-privileges:true" in service["security_opt"]
    assert not service.get("privileged")
    assert "network_mode" not in service, "host networking would bypass the internal network"
    for volume in service.get("volumes", []):
        source = str(volume).split(":")[0]
        assert not source.startswith(("/", ".")), f"{name} mounts a host path: {volume}"


def test_only_the_gateway_is_published_and_only_on_loopback(services: dict[str, dict[str, Any]]) -> None:
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert set(published) == {"gateway"}
    (port,) = published["gateway"]
    match = re.fullmatch(r"(?P<ip>[\d.]+):(?P<host>\$\{[^}]+\}|\d+):(?P<container>\d+)", str(port))
    assert match, f"publish as HOST_IP:HOST_PORT:CONTAINER_PORT, got {port!r}"
    assert match["ip"] == "127.0.0.1", "a development stack is not for the network"
    assert match["container"] == "8000"


def test_database_and_backing_services_have_no_route_out(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    internal = {name for name, net in compose["networks"].items() if (net or {}).get("internal")}
    for name in ("postgres", "products", "inventory"):
        assert set(services[name]["networks"]) <= internal, f"{name} joins a network with a route out"
    assert set(services["gateway"]["networks"]) - internal, "the gateway needs a published network"


def test_postgres_is_pinned_health_checked_and_keeps_data_in_a_named_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:16\.\d+-alpine@sha256:[0-9a-f]{64}", postgres["image"])
    test = postgres["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "pg_isready"
    (volume,) = postgres["volumes"]
    name, target = volume.split(":")[:2]
    assert name in compose["volumes"]
    assert target == "/var/lib/postgresql/data"
    # Without root the entrypoint cannot chown; the image's own user already owns the data directory.
    assert postgres["user"] == "postgres"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_services_are_built_from_their_dockerfiles(services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name]["build"]
    context = (REPO / build["context"]).resolve()
    assert context == REPO / "apps"
    assert (context / build["dockerfile"]).resolve() == dockerfile(name).path
    assert services[name]["image"].startswith(
        {"gateway": "stockwiz-api-gateway", "products": "stockwiz-product-service"}.get(
            name, "stockwiz-inventory-service"
        )
    )


def test_start_order_is_gated_on_health(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "products": {"postgres"},
        "inventory": {"postgres", "products"},
        "gateway": {"products", "inventory"},
    }
    for name, needs in expected.items():
        depends_on = services[name]["depends_on"]
        assert set(depends_on) == needs
        assert all(d["condition"] == "service_healthy" for d in depends_on.values()), name
    # service_healthy needs a health check: compose's own, or the image's HEALTHCHECK.
    for name in {n for needs in expected.values() for n in needs}:
        has_check = "healthcheck" in services[name] or (
            name in SERVICE_PORTS and dockerfile(name).final.all("HEALTHCHECK")
        )
        assert has_check, f"{name} is waited on but has no health check"
        assert not services[name].get("healthcheck", {}).get("disable")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_stop_grace_period_outlasts_the_services_shutdown_timeout(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    timeout = float(service["environment"].get("SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUT_DEFAULT))
    assert seconds(service["stop_grace_period"]) > timeout


def test_services_get_the_database_url_and_the_demo_data(services: dict[str, dict[str, Any]]) -> None:
    for name in ("products", "inventory"):
        env = services[name]["environment"]
        url = env["DATABASE_URL"]
        assert url.startswith("postgresql://stockwiz:${POSTGRES_PASSWORD")
        assert url.endswith("@postgres:5432/stockwiz")
        assert env["SEED_DEMO_DATA"] == "true"
    gateway = services["gateway"]["environment"]
    assert gateway["PRODUCT_SERVICE_URL"] == "http://products:8001"
    assert gateway["INVENTORY_SERVICE_URL"] == "http://inventory:8002"
    assert gateway["ALLOW_OPEN"] == "false"
    assert gateway["CURRENCY"] == "${CURRENCY:-USD}"
    assert "DATABASE_URL" not in gateway, "the gateway keeps no database"


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_secrets_come_from_env_and_are_required_not_defaulted(services: dict[str, dict[str, Any]]) -> None:
    text = COMPOSE.read_text()
    references = {m["name"]: m["op"] for m in INTERPOLATION.finditer(text)}
    example = _env_example()
    assert set(references) <= set(example), "every ${VAR} must be documented in .env.example"
    for secret in ("POSTGRES_PASSWORD", "API_TOKENS"):
        ops = {m["op"] for m in INTERPOLATION.finditer(text) if m["name"] == secret}
        # `:?` stops `docker compose up` on an empty value instead of starting with a blank password.
        assert ops == {":?"}, f"{secret} must be required with :? everywhere"
        assert example[secret] == "", f".env.example must not carry a real {secret}"
    assert "API_TOKENS" in services["gateway"]["environment"]
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            if any(s in key for s in ("PASSWORD", "TOKEN", "SECRET")):
                assert INTERPOLATION.fullmatch(str(value)), f"{name}.{key} is a literal secret"


def test_env_file_is_git_ignored_and_its_example_is_not() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO, check=False)
    assert ignored.returncode == 0, ".env must be git-ignored"
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=REPO, check=False)
    assert example.returncode == 1, ".env.example must be committed"
