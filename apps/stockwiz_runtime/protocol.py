"""The HTTP connection handling every service runs: aiohttp's, with three changes at the connection level,
below any middleware.

- A request the HTTP parser refuses (bare-LF line endings, a bad header, a bad method) is answered with a
  400 problem+json that says what kind of error it was, never with the request's bytes. aiohttp's own
  handler echoes the raw request (Authorization and Cookie included) in a plain-text body and logs it at
  ERROR with a traceback; ours logs one line naming the exception type only.
- No response names the server software: aiohttp's default `Server: Python/3.x aiohttp/3.y` is replaced.
- A client that starts a request must finish its header block within `header_timeout` seconds, or the
  connection gets a 408 and is closed (slowloris). Idle keep-alive connections are aiohttp's keepalive
  timeout's business, and request bodies are bounded by `read_body` (stockwiz_runtime.timeouts).

aiohttp has no public hook for any of these: `web.run_app` always builds a plain `Server`, so `serve` uses
`ServiceRunner`, which builds our `Server`, which builds our `RequestHandler`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_request import BaseRequest

from stockwiz_runtime.jsonio import dumps
from stockwiz_runtime.problems import PROBLEM_CONTENT_TYPE

log = logging.getLogger("stockwiz.http")

SERVER_NAME = "stockwiz"
_TYPE_PREFIX = "urn:stockwiz:problem:"


def _problem_bytes(status: int, title: str, kind: str, detail: str) -> bytes:
    return dumps({"type": _TYPE_PREFIX + kind, "title": title, "status": status, "detail": detail})


def connection_problem(status: int, exc: BaseException | None) -> web.Response:
    """The answer to a request that never reached the application: a fixed text per status, nothing from
    the request."""
    if status == 400:
        # The exception's class names the kind of error (BadStatusLine, InvalidHeader, ...); its message
        # quotes the request's bytes and is never used.
        kind = type(exc).__name__ if exc is not None else "BadHttpMessage"
        body = _problem_bytes(
            400, "Bad Request", "malformed-request", f"The request is not valid HTTP/1.1 ({kind})."
        )
    elif status == 504:
        body = _problem_bytes(504, "Gateway Timeout", "timeout", "The request took too long.")
    else:
        status = 500 if status < 400 else status
        body = _problem_bytes(
            status, "Internal Server Error", "internal", "An unexpected error occurred; it has been logged."
        )
    response = web.Response(
        status=status, body=body, content_type=PROBLEM_CONTENT_TYPE, headers={"Server": SERVER_NAME}
    )
    response.force_close()
    return response


_HEADER_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: " + PROBLEM_CONTENT_TYPE.encode() + b"\r\n"
    b"Connection: close\r\nServer: " + SERVER_NAME.encode() + b"\r\nContent-Length: %d\r\n\r\n%s"
)


class ServiceRequestHandler(web_protocol.RequestHandler):
    """One client connection. See the module's docstring for what differs from aiohttp's."""

    __slots__ = ("_header_deadline", "_header_timeout")

    def __init__(self, manager: web.Server, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._header_deadline: asyncio.TimerHandle | None = None

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # `message` and str(exc) quote the raw request: neither is logged nor sent.
        if status == 400:
            # Expected from scanners and broken clients on a public port: one line, no traceback.
            level = logging.DEBUG if isinstance(exc, BadHttpMethod) else logging.INFO
            log.log(level, "refused a malformed request: %s", type(exc).__name__ if exc else "unknown")
        elif exc is not None:
            log.error(
                "unhandled %s while handling a request", type(exc).__name__, exc_info=(type(exc), exc, None)
            )
        if request.writer.output_size > 0:
            raise ConnectionError("the response had started; the connection is closed instead")
        return connection_problem(status, exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages or self._request_in_progress:
            # A whole header block arrived (or a request is being handled and this is its body).
            self._cancel_header_deadline()
        elif data and self._header_deadline is None and self.transport is not None:
            # The first bytes of a request: its headers must all be here within the header timeout.
            self._header_deadline = self._loop.call_later(self._header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self._messages or self._request_in_progress or self.transport is None:
            return
        log.info("closed a connection whose request headers took over %g s", self._header_timeout)
        body = _problem_bytes(
            408,
            "Request Timeout",
            "request-timeout",
            f"The request headers did not arrive within {self._header_timeout:g} s.",
        )
        self.transport.write(_HEADER_TIMEOUT_RESPONSE % (len(body), body))
        self.force_close()


class ServiceServer(web.Server):
    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout

    def __call__(self) -> ServiceRequestHandler:
        return ServiceRequestHandler(
            self, loop=self._loop, header_timeout=self.header_timeout, **self._kwargs
        )


class ServiceRunner(web.AppRunner):
    """An AppRunner whose server speaks through ServiceRequestHandler."""

    def __init__(self, app: web.Application, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout = header_timeout

    async def _make_server(self) -> web.Server:
        # AppRunner's own steps (start the application, freeze it, build the server), with our server
        # class: Application._make_handler hard-codes aiohttp's.
        server = await super()._make_server()
        return ServiceServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            header_timeout=self._header_timeout,
            **server._kwargs,
        )


async def no_server_software(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: aiohttp would announce `Python/3.x aiohttp/3.y`; nothing outside needs it."""
    response.headers["Server"] = SERVER_NAME
