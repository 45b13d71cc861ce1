"""Hostile and broken clients against the three real service processes, over raw sockets: malformed
requests carrying credentials, slow headers and slow bodies (slowloris). Nothing a client sends as a
credential may come back in a body or appear in any log line; every answer is problem+json and names no
server software."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gateway.conftest import API_TOKENS, WRITE_TOKEN
from tests.support.processes import ServiceProcess, start_service

pytestmark = pytest.mark.slow  # starts the services as processes

SECRET_TOKEN = "swz_SECRET-bearer-6c1f0e"
SECRET_COOKIE = "SECRET-cookie-93ab77"
SECRETS = (SECRET_TOKEN, SECRET_COOKIE, WRITE_TOKEN)
TIMEOUT = 1.0  # HEADER_READ_TIMEOUT and BODY_READ_TIMEOUT of the processes under test


@dataclass
class Stack:
    products: ServiceProcess
    inventory: ServiceProcess
    gateway: ServiceProcess

    def all(self) -> list[ServiceProcess]:
        return [self.products, self.inventory, self.gateway]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("hostile")
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'stockwiz.db'}",
        "HEADER_READ_TIMEOUT": str(TIMEOUT),
        "BODY_READ_TIMEOUT": str(TIMEOUT),
    }
    products = start_service("products", directory, env=env)
    inventory = start_service("inventory", directory, env=env)
    gateway = start_service(
        "gateway",
        directory,
        env={
            **env,
            "PRODUCT_SERVICE_URL": products.url,
            "INVENTORY_SERVICE_URL": inventory.url,
            "API_TOKENS": API_TOKENS,
        },
    )
    try:
        yield Stack(products, inventory, gateway)
    finally:
        for service in (gateway, inventory, products):
            service.stop()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    raw: bytes


def read_response(sock: socket.socket) -> RawResponse:
    """One HTTP/1.x response (framed by Content-Length), read from `sock`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(int(lines[0].split()[1]), headers, body, data)


def exchange(service: ServiceProcess, request: bytes) -> RawResponse:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(request)
        return read_response(sock)


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return False


AUTH = f"Authorization: Bearer {SECRET_TOKEN}"
COOKIE = f"Cookie: session={SECRET_COOKIE}"
MALFORMED: dict[str, str | bytes] = {
    "bare LF line endings": f"GET /api/products HTTP/1.1\nHost: x\n{AUTH}\n{COOKIE}\n\n".encode(),
    "a space in a header name": f"GET /api/products HTTP/1.1\r\n{AUTH}\r\n{COOKIE}\r\nBad Name: 1\r\n\r\n",
    "a bad method": f"G@T /api/products HTTP/1.1\r\n{AUTH}\r\n{COOKIE}\r\n\r\n",
    "a control character in the path": f"GET /api/\x01 HTTP/1.1\r\n{AUTH}\r\n{COOKIE}\r\n\r\n",
    "a negative Content-Length": f"POST /api/products HTTP/1.1\r\n{AUTH}\r\nContent-Length: -1\r\n\r\n",
    "a header line over 8 KiB": f"GET / HTTP/1.1\r\n{AUTH}\r\n{COOKIE}{'x' * 9000}\r\n\r\n",
    "the token in the request line": f"GET /?t={SECRET_TOKEN} HTTP/1.1\nHost: x\n\n",
}


def as_bytes(request: str | bytes) -> bytes:
    return request if isinstance(request, bytes) else request.encode("latin-1")


def assert_no_server_software(response: RawResponse) -> None:
    assert response.headers.get("server") == "stockwiz", response.headers
    assert b"aiohttp" not in response.raw.lower() and b"python/" not in response.raw.lower()


