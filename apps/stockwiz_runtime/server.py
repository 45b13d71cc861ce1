"""The process entry point every service shares: load config, log as JSON, serve, stop gracefully.

Connections are handled by stockwiz_runtime.protocol (problem+json for malformed requests, no server
software named, header timeouts). On SIGTERM aiohttp stops listening, waits up to SHUTDOWN_TIMEOUT for
in-flight requests, then runs the cleanup contexts (closing pools) and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import TypeVar

import uvloop
from aiohttp import web

from stockwiz_runtime.config import ConfigError, ServiceConfig, load_config
from stockwiz_runtime.logs import configure_logging
from stockwiz_runtime.protocol import ServiceRunner
from stockwiz_runtime.tracing import configure_tracing, shutdown_tracing

ConfigT = TypeVar("ConfigT", bound=ServiceConfig)
log = logging.getLogger("stockwiz.server")


async def _run(app: web.Application, config: ServiceConfig) -> None:
    """Serve until SIGTERM/SIGINT (aiohttp raises GracefulExit from its signal handler), then stop
    listening, let in-flight requests finish within SHUTDOWN_TIMEOUT and run the cleanup contexts. This is
    web.run_app's sequence with our runner (stockwiz_runtime.protocol), which run_app cannot be given."""
    runner = ServiceRunner(
        app,
        header_timeout=config.header_read_timeout,
        handle_signals=True,
        access_log=None,
        shutdown_timeout=config.shutdown_timeout,
        # Longer than the load balancer's idle timeout (60 s), so it is the one to close idle connections.
        keepalive_timeout=75.0,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
        await asyncio.Event().wait()  # until the signal handler raises GracefulExit
    finally:
        await runner.cleanup()


def _stop_loop(loop: asyncio.AbstractEventLoop, main: asyncio.Task[None]) -> None:
    if not main.done():
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(main)
    others = asyncio.all_tasks(loop)
    for task in others:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*others, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def serve(
    build_app: Callable[[ConfigT], web.Application], config_model: type[ConfigT], service_name: str
) -> None:
    try:
        config = load_config(config_model)
    except ConfigError as exc:
        print(f"{service_name}: {exc}", file=sys.stderr)
        sys.exit(2)
    configure_logging(service_name, config.log_level)
    configure_tracing(config, service_name)
    try:
        app = build_app(config)
    except ConfigError as exc:
        log.error("%s", exc)
        sys.exit(2)
    log.info(
        "starting on %s:%s",
        config.host,
        config.port,
        extra={"fields": {"host": config.host, "port": config.port}},
    )
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(_run(app, config))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    except Exception as exc:
        log.exception("start-up failed: %s", exc)
        sys.exit(1)
    finally:
        _stop_loop(loop, main)
        shutdown_tracing(config.tracing_flush_timeout)
    log.info("stopped")
