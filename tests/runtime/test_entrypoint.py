"""The real entry point, as ECS runs it: start-up errors, and SIGTERM during a slow request."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import REPO, free_port, start_service

pytestmark = pytest.mark.slow  # starts the services as processes


def run_products(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "products"],
        env={"PYTHONPATH": str(REPO / "apps"), "PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_configuration_stops_the_process_naming_the_variable() -> None:
    result = run_products({"PORT": "eighty", "SHUTDOWN_TIMEOUT": "-1"})
    assert result.returncode == 2
    assert "PORT" in result.stderr and "SHUTDOWN_TIMEOUT" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_products({"DATABASE_URL": "mysql://localhost/db"})
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr


def test_unreachable_database_fails_start_up_clearly(tmp_path: Path) -> None:
    result = run_products({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "PORT": str(free_port())})
    assert result.returncode == 1
    assert "database migration to head failed" in result.stdout


def test_sigterm_finishes_in_flight_requests_then_exits_zero(tmp_path: Path, log_dir: Path) -> None:
    service = start_service(
        "products",
        log_dir,
        env={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "CHAOS_ENABLED": "true",
            "SHUTDOWN_TIMEOUT": "10",
        },
    )
    outcome: dict[str, object] = {}

    def slow_request() -> None:
        with urllib.request.urlopen(f"{service.url}/chaos/delay?ms=1500", timeout=10) as response:
            outcome["status"] = response.status
            outcome["body"] = response.read()

    client = threading.Thread(target=slow_request)
    client.start()
    time.sleep(0.5)  # the request is in flight
    started = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    client.join(10)
    returncode = service.process.wait(10)
    elapsed = time.monotonic() - started
    assert outcome.get("status") == 200, service.log()
    assert outcome["body"] == b'{"delayed_ms":1500}'
    assert returncode == 0, service.log()
    assert elapsed < 5, f"shutdown took {elapsed:.1f} s"
    assert '"message":"stopped"' in service.log()
