"""The benchmark's baseline: the smallest aiohttp JSON handler, on the same event loop policy as the services.

Every figure of `make bench` is also given as a ratio to this one, measured in the same run, so results
from noisy or different machines stay comparable.
"""

from __future__ import annotations

import os

import uvloop
from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"id": 1, "name": "baseline", "price": 1.0})


def main() -> None:
    app = web.Application()
    app.router.add_get("/item", hello)
    app.router.add_get("/readyz", hello)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
