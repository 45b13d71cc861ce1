"""`make run` (tools/devrun.py) as a user runs it: three services up with demo data, one signal stops all."""

from __future__ import annotations

import json
import os
import signal
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
