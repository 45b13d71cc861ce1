"""`make run`: the whole StockWiz on this machine, in one command.

Starts the product service, then the inventory service (once the products exist, so the demo stock finds
its products), then the gateway, each as `python -m <service>` on 127.0.0.1, on an SQLite file under
data/ unless DATABASE_URL says otherwise, with the demo data seeded once. Their logs are shown with a
prefix. Ctrl-C or SIGTERM stops all of them (gateway first) and exits 0; if one of them dies, the others
are stopped and this exits 1 with the last lines the dead one wrote. A port that is taken stops it before
anything starts (exit 2), naming the `make run` setting that moves it.

Only the standard library: `make run` installs the services' requirements and nothing else.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parents[1]
APPS = REPO / "apps"
DEFAULT_DATABASE = REPO / "data" / "stockwiz.db"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 25.0  # above the services' SHUTDOWN_TIMEOUT default of 20 s
TAIL_LINES = 30
# The `make run` variable that sets each service's port.
PORT_SETTINGS = {"gateway": "GATEWAY_PORT", "products": "PRODUCTS_PORT", "inventory": "INVENTORY_PORT"}


@dataclass
class Child:
    name: str
    module: str
    port: int
    process: subprocess.Popen[bytes]
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Stop(Exception):
    """A signal asked us to stop."""


def _pump(child: Child, out: threading.Lock) -> None:
    assert child.process.stdout is not None
    for raw in child.process.stdout:
        line = raw.decode(errors="replace").rstrip()
        child.tail.append(line)
        with out:
            print(f"{child.name:>9} | {line}", flush=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class DevRun:
    def __init__(self, database_url: str, ports: dict[str, int]) -> None:
        self.database_url = database_url
        self.ports = ports
        self.children: list[Child] = []
        self.stopping = False
        self._print_lock = threading.Lock()

    def say(self, message: str) -> None:
        with self._print_lock:
            print(f"devrun: {message}", flush=True)

    def start(self, name: str, module: str, env: dict[str, str]) -> Child:
        port = self.ports[name]
        full_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(APPS), os.environ.get("PYTHONPATH", "")])),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Our own process group: Ctrl-C reaches devrun only, which then stops the services in order.
            start_new_session=True,
        )
        child = Child(name, module, port, process)
        threading.Thread(target=_pump, args=(child, self._print_lock), daemon=True).start()
        self.children.append(child)
        return child

    def dead_child(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def wait_until(self, child: Child, path: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.stopping:
                raise Stop
            if self.dead_child() is not None:
                return
            if _answers(child.url + path):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{child.name} did not answer {path} within {READY_TIMEOUT:.0f} s")

    def stop_all(self) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in reversed(self.children):
            try:
                child.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
                child.process.kill()
                child.process.wait()

    def report_death(self, child: Child) -> None:
        time.sleep(0.2)  # let the pump thread read the last lines
        self.say(f"{child.name} exited with code {child.process.returncode}; its last lines:")
        with self._print_lock:
            for line in child.tail:
                print(f"    {line}", file=sys.stderr)

    def run(self) -> int:
        db_env = {"DATABASE_URL": self.database_url, "SEED_DEMO_DATA": "true"}
        plan = [
            (name, db_env, "/readyz")
            for name in ("products", "inventory")
            if (APPS / name / "__main__.py").exists()
        ]
        if not (APPS / "inventory" / "__main__.py").exists():
            self.say("apps/inventory is not there yet; starting without it")
        env = {
            "PRODUCT_SERVICE_URL": f"http://127.0.0.1:{self.ports['products']}",
            "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{self.ports['inventory']}",
        }
        plan.append(("gateway", env, "/livez"))
        try:
            for name, child_env, ready_path in plan:
                child = self.start(name, name, child_env)
                self.wait_until(child, ready_path)
                dead = self.dead_child()
                if dead is not None:
                    self.report_death(dead)
                    return 1
            self.announce()
            while True:
                if self.stopping:
                    raise Stop
                dead = self.dead_child()
                if dead is not None:
                    self.report_death(dead)
                    return 1
                time.sleep(0.2)
        except Stop:
            self.say("stopping")
            return 0
        except TimeoutError as exc:
            self.say(str(exc))
            return 1
        finally:
            self.stop_all()

    def announce(self) -> None:
        gateway = f"http://127.0.0.1:{self.ports['gateway']}"
        # The one line a newcomer needs, set apart from the services' JSON logs around it.
        banner = f"StockWiz is running: open {gateway}/  (Ctrl-C stops everything)"
        rule = "=" * len(banner)
        with self._print_lock:
            print(f"\n{rule}\n{banner}\n{rule}\n", flush=True)
        self.say(f"database: {self.database_url}")
        if os.environ.get("API_TOKENS"):
            self.say("API_TOKENS is set: the API needs 'Authorization: Bearer <token>'; the UI asks for it.")
        else:
            self.say(
                "the API is open on 127.0.0.1 (no API_TOKENS). To try authentication, make a token with "
                "`PYTHONPATH=apps .venv/bin/python -m gateway.tokens new --scope write` and start "
                "`API_TOKENS='[<the printed entry>]' make run`."
            )

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True


def port_problems(ports: dict[str, int]) -> list[str]:
    """What stops these ports from being served on 127.0.0.1, in words that say how to fix it."""
    problems = []
    for name, port in ports.items():
        setting = PORT_SETTINGS[name]
        if not 1 <= port <= 65535:
            problems.append(f"{setting}={port} is not a TCP port (1-65535)")
            continue
        others = [other for other, taken in ports.items() if taken == port and other != name]
        if others:
            problems.append(f"{setting}={port} is also the {others[0]} port: give each service its own")
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                problems.append(
                    f"port {port} ({name}) is already in use ({exc.strerror}): stop what listens there "
                    f"or choose another, e.g. `make run {setting}={port + 1000}`"
                )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.devrun", description=__doc__)
    parser.add_argument("--gateway-port", type=int, default=8000)
    parser.add_argument("--products-port", type=int, default=8001)
    parser.add_argument("--inventory-port", type=int, default=8002)
    args = parser.parse_args(argv)
    ports = {"gateway": args.gateway_port, "products": args.products_port, "inventory": args.inventory_port}
    problems = port_problems(ports)
    if problems:
        for problem in problems:
            print(f"devrun: {problem}", file=sys.stderr)
        return 2
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        DEFAULT_DATABASE.parent.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{DEFAULT_DATABASE}"
    runner = DevRun(database_url, ports)
    signal.signal(signal.SIGINT, runner.handle_signal)
    signal.signal(signal.SIGTERM, runner.handle_signal)
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
