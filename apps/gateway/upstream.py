"""One backing service as the gateway sees it: a pooled HTTP client with timeouts, retries and a breaker.

Every failure becomes a problem the client can act on, naming the service: refused or reset -> 502,
timed out -> 504, breaker open -> 503 with Retry-After. Nothing waits longer than the configured timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from gateway.breaker import CircuitBreaker, CircuitOpenError, State
from gateway.metrics import GatewayMetrics
from gateway.retry import RetryPolicy, is_retryable_error, is_timeout
from gateway.tracing import circuit_changed, circuit_open_span, client_trace_configs, retry_span
from stockwiz_runtime.jsonio import loads
from stockwiz_runtime.problems import ProblemError

log = logging.getLogger("stockwiz.gateway.upstream")

# Answers that say the service itself is unwell (not that the request was wrong) count against the breaker:
# a 503 `database-unavailable` among them. A 503 `overloaded` does not: the service is up and shedding what
# it cannot take now (stockwiz_runtime.admission); opening the circuit would refuse everything instead.
_UNHEALTHY_STATUSES = frozenset({502, 503, 504})
OVERLOADED_TYPE = "urn:stockwiz:problem:overloaded"
# A 503 body larger than this is not a service's problem document: not read, counted as a failure.
_PEEK_LIMIT = 16 * 1024


class Upstream:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_timeout: float,
        total_timeout: float,
        pool_size: int,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        metrics: GatewayMetrics,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.breaker = breaker
        self.metrics = metrics
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout)
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._outcomes: dict[int | str, Any] = {}
        metrics.set_circuit_state(name, breaker.state)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=False,
            trust_env=False,
            # The services need no User-Agent, and never compress for the gateway (it forwards no
            # Accept-Encoding): sending neither saves work on every request.
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            trace_configs=client_trace_configs(),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"upstream {self.name} is not started")
        return self._session

    def url(self, path_and_query: str) -> URL:
        # The path comes from the client's raw (still percent-encoded) path: keep it byte for byte.
        return URL(self.base_url + path_and_query, encoded=True)

    def _count(self, outcome: int | str) -> None:
        counter = self._outcomes.get(outcome)
        if counter is None:
            counter = self._outcomes[outcome] = self.metrics.upstream_requests.labels(self.name, str(outcome))
        counter.inc()

    def _breaker_changed(self) -> None:
        self.metrics.set_circuit_state(self.name, self.breaker.state)

    def unavailable(self, retry_after: int) -> ProblemError:
        return ProblemError(
            503,
            f"The {self.name} is unavailable after repeated failures; retry in {retry_after} s.",
            kind="upstream-unavailable",
            headers={"Retry-After": str(retry_after)},
            extra={"upstream": self.name},
        )

    def unreachable(self, exc: BaseException) -> ProblemError:
        return ProblemError(
            502,
            f"The {self.name} could not be reached ({type(exc).__name__}).",
            kind="upstream-unreachable",
            extra={"upstream": self.name},
        )

    def timed_out(self) -> ProblemError:
        return ProblemError(
            504,
            f"The {self.name} did not answer within {self._timeout.total:g} s.",
            kind="upstream-timeout",
            extra={"upstream": self.name},
        )

    def failed(self, exc: BaseException) -> ProblemError:
        """The problem for an exception raised while talking to this upstream, counted against it."""
        self._record_failure()
        if is_timeout(exc):
            self._count("timeout")
            return self.timed_out()
        self._count("error")
        return self.unreachable(exc)

    def _record_failure(self) -> None:
        before = self.breaker.state
        self.breaker.record_failure()
        if self.breaker.state is not before:
            self._breaker_changed()
            if self.breaker.state is State.OPEN:
                log.warning("circuit to %s opened", self.name)
                circuit_changed(self.name, "opened")

    def _record_success(self) -> None:
        before = self.breaker.state
        self.breaker.record_success()
        if before is not State.CLOSED:
            self._breaker_changed()
            log.info("circuit to %s closed", self.name)
            circuit_changed(self.name, "closed")

    async def request(
        self,
        method: str,
        path_and_query: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> aiohttp.ClientResponse:
        """Send one request (retrying connection failures when that is safe) and return the response with
        its body unread; the caller must release it. Raises ProblemError on any failure."""
        try:
            self.breaker.before_request()
        except CircuitOpenError as exc:
            self._breaker_changed()
            self._count("circuit_open")
            circuit_open_span(self.name, exc.retry_after_seconds)
            raise self.unavailable(exc.retry_after_seconds) from None
        url = self.url(path_and_query)
        retries = self.retry.retries if self.retry.may_retry(method, "Idempotency-Key" in headers) else 0
        attempt = 0
        try:
            while True:
                try:
                    response = await self.session.request(
                        method, url, headers=headers, data=body, allow_redirects=False
                    )
                except Exception as exc:
                    if attempt < retries and is_retryable_error(exc):
                        attempt += 1
                        self.metrics.upstream_retries.labels(self.name).inc()
                        delay = self.retry.delay(attempt)
                        with retry_span(self.name, attempt, delay, exc):
                            await asyncio.sleep(delay)
                        continue
                    raise
                break
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.breaker.release()
            raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("%s %s %s failed: %s: %s", self.name, method, url.path, type(exc).__name__, exc)
            raise self.failed(exc) from None
        self._count(response.status)
        if response.status == 503 and await self._is_shedding(response):
            self.breaker.release()
        elif response.status in _UNHEALTHY_STATUSES:
            self._record_failure()
        else:
            self._record_success()
        return response

    async def _is_shedding(self, response: aiohttp.ClientResponse) -> bool:
        """Whether a 503 is the service's admission control refusing for now. Reads the (small) body,
        which aiohttp keeps for the caller's read()."""
        length = response.content_length
        if length is None or length > _PEEK_LIMIT:
            return False
        try:
            problem = loads(await response.read())
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return False
        return isinstance(problem, dict) and problem.get("type") == OVERLOADED_TYPE

    async def get_bytes(
        self, path_and_query: str, headers: Mapping[str, str]
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        """GET a whole answer: (status, response headers, body), the connection released."""
        response = await self.request("GET", path_and_query, headers=headers)
        try:
            raw = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self.failed(exc) from None
        finally:
            response.release()
        return response.status, response.headers, raw

    async def get_json(
        self,
        path_and_query: str,
        headers: Mapping[str, str],
        decode: Callable[[bytes], Any] = loads,
    ) -> tuple[int, CIMultiDictProxy[str], Any]:
        """GET and decode a JSON answer: (status, response headers, decoded body). The default decoder
        keeps prices exact (Decimal); pass orjson.loads for bodies without fractions."""
        status, response_headers, raw = await self.get_bytes(path_and_query, headers)
        try:
            data = decode(raw) if raw else None
        except ValueError:
            raise ProblemError(
                502, f"The {self.name} answered with invalid JSON.", kind="upstream-bad-response"
            ) from None
        return status, response_headers, data
