"""The gateway's settings, from environment variables (validated once at start-up)."""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from gateway.currency import currency_code
from stockwiz_runtime.config import ServiceConfig


def _json_list(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON list: {exc.msg}") from None
    return value


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ApiToken(BaseModel):
    """One configured token: only its SHA-256 is known to the gateway, never the token itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    scope: Literal["read", "write"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


def _upstream_url(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().rstrip("/")
    return value


UpstreamUrl = Annotated[str, BeforeValidator(_upstream_url)]


class GatewayConfig(ServiceConfig):
    port: int = Field(8000, alias="PORT", ge=1, le=65535)

    product_service_url: UpstreamUrl = Field("http://127.0.0.1:8001", alias="PRODUCT_SERVICE_URL")
    inventory_service_url: UpstreamUrl = Field("http://127.0.0.1:8002", alias="INVENTORY_SERVICE_URL")

    api_tokens: Annotated[list[ApiToken], BeforeValidator(_json_list)] = Field([], alias="API_TOKENS")
    # Running a non-loopback gateway without tokens must be a visible, deliberate choice.
    allow_open: bool = Field(False, alias="ALLOW_OPEN")
    trusted_proxies: Annotated[
        list[ipaddress.IPv4Network | ipaddress.IPv6Network], BeforeValidator(_comma_list)
    ] = Field([], alias="TRUSTED_PROXIES")
    cors_allowed_origins: Annotated[list[str], BeforeValidator(_comma_list)] = Field(
        [], alias="CORS_ALLOWED_ORIGINS"
    )

    # Token bucket per client (token name, else client address); 0 turns rate limiting off.
    rate_limit_per_minute: float = Field(3000.0, alias="RATE_LIMIT_PER_MINUTE", ge=0)
    rate_limit_burst: int = Field(100, alias="RATE_LIMIT_BURST", ge=1)

    upstream_connect_timeout: float = Field(2.0, alias="UPSTREAM_CONNECT_TIMEOUT", gt=0, le=60)
    upstream_timeout: float = Field(10.0, alias="UPSTREAM_TIMEOUT", gt=0, le=120)
    upstream_pool_size: int = Field(100, alias="UPSTREAM_POOL_SIZE", ge=1, le=10_000)
    upstream_retries: int = Field(2, alias="UPSTREAM_RETRIES", ge=0, le=5)
    upstream_retry_backoff: float = Field(0.05, alias="UPSTREAM_RETRY_BACKOFF", ge=0, le=5)

    breaker_failure_threshold: int = Field(5, alias="BREAKER_FAILURE_THRESHOLD", ge=1, le=1000)
    breaker_reset_seconds: float = Field(10.0, alias="BREAKER_RESET_SECONDS", gt=0, le=600)

    # The gateway's own work per request is CPU (parsing, composing) and it waits on two services: a
    # smaller window than the services' keeps its accepted requests fast when it sheds (README, Performance).
    max_in_flight: int = Field(32, alias="MAX_IN_FLIGHT", ge=1, le=100_000)
    admission_queue: int = Field(32, alias="ADMISSION_QUEUE", ge=0, le=100_000)

    # The shop's currency, for the UI's money (GET /api/settings); prices carry no currency of their own.
    currency: Annotated[str, BeforeValidator(currency_code)] = Field("USD", alias="CURRENCY")

    health_timeout: float = Field(1.0, alias="HEALTH_TIMEOUT", gt=0, le=10)
    health_cache_seconds: float = Field(2.0, alias="HEALTH_CACHE_SECONDS", ge=0, le=60)

    @field_validator("product_service_url", "inventory_service_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = AnyHttpUrl(value)
        if url.path not in (None, "", "/") or url.query or url.fragment:
            raise ValueError("must be scheme://host[:port] without a path")
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*":
                raise ValueError("'*' is not allowed; list the origins")
            url = AnyHttpUrl(origin)
            if url.path not in (None, "", "/"):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return [origin.rstrip("/") for origin in value]

    @field_validator("api_tokens")
    @classmethod
    def _unique_names(cls, value: list[ApiToken]) -> list[ApiToken]:
        names = [token.name for token in value]
        if len(names) != len(set(names)):
            raise ValueError("token names must be unique")
        return value

    @property
    def listens_on_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
