"""The process entry point every service shares: load config, log as JSON, serve, stop gracefully.

On SIGTERM aiohttp stops listening, waits up to SHUTDOWN_TIMEOUT for in-flight requests, then runs the
cleanup contexts (closing pools) and the process exits 0.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TypeVar

import uvloop
from aiohttp import web

from stockwiz_runtime.config import ConfigError, ServiceConfig, load_config
from stockwiz_runtime.logs import configure_logging
from stockwiz_runtime.tracing import configure_tracing, shutdown_tracing

ConfigT = TypeVar("ConfigT", bound=ServiceConfig)
log = logging.getLogger("stockwiz.server")


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
    try:
        web.run_app(
            app,
            host=config.host,
            port=config.port,
            shutdown_timeout=config.shutdown_timeout,
            access_log=None,
            print=None,
            handle_signals=True,
            loop=uvloop.new_event_loop(),
        )
    except Exception as exc:
        log.exception("start-up failed: %s", exc)
        sys.exit(1)
    finally:
        shutdown_tracing(config.tracing_flush_timeout)
    log.info("stopped")
