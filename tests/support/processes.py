"""Real service processes for end-to-end tests, started with `python -m <service>` like `make run` does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    module: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url}/readyz did not answer 200 within {timeout} s")


# Set by `make check`, which runs only the tests not marked slow: a test starting a service process
# without the mark fails, so the mark keeps selecting what it says.
NO_PROCESSES = "STOCKWIZ_TEST_NO_PROCESSES"


def start_service(
    module: str,
    log_dir: Path,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    ready: bool = True,
) -> ServiceProcess:
    if os.environ.get(NO_PROCESSES) == "1":
        pytest.fail(
            f"this test starts the {module} process but is not marked slow, so {NO_PROCESSES}=1 (make check) "
            "refuses it: mark it (pytest.mark.slow) where it is written"
        )
    port = port or free_port()
    full_env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'apps'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        **(env or {}),
    }
    log_path = log_dir / f"{module}-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", module], env=full_env, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO
        )
    service = ServiceProcess(module, port, process, log_path, full_env)
    if ready:
        try:
            wait_ready(service.url, process)
        except Exception:
            service.stop()
            raise RuntimeError(f"{module} did not become ready:\n{service.log()[-4000:]}") from None
    return service
