"""Each service starts from a virtualenv holding only its own requirements.txt, laid out as its image is.

Without a Docker engine this is the closest honest stand-in for `docker run`: the virtualenv is built the
way the Dockerfile's builder stage builds /opt/venv (no pip inside, wheels only, the service's
requirements.txt alone), /app is assembled from the final stage's COPY instructions after .dockerignore,
and the process runs the image's CMD with the image's ENV in WORKDIR. A missing pin, a COPY that forgets
a package, or code that writes beside itself (the root filesystem is read-only) fails here.

Virtualenvs are cached under build/service-venvs/, keyed by the requirements file, the interpreter and the
install command, and built in parallel, so only the first run pays for the installs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.containers.images import CONTEXT, REPO, SERVICE_PORTS, context_files, copy_sources, dockerfile
from tests.support.processes import ServiceProcess, free_port, wait_ready

pytestmark = pytest.mark.slow

VENV_ROOT = REPO / "build" / "service-venvs"
SERVICES = sorted(SERVICE_PORTS)
# The builder stage's install, minus --no-cache-dir (the local pip cache only makes the first run faster).
PIP_INSTALL = ["install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"]
TOKEN = "fresh-venv-test-token"  # throw-away: the processes listen on 127.0.0.1 only
# Budgets for the dependency closure (site-packages of /opt/venv). A jump past them means a new heavy
# dependency crept in; raise them deliberately, with the README's image-size table.
CLOSURE_BUDGET_MB = {"products": 110, "inventory": 110, "gateway": 60}


def _venv_dir(service: str) -> Path:
    key = hashlib.sha256()
    key.update((CONTEXT / service / "requirements.txt").read_bytes())
    key.update(sys.version.encode())
    key.update(getattr(sys, "_base_executable", sys.executable).encode())
    key.update(json.dumps(PIP_INSTALL).encode())
    return VENV_ROOT / f"{service}-{key.hexdigest()[:16]}"


def build_venv(service: str) -> Path:
    target = _venv_dir(service)
    if (target / ".complete").is_file():
        return target
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(staging)], check=True)
    requirements = CONTEXT / service / "requirements.txt"
    python = staging / "bin" / "python"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            *PIP_INSTALL,
            "--requirement",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"installing {service}/requirements.txt failed:\n{result.stdout}{result.stderr}")
    (staging / ".complete").write_text("")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


@pytest.fixture(scope="session")
def service_venvs() -> dict[str, Path]:
    VENV_ROOT.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        return dict(zip(SERVICES, pool.map(build_venv, SERVICES), strict=True))


def site_packages(venv: Path) -> Path:
    (path,) = (venv / "lib").glob("python3.*/site-packages")
    return path


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def assemble_app(service: str, root: Path) -> Path:
    """/app as the final stage's COPY instructions build it, only from files .dockerignore lets through."""
    final = dockerfile(service).final
    (workdir,) = [i.args for i in final.all("WORKDIR")]
    shipped = context_files()
    for instruction in final.all("COPY"):
        if "from" in instruction.flags:
            continue
        sources, destination = copy_sources(instruction)
        for source in sources:
            for relative in sorted(f for f in shipped if f.startswith(source.rstrip("/") + "/")):
                target = root / destination.lstrip("/") / relative[len(source.rstrip("/")) + 1 :]
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(CONTEXT / relative, target)
    return root / workdir.lstrip("/")


