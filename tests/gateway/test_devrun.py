"""`make run` (tools/devrun.py) as a user runs it: three services up with demo data, one signal stops all."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import REPO, free_port


def start_devrun(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], dict[str, int], Path]:
    ports = {"gateway": free_port(), "products": free_port(), "inventory": free_port()}
    log = tmp_path / "devrun.log"
    full_env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}", **env}
    if "API_TOKENS" not in env:
        full_env.pop("API_TOKENS", None)  # open on loopback, whatever the calling shell has
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.devrun"]
            + [f"--{name}-port={port}" for name, port in ports.items()],
            cwd=REPO,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, ports, log


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            get_json(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered:\n{log.read_text()[-3000:]}")


def refused(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1)
    except OSError:
        return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_make_run_starts_everything_with_demo_data_and_stops(tmp_path: Path, stop_signal: int) -> None:
    process, ports, log = start_devrun(tmp_path)
    try:
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        wait_for(f"{gateway}/health", process, log)
        products = get_json(f"{gateway}/api/products-full")
        assert isinstance(products, list)
        stock = {p["name"]: p["inventory"]["quantity"] for p in products}
        assert stock == {
            "Laptop Dell XPS 13": 50,
            "Mouse Logitech MX Master": 150,
            "Teclado Mecánico": 75,
            "Monitor 4K": 30,
            "Webcam HD": 100,
        }
        deadline = time.monotonic() + 10  # devrun announces after its own readiness poll
        while f"open {gateway}/" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        # The address stands apart from the JSON logs: a rule of '=' above and below it.
        lines = log.read_text().splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("StockWiz is running: open"))
        assert set(lines[at - 1]) == {"="} and lines[at + 1] == lines[at - 1], lines[at - 2 : at + 3]
        process.send_signal(stop_signal)
        assert process.wait(40) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert all(refused(port) for port in ports.values())


@pytest.mark.slow
def test_make_run_stops_everything_when_a_service_dies(tmp_path: Path) -> None:
    # A gateway with a broken token list exits at start; the other two must be stopped again.
    process, ports, log = start_devrun(tmp_path, API_TOKENS="[not json")
    try:
        assert process.wait(60) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    assert "gateway exited with code 2" in output
    assert "API_TOKENS" in output.split("gateway exited with code 2")[1]
    assert all(refused(port) for port in ports.values())


def run_devrun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.devrun", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_make_run_refuses_a_taken_port_before_starting_anything() -> None:
    products, inventory = free_port(), free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = run_devrun(
            f"--gateway-port={taken}", f"--products-port={products}", f"--inventory-port={inventory}"
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"port {taken} (gateway) is already in use" in result.stderr
    assert f"make run GATEWAY_PORT={taken + 1000}" in result.stderr
    assert "StockWiz is running" not in result.stdout
    assert refused(products) and refused(inventory)


def test_make_run_refuses_one_port_for_two_services() -> None:
    port = free_port()
    result = run_devrun(
        f"--gateway-port={port}", f"--products-port={port}", f"--inventory-port={free_port()}"
    )
    assert result.returncode == 2
    assert f"GATEWAY_PORT={port} is also the products port" in result.stderr


def test_make_run_installs_only_what_the_services_import() -> None:
    # -B: as on a fresh clone, where nothing is installed yet; -n: print the recipe without running it.
    result = subprocess.run(
        ["make", "-n", "-B", "run", "GATEWAY_PORT=9000", "PRODUCTS_PORT=9001", "INVENTORY_PORT=9002"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    installs = [line for line in result.stdout.splitlines() if "pip install" in line]
    assert len(installs) == 1, result.stdout
    requirements = re.findall(r"-r (\S+)", installs[0])
    assert sorted(requirements) == [
        f"apps/{name}/requirements.txt" for name in ("gateway", "inventory", "products")
    ]
    assert "-c constraints.txt" in installs[0]
    assert "tools.devrun --gateway-port 9000 --products-port 9001" in result.stdout
    assert "--inventory-port 9002" in result.stdout


def test_the_launcher_needs_nothing_beyond_the_standard_library() -> None:
    # -I -S: no site-packages and no PYTHONPATH, so an import of anything installed would fail here.
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(REPO)!r}); import tools.devrun",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
