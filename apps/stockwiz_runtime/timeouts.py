"""Request bodies arrive within a deadline: a client trickling its body (slowloris) gets a 408 and the
connection closes, instead of holding a request slot and its buffers for as long as it likes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from stockwiz_runtime.keys import BODY_READ_TIMEOUT
from stockwiz_runtime.problems import ProblemError


async def read_body(request: web.Request) -> bytes:
    """The whole request body (bounded by MAX_BODY_BYTES, 413 beyond), or a 408 problem when it does not
    arrive within BODY_READ_TIMEOUT seconds."""
    timeout = request.app[BODY_READ_TIMEOUT]
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        # The connection cannot carry another request: stop reading from it (close() makes aiohttp ignore
        # further bytes and close it once this answer is sent) and end the body, so aiohttp does not
        # linger reading the rest of it for the slow client.
        request.protocol.close()
        request.content.feed_eof()
        raise ProblemError(
            408,
            f"The request body did not arrive within {timeout:g} s.",
            kind="request-timeout",
            headers={"Connection": "close"},
        ) from None
