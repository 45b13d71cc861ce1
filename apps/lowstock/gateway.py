"""Reads every low-stock record from the gateway's `/api/inventory/low-stock`, following pagination."""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any, NoReturn
from urllib.parse import urlencode, urljoin, urlsplit

from lowstock.records import InvalidRecord, LowRecord

log = logging.getLogger("lowstock.gateway")

LOW_STOCK_PATH = "/api/inventory/low-stock"
USER_AGENT = "stockwiz-lowstock/1"
MAX_BODY_BYTES = 32 * 1024 * 1024
# 429 and the gateway's 502/503/504 (downstream unavailable or timed out) are worth a second try;
# any other status is an answer that retrying will not change.
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^,;]+)*)")


class ApiError(RuntimeError):
    """The low-stock list could not be read completely and correctly."""


class _AuthRejected(ApiError):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # The bearer token must never follow a redirect to another origin; the gateway never redirects the API.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def next_link(header: str | None) -> str | None:
    """The target of the `rel="next"` entry of an RFC 8288 Link header, if any."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        target, params = match.group(1), match.group(2)
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return target
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class GatewayClient:
    """Synchronous on purpose: one scheduled run makes a handful of sequential requests."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str | None],
        *,
        invalidate_token: Callable[[], None] = lambda: None,
        page_size: int = 1000,
        timeout: float = 10.0,
        attempts: int = 3,
        max_pages: int = 100,
        sleep: Callable[[float], None] | None = None,
        request_id: Callable[[], str | None] = lambda: None,
    ) -> None:
        scheme, netloc = _origin(base_url)
        if scheme not in ("http", "https") or not netloc:
            raise ValueError(f"the gateway URL must be http(s)://host[:port], got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._invalidate_token = invalidate_token
        self._page_size = page_size
        self._timeout = timeout
        self._attempts = attempts
        self._max_pages = max_pages
        self._sleep = sleep
        self._request_id = request_id
        self._opener = urllib.request.build_opener(_NoRedirects)

    @property
    def app_url(self) -> str:
        return self.base_url

    @property
    def first_page_url(self) -> str:
        return f"{self.base_url}{LOW_STOCK_PATH}?{urlencode({'limit': self._page_size, 'offset': 0})}"

    def fetch(self) -> list[LowRecord]:
        """All low records. A record skipped by shifting offsets would later be announced as recovered,
        so a listing of several pages is trusted only when two consecutive reads agree."""
        try:
            return self._fetch_consistent()
        except _AuthRejected:
            # The token may have been rotated since it was cached: fetch it again, once.
            self._invalidate_token()
            return self._fetch_consistent()

    def _fetch_consistent(self) -> list[LowRecord]:
        agreed_ids: set[int] | None = None
        for _ in range(3):
            listing = self._read_pass()
            ids = {r.id for r in listing.records}
            if listing.consistent and (listing.pages == 1 or ids == agreed_ids):
                return listing.records
            log.warning(
                "low-stock listing changed while it was paged; reading it again",
                extra={"fields": {"records": len(ids), "pages": listing.pages}},
            )
            agreed_ids = ids if listing.consistent else None
        raise ApiError("the low-stock listing kept changing while it was paged")

    def _read_pass(self) -> _Listing:
        """One pass over the pages; a total that moves, or disagrees with what was read, is inconsistent."""
        url: str | None = self.first_page_url
        origin = _origin(self.base_url)
        seen: dict[int, LowRecord] = {}
        totals: set[int] = set()
        pages = 0
        while url is not None:
            pages += 1
            if pages > self._max_pages:
                raise ApiError(f"more than {self._max_pages} pages of low-stock records")
            body, headers = self._get(url)
            if not isinstance(body, list):
                raise ApiError(f"expected a JSON array from {url}, got {type(body).__name__}")
            try:
                for item in body:
                    record = LowRecord.from_api(item)
                    seen[record.id] = record
            except InvalidRecord as exc:
                raise ApiError(f"invalid low-stock record from {url}: {exc}") from exc
            total = _total_count(headers.get("X-Total-Count"))
            if total is not None:
                totals.add(total)
            following = next_link(headers.get("Link"))
            if following is None:
                break
            following = urljoin(url, following)
            if _origin(following) != origin:
                raise ApiError(f"refusing to follow a next link to another origin: {following}")
            if not body:
                raise ApiError(f"an empty page still links to a next page: {following}")
            url = following
        consistent = not totals or totals == {len(seen)}
        return _Listing(sorted(seen.values(), key=lambda r: r.id), pages, consistent)

    def _get(self, url: str) -> tuple[Any, Message]:
        last: BaseException | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                return self._get_once(url)
            except _Retryable as exc:
                last = exc.__cause__ or exc
                if attempt < self._attempts:
                    delay = min(
                        exc.retry_after if exc.retry_after is not None else 0.5 * 2 ** (attempt - 1), 5.0
                    )
                    log.warning(
                        "gateway request failed; retrying",
                        extra={
                            "fields": {"url": url, "attempt": attempt, "error": str(last), "delay": delay}
                        },
                    )
                    (self._sleep or time.sleep)(delay)
        raise ApiError(f"GET {url} failed after {self._attempts} attempts: {last}") from last

    def _get_once(self, url: str) -> tuple[Any, Message]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request_id = self._request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
        request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310 (scheme checked)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read(MAX_BODY_BYTES + 1)
                response_headers = response.headers
        except urllib.error.HTTPError as exc:
            _raise_for_status(url, exc)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise _Retryable(None) from exc
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(f"response from {url} is larger than {MAX_BODY_BYTES} bytes")
        content_type = response_headers.get_content_type()
        if content_type != "application/json":
            raise ApiError(f"expected application/json from {url}, got {content_type}")
        try:
            return json.loads(raw), response_headers
        except ValueError as exc:
            raise ApiError(f"invalid JSON from {url}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Listing:
    records: list[LowRecord]
    pages: int
    consistent: bool


class _Retryable(Exception):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__("retryable")
        self.retry_after = retry_after


def _raise_for_status(url: str, exc: urllib.error.HTTPError) -> NoReturn:
    detail = ""
    try:
        detail = exc.read(2000).decode("utf-8", "replace")
    except OSError:
        pass
    finally:
        exc.close()
    if exc.code in (401, 403):
        raise _AuthRejected(f"GET {url} was refused with {exc.code}: {detail}") from None
    if exc.code in RETRYABLE_STATUS:
        raise _Retryable(_retry_after(exc.headers.get("Retry-After"))) from exc
    raise ApiError(f"GET {url} answered {exc.code}: {detail}") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _total_count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(f"invalid X-Total-Count header {value!r}") from exc
