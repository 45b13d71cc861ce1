"""The process stopping itself, gracefully, when only a restart can recover (e.g. rotated credentials).

The server installs a SelfStop that sends SIGTERM to its own process, which runs the normal graceful
shutdown; in tests and other embeddings there is none, and the request is only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger("stockwiz.lifecycle")


class SelfStop:
    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self.requested = False

    def __call__(self, reason: str) -> None:
        if self.requested:
            return
        self.requested = True
        log.error("stopping: %s", reason)
        self._stop()


SELF_STOP = web.AppKey("self_stop", SelfStop)


def request_shutdown(app: web.Application, reason: str) -> None:
    stop = app.get(SELF_STOP)
    if stop is None:
        log.error("a restart is needed but this process cannot stop itself: %s", reason)
        return
    stop(reason)
