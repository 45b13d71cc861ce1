"""The checks every /api request passes before it reaches a service: who the client is, whether it may
call at this rate, and whether its token allows this method."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.forwarding import ForwardingPolicy
from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimiter
from gateway.security import CorsPolicy
from gateway.tokens import Principal, TokenStore
from stockwiz_runtime.problems import ProblemError

_CHALLENGE = 'Bearer realm="stockwiz"'


@dataclass
class Guard:
    tokens: TokenStore
    limiter: RateLimiter
    forwarding: ForwardingPolicy
    cors: CorsPolicy
    metrics: GatewayMetrics

    @property
    def open(self) -> bool:
        return not self.tokens

    def admit(self, method: str, authorization: str | None, client: str) -> Principal | None:
        """The caller's principal (None when the gateway runs open), or a 401/403/429 problem."""
        principal = self._identify(authorization) if self.tokens else None
        # Rate limit before refusing a bad token, keyed by address when there is no valid token, so
        # guessing tokens is throttled too.
        key = f"token:{principal.name}" if principal else f"addr:{client}"
        decision = self.limiter.check(key)
        if not decision.allowed:
            self.metrics.rejected.labels("rate_limited").inc()
            raise ProblemError(
                429,
                f"Too many requests; retry in {decision.retry_after} s.",
                kind="rate-limited",
                headers={"Retry-After": str(decision.retry_after)},
            )
        if not self.tokens:
            return None
        if principal is None:
            self.metrics.rejected.labels("unauthenticated").inc()
            raise ProblemError(
                401,
                "Send a valid API token as 'Authorization: Bearer <token>'.",
                kind="unauthenticated",
                headers={"WWW-Authenticate": _CHALLENGE},
            )
        if not principal.may(method):
            self.metrics.rejected.labels("forbidden").inc()
            raise ProblemError(
                403,
                f"The token {principal.name!r} has the read scope; {method} needs a write token.",
                kind="insufficient-scope",
            )
        return principal

    def _identify(self, authorization: str | None) -> Principal | None:
        if not authorization:
            return None
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None
        return self.tokens.identify(credentials.strip())