def test_malformed_requests_get_a_problem_and_leak_no_credential(stack: Stack) -> None:
    for service in stack.all():
        for case, request in MALFORMED.items():
            response = exchange(service, as_bytes(request))
            where = f"{service.module}, {case}"
            assert response.status == 400, (where, response.raw)
            assert response.headers["content-type"].startswith("application/problem+json"), where
            problem = json.loads(response.body)
            assert problem["status"] == 400 and problem["type"] == "urn:stockwiz:problem:malformed-request"
            assert_no_server_software(response)
            for secret in SECRETS:
                assert secret.encode() not in response.raw, where
    time.sleep(0.3)  # the last lines reach the log files
    for service in stack.all():
        log = service.log()
        for secret in SECRETS:
            assert secret not in log, f"{secret} in the log of {service.module}"
        refused = [line for line in log.splitlines() if "refused a malformed request" in line]
        assert refused, service.module
        # One JSON line each, no traceback quoting the request.
        assert all(json.loads(line)["level"] in ("INFO", "DEBUG") for line in refused)
        assert "Traceback" not in log and "aiohttp.server" not in log


def test_well_formed_requests_with_credentials_are_not_logged_either(stack: Stack) -> None:
    request = (
        f"GET /api/products?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WRITE_TOKEN}\r\n"
        f"{COOKIE}\r\nConnection: close\r\n\r\n"
    )
    assert exchange(stack.gateway, request.encode()).status == 200
    bad = f"GET /api/products HTTP/1.1\r\nHost: x\r\n{AUTH}\r\nConnection: close\r\n\r\n"
    refused = exchange(stack.gateway, bad.encode())
    assert refused.status == 401 and SECRET_TOKEN.encode() not in refused.raw
    time.sleep(0.3)
    for service in stack.all():
        for secret in SECRETS:
            assert secret not in service.log()


@pytest.mark.parametrize("path", ["/livez", "/metrics", "/nowhere", "/openapi.json"])
def test_no_response_names_the_server_software(stack: Stack, path: str) -> None:
    for service in stack.all():
        response = exchange(service, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert response.status in (200, 404), (service.module, path, response.raw)
        assert_no_server_software(response)


def test_slow_headers_get_a_408_and_the_connection_closes(stack: Stack) -> None:
    for service in stack.all():
        with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
            # A header line now and then, until the server answers: it must not wait for the blank line.
            number = 0
            while not select.select([sock], [], [], 0.2)[0]:
                assert time.monotonic() - started < TIMEOUT + 3, f"{service.module} never timed out"
                sock.sendall(f"X-Drip-{number}: 1\r\n".encode())
                number += 1
            response = read_response(sock)
            assert response.status == 408, service.module
            assert json.loads(response.body)["type"] == "urn:stockwiz:problem:request-timeout"
            assert_no_server_software(response)
            assert time.monotonic() - started < TIMEOUT + 1.5, service.module


def test_an_idle_keep_alive_connection_is_not_a_slow_client(stack: Stack) -> None:
    with socket.create_connection(("127.0.0.1", stack.products.port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock).status == 200
            time.sleep(TIMEOUT + 0.5)


def test_slow_bodies_get_a_408_and_the_connection_closes(stack: Stack) -> None:
    cases = [
        (stack.products, "/products", ""),
        (stack.inventory, "/inventory", ""),
        (stack.gateway, "/api/products", f"Authorization: Bearer {WRITE_TOKEN}\r\n"),
    ]
    for service, path, auth in cases:
        with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
            started = time.monotonic()
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
                "Content-Length: 100\r\n\r\n{".encode()
            )
            response = read_response(sock)
            assert response.status == 408, (service.module, response.raw)
            assert json.loads(response.body)["type"] == "urn:stockwiz:problem:request-timeout"
            assert time.monotonic() - started < TIMEOUT + 1.5
            assert closed_by_peer(sock), service.module


def test_logs_are_json_lines_only(stack: Stack, tmp_path: Path) -> None:
    for service in stack.all():
        for line in service.log().splitlines():
            json.loads(line)


def test_metrics_are_for_direct_scrapes_only(stack: Stack) -> None:
    """Through the ALB (which always adds X-Forwarded-For) /metrics is a 404, however it is spelled; a scrape
    from inside the VPC, straight to the task, still gets it."""

    def get(path: str, extra: str = "") -> RawResponse:
        return exchange(
            stack.gateway, f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n".encode()
        )

    assert get("/metrics").status == 200
    assert b"http_requests_total" in get("/metrics").body
    for path in ("/metrics", "/%6Detrics", "/metrics?x=1"):
        response = get(path, "X-Forwarded-For: 203.0.113.9\r\n")
        assert response.status == 404, (path, response.raw)
        assert b"http_requests_total" not in response.body
