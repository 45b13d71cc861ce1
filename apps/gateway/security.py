"""Browser-facing protections on every response: security headers, and CORS only for configured origins."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    # aiohttp would announce its and Python's versions; nothing outside needs them.
    "Server": "stockwiz",
}
HSTS = "max-age=31536000; includeSubDomains"

CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
CORS_REQUEST_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"
CORS_EXPOSED_HEADERS = "ETag, Link, Location, Retry-After, X-Request-ID, X-Total-Count"


def add_security_headers(response: web.StreamResponse, *, https: bool) -> None:
    response.headers.update(SECURITY_HEADERS)
    if https:
        # Only over HTTPS: announcing HSTS on plain HTTP is ignored by browsers and misleads readers.
        response.headers["Strict-Transport-Security"] = HSTS


class CorsPolicy:
    """Cross-origin access for the listed origins only; with none listed the gateway sends no CORS
    headers at all, so browsers keep other sites out."""

    def __init__(self, origins: Sequence[str]) -> None:
        self.origins = frozenset(origins)

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and origin in self.origins

    def decorate(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        if not self.origins:
            return
        response.headers.add("Vary", "Origin")
        origin = request.headers.get("Origin")
        if self.allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin  # type: ignore[assignment]
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS

    def middleware(self) -> Middleware:
        @web.middleware
        async def cors_preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
            # A preflight carries no credentials, so it is answered here, before authentication.
            if (
                self.origins
                and request.method == "OPTIONS"
                and "Access-Control-Request-Method" in request.headers
                and self.allowed(request.headers.get("Origin"))
            ):
                return web.Response(
                    status=204,
                    headers={
                        "Access-Control-Allow-Methods": CORS_METHODS,
                        "Access-Control-Allow-Headers": CORS_REQUEST_HEADERS,
                        "Access-Control-Max-Age": "600",
                    },
                )
            return await handler(request)

        return cors_preflight
