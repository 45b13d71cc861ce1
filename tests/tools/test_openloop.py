"""tools/openloop.py's weighted mix, against a real HTTP server: each kind's method, path and JSON body
arrive as written, in about the proportions of the weights, and the answers' bytes are counted."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.support.processes import REPO, free_port


@pytest.fixture
def recorder() -> Iterator[tuple[int, Counter[str], list[object]]]:
    seen: Counter[str] = Counter()
    bodies: list[object] = []
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def handle(request: web.Request) -> web.Response:
        seen[f"{request.method} {request.path_qs}"] += 1
        if request.can_read_body:
            bodies.append(await request.json())
        return web.json_response({"ok": True})

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(serve())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield port, seen, bodies
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()  # an unclosed loop (and its self-pipe) is a ResourceWarning when collected


def test_a_weighted_mix_sends_each_kind_with_its_method_and_body(
    recorder: tuple[int, Counter[str], list[object]], tmp_path: Path
) -> None:
    port, seen, bodies = recorder
    mix = {
        "kinds": [
            {"name": "read", "weight": 3, "method": "GET", "paths": ["/a/1", "/a/2"], "body": None},
            {"name": "write", "weight": 1, "method": "POST", "paths": ["/w"], "body": '{"delta": 1}'},
        ]
    }
    (tmp_path / "mix.json").write_text(json.dumps(mix))
    command = [
        sys.executable, "-m", "tools.openloop", f"--port={port}", "--rate=400", "--duration=2",
        "--connections=16", f"--requests-file={tmp_path / 'mix.json'}",
    ]  # fmt: skip
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["statuses"] == {"200": result["sent"]} and result["sent"] >= 700
    assert set(seen) == {"GET /a/1", "GET /a/2", "POST /w"}
    writes = seen["POST /w"] / sum(seen.values())
    assert 0.18 < writes < 0.32, seen  # a quarter of the arrivals, give or take chance
    assert bodies and all(body == {"delta": 1} for body in bodies)
    assert result["bytes_per_answer"] > len(b'{"ok": true}')  # head and body of each answer