class ImageProcess:
    """A service started the way its container starts, from a fresh venv and an assembled /app."""

    def __init__(self, service: str, venv: Path, root: Path, env: dict[str, str]) -> None:
        image = dockerfile(service)
        self.root = root
        self.app = assemble_app(service, root)
        self.port = free_port()
        image_env = {k: v.replace("/app", str(self.app)) for k, v in image.final.env().items()}
        image_env["PATH"] = image_env["PATH"].replace("/opt/venv/bin", str(venv / "bin"))
        image_env["PATH"] = image_env["PATH"].replace("$PATH", "/usr/bin:/bin")
        # A clean environment: nothing from the developer's shell or the test virtualenv leaks in.
        self.env = {
            **image_env,
            "HOME": str(root),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.command = self._resolve(image.final.all("CMD")[0].exec_form() or [])
        self.healthcheck = self._resolve(image.final.all("HEALTHCHECK")[0].exec_form() or [])
        self.log_path = root / f"{service}.log"
        with self.log_path.open("wb") as log:
            process = subprocess.Popen(
                self.command, env=self.env, cwd=self.app, stdout=log, stderr=subprocess.STDOUT
            )
        self.process = ServiceProcess(service, self.port, process, self.log_path, self.env)

    def _resolve(self, command: list[str]) -> list[str]:
        executable = shutil.which(command[0], path=self.env["PATH"])
        assert executable is not None, f"{command[0]} is not on the image's PATH"
        return [executable, *command[1:]]

    @property
    def url(self) -> str:
        return self.process.url

    def wait_ready(self) -> None:
        try:
            wait_ready(self.url, self.process.process, timeout=60)
        except Exception:
            self.process.stop()
            raise AssertionError(
                f"{self.command} did not become ready:\n{self.process.log()[-4000:]}"
            ) from None

    def app_files(self) -> set[str]:
        return {p.relative_to(self.app).as_posix() for p in self.app.rglob("*")}


Starter = Callable[..., ImageProcess]


@pytest.fixture
def start(tmp_path: Path, service_venvs: dict[str, Path]) -> Iterator[Starter]:
    started: list[ImageProcess] = []

    def _start(service: str, **env: str) -> ImageProcess:
        root = tmp_path / f"{service}-root"
        root.mkdir()
        process = ImageProcess(service, service_venvs[service], root, env)
        started.append(process)
        return process

    yield _start
    for process in reversed(started):
        process.process.stop()


def _json(url: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


def _check_container_behaviour(process: ImageProcess, files_before: set[str]) -> None:
    status, body = _json(f"{process.url}/readyz")
    assert status == 200 and isinstance(body, dict) and body["status"] == "ready", body
    # The image's HEALTHCHECK, run as Docker would run it, in the container's environment.
    probe = subprocess.run(process.healthcheck, env=process.env, cwd=process.app, check=False, timeout=10)
    assert probe.returncode == 0
    # Read-only root filesystem: the service wrote nothing beside its code (no .pyc, no data directory).
    assert process.app_files() == files_before
    # STOPSIGNAL SIGTERM: a graceful stop exits 0 well inside the ECS / Compose grace period.
    started = time.monotonic()
    assert process.process.stop(timeout=30) == 0, process.process.log()[-4000:]
    assert time.monotonic() - started < 25


def test_products_starts_from_its_own_requirements(start: Starter, tmp_path: Path) -> None:
    products = start("products", DATABASE_URL=f"sqlite:///{tmp_path / 'stockwiz.db'}")
    files_before = products.app_files()
    products.wait_ready()
    _check_container_behaviour(products, files_before)


def test_inventory_starts_from_its_own_requirements(start: Starter, tmp_path: Path) -> None:
    inventory = start("inventory", DATABASE_URL=f"sqlite:///{tmp_path / 'stockwiz.db'}")
    files_before = inventory.app_files()
    inventory.wait_ready()
    _check_container_behaviour(inventory, files_before)


def test_gateway_starts_from_its_own_requirements_and_proxies(start: Starter, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'stockwiz.db'}"
    products = start("products", DATABASE_URL=database)
    products.wait_ready()
    inventory = start("inventory", DATABASE_URL=database)
    inventory.wait_ready()
    tokens = [{"name": "fresh-venv", "scope": "read", "sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]
    gateway = start(
        "gateway",
        PRODUCT_SERVICE_URL=products.url,
        INVENTORY_SERVICE_URL=inventory.url,
        API_TOKENS=json.dumps(tokens),
    )
    files_before = gateway.app_files()
    gateway.wait_ready()
    status, body = _json(f"{gateway.url}/api/products", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and body == []
    with urllib.request.urlopen(f"{gateway.url}/", timeout=5) as page:
        assert page.status == 200 and b"<html" in page.read().lower(), "the web UI is not in the image"
    _check_container_behaviour(gateway, files_before)


def test_dependency_closures_stay_within_the_image_budget(service_venvs: dict[str, Path]) -> None:
    sizes = {name: tree_size(site_packages(venv)) / 1_000_000 for name, venv in service_venvs.items()}
    print("dependency closure (MB):", {k: round(v, 1) for k, v in sizes.items()})
    for name, size in sizes.items():
        assert size <= CLOSURE_BUDGET_MB[name], f"{name}: {size:.1f} MB > {CLOSURE_BUDGET_MB[name]} MB"
    assert sizes["gateway"] < sizes["products"], "the gateway keeps no database: no SQLAlchemy, no drivers"
    for name, venv in service_venvs.items():
        assert not (site_packages(venv) / "pip").exists(), f"{name}: pip must not ship in the image's venv"
