"""An open-loop HTTP load generator: requests arrive at a fixed rate whatever the server does, the way real
clients arrive, so an overloaded server cannot slow the load down (closed-loop tools such as wrk send the
next request only when an answer came back, and so never overload anything: coordinated omission).

wrk2 (wrk with a fixed rate) is not packaged by Debian and wrk's Lua `delay()` only adds think time per
connection, which is still closed-loop. This is the smallest tool that does it: one process, uvloop, raw
asyncio protocols over keep-alive connections (no HTTP client library: a few microseconds per request),
requests scheduled at exact arrival times, at most `connections` outstanding. An arrival that finds every
connection busy is counted as `not_sent` (the generator's own limit, reported; a valid run has few). Latency
is measured from the scheduled arrival time, so time spent waiting for the generator is counted too.

    python -m tools.openloop --port 8000 --rate 2000 --duration 20 --connections 512 \\
        --path-format /api/products/%d --count 1000 --header "Authorization: Bearer ..."

prints one JSON object: per-status counts, accepted (2xx) latency percentiles, errors, timeouts, the
bytes of the answers. `--requests-file` replaces --path-format with a weighted mix of kinds of request, POST
bodies included (tools/capacity.py writes one): {"kinds": [{"name": "read", "weight": 70, "method": "GET",
"paths": ["/api/products/1", ...], "body": null}, ...]}; each arrival draws a kind by weight, then a path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

import uvloop


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection carrying one request at a time."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.started = 0.0
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, started: float) -> None:
        assert self.transport is not None
        self.busy = True
        self.started = started
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        # The hot path of the generator: most answers arrive whole in one read.
        buffer = self.buffer + data if self.buffer else data
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            self.buffer = buffer
            return
        marker = buffer.find(b"Content-Length:", 0, head_end)
        if marker < 0:
            marker = buffer[:head_end].lower().find(b"content-length:")
        length = 0
        if marker >= 0:
            line_end = buffer.find(b"\r\n", marker)
            length = int(buffer[marker + 15 : line_end])
        if len(buffer) - head_end - 4 < length:
            self.buffer = buffer
            return
        self.buffer = b""
        if self.generator.measuring:
            self.generator.bytes_received += head_end + 4 + length
        status = int(buffer[9:12])
        closing = buffer.find(b"Connection: close", 0, head_end) >= 0
        self.busy = False
        self.generator.answered(self, status, self.started)
        if closing and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.generator.lost(self)


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.loop = asyncio.get_running_loop()
        self.idle: deque[Connection] = deque()
        self.statuses: Counter[int] = Counter()
        self.accepted_latencies: list[float] = []
        self.refused_latencies: list[float] = []
        self.errors = 0
        self.not_sent = 0
        self.sent = 0
        self.outstanding = 0
        self.timeouts = 0
        self.measuring = False
        headers = "".join(f"{header}\r\n" for header in args.header)
        template = f"GET {{path}} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n{headers}\r\n"
        # Every request built once: choosing one costs an index per arrival.
        paths = (
            [args.path_format % n for n in range(1, args.count + 1)]
            if "%d" in args.path_format
            else [args.path_format]
        )
        self.requests = [template.format(path=path).encode() for path in paths]
        # A mix: the kind of each arrival drawn from a deck of 1,000 kind numbers laid out by weight (one
        # index per arrival, like the single-kind case), then one of that kind's prebuilt requests.
        self.kinds: list[list[bytes]] = []
        self.deck: list[int] = []
        self.bytes_received = 0
        if args.requests_file:
            mix = json.loads(Path(args.requests_file).read_text())["kinds"]
            total = sum(float(kind["weight"]) for kind in mix)
            for number, kind in enumerate(mix):
                self.kinds.append([_encode(kind, path, args, headers) for path in kind["paths"]])
                self.deck += [number] * round(1000 * float(kind["weight"]) / total)

    async def open(self) -> None:
        for _ in range(self.args.connections):
            await self._connect()

    async def _connect(self) -> None:
        _, connection = await self.loop.create_connection(
            lambda: Connection(self), self.args.host, self.args.port
        )
        self.idle.append(connection)

    def request(self) -> bytes:
        if self.deck:
            return random.choice(self.kinds[random.choice(self.deck)])
        return random.choice(self.requests)

    def answered(self, connection: Connection, status: int, started: float) -> None:
        self.outstanding -= 1
        elapsed = time.monotonic() - started
        if self.measuring:
            self.statuses[status] += 1
            if 200 <= status < 300:
                self.accepted_latencies.append(elapsed)
            elif status in (429, 503):
                self.refused_latencies.append(elapsed)
        if connection.transport is not None:
            self.idle.append(connection)

    def lost(self, connection: Connection) -> None:
        if connection.busy:
            self.outstanding -= 1
            if self.measuring:
                self.errors += 1
        if connection in self.idle:
            self.idle.remove(connection)
        self.loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        try:
            await self._connect()
        except OSError:
            self.errors += 1

    async def run(self, rate: float, seconds: float, *, measuring: bool) -> None:
        self.measuring = measuring
        interval = 1.0 / rate
        start = time.monotonic()
        end = start + seconds
        due = start
        while due < end:
            now = time.monotonic()
            while due <= now and due < end:
                if self.idle:
                    connection = self.idle.popleft()
                    self.outstanding += 1
                    if measuring:
                        self.sent += 1
                    connection.send(self.request(), due)
                elif measuring:
                    self.not_sent += 1
                due += interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        # Answers to requests sent near the end still count, within the timeout.
        deadline = time.monotonic() + self.args.timeout
        while self.outstanding > 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - a poll, on purpose
            await asyncio.sleep(0.01)
        if measuring:
            self.timeouts = max(self.outstanding, 0)
        self.measuring = False


def _encode(kind: dict[str, Any], path: str, args: argparse.Namespace, headers: str) -> bytes:
    """One request of a mix's kind: its method, path and (for a body) JSON headers."""
    body: str | None = kind.get("body")
    if body is None:
        return f"{kind['method']} {path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n{headers}\r\n".encode()
    data = body.encode()
    head = (
        f"{kind['method']} {path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n{headers}"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    generator = Generator(args)
    await generator.open()
    if args.warm_up:
        await generator.run(args.rate, args.warm_up, measuring=False)
    started = time.perf_counter()
    await generator.run(args.rate, args.duration, measuring=True)
    elapsed = time.perf_counter() - started
    accepted = generator.accepted_latencies
    return {
        "rate": args.rate,
        "seconds": args.duration,
        "wall_seconds": round(elapsed, 2),
        "sent": generator.sent,
        "not_sent": generator.not_sent,
        "statuses": {str(status): count for status, count in sorted(generator.statuses.items())},
        "accepted": len(accepted),
        "goodput_per_s": round(len(accepted) / args.duration, 1),
        "accepted_p50_ms": round(percentile(accepted, 0.50) * 1000, 2),
        "accepted_p99_ms": round(percentile(accepted, 0.99) * 1000, 2),
        "accepted_max_ms": round(max(accepted, default=0.0) * 1000, 2),
        "refused_p99_ms": round(percentile(generator.refused_latencies, 0.99) * 1000, 2),
        "errors": generator.errors,
        "timeouts": generator.timeouts,
        "bytes_per_answer": round(generator.bytes_received / max(sum(generator.statuses.values()), 1), 1),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.openloop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second, fixed")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warm-up", type=float, default=0)
    parser.add_argument("--connections", type=int, default=512, help="most requests outstanding at once")
    parser.add_argument("--timeout", type=float, default=15, help="seconds to wait for the last answers")
    parser.add_argument("--path-format", default="/", help="a path; %%d is replaced by 1..count at random")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--requests-file", help="a JSON mix of kinds of request (see above)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    print(json.dumps(uvloop.run(main(arguments))))
