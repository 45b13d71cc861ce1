"""The Lambda entry point: configuration from the environment, collaborators built once per container."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from lowstock import logs
from lowstock.aws import CloudWatchMetrics, SecretToken, SnsNotifier, SsmStateStore
from lowstock.gateway import GatewayClient
from lowstock.run import Collaborators, run_once

log = logging.getLogger("lowstock.handler")

DEFAULT_NAMESPACE = "StockWiz/LowStock"


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    api_url: str
    token_secret_id: str
    topic_arn: str
    state_parameter: str
    lock_parameter: str
    stack: str
    metric_namespace: str = DEFAULT_NAMESPACE
    page_size: int = 1000
    http_timeout: float = 10.0
    lease_seconds: float = 90.0
    token_ttl: float = 300.0
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        required = {
            "api_url": "STOCKWIZ_API_URL",
            "token_secret_id": "API_TOKEN_SECRET_ARN",
            "topic_arn": "ALERT_TOPIC_ARN",
            "state_parameter": "STATE_PARAMETER",
            "lock_parameter": "LOCK_PARAMETER",
            "stack": "STACK",
        }
        missing = [name for name in required.values() if not env.get(name)]
        if missing:
            raise ConfigError(f"missing environment variables: {', '.join(missing)}")
        try:
            return cls(
                **{field: env[name] for field, name in required.items()},
                metric_namespace=env.get("METRIC_NAMESPACE") or DEFAULT_NAMESPACE,
                page_size=int(env.get("PAGE_SIZE", "1000")),
                http_timeout=float(env.get("HTTP_TIMEOUT", "10")),
                lease_seconds=float(env.get("LEASE_SECONDS", "90")),
                token_ttl=float(env.get("TOKEN_TTL", "300")),
                log_level=env.get("LOG_LEVEL", "INFO"),
            )
        except ValueError as exc:
            raise ConfigError(f"invalid number in the environment: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Runtime:
    collaborators: Collaborators
    token: SecretToken


@functools.cache
def _runtime(settings: Settings) -> _Runtime:
    """Clients and the token cache live as long as the execution environment: warm runs reuse them."""
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
    session = boto3.session.Session()
    token = SecretToken(
        session.client("secretsmanager", config=config), settings.token_secret_id, ttl=settings.token_ttl
    )
    source = GatewayClient(
        settings.api_url,
        token,
        invalidate_token=token.invalidate,
        page_size=settings.page_size,
        timeout=settings.http_timeout,
        request_id=logs.current_request_id,
    )
    store = SsmStateStore(
        session.client("ssm", config=config),
        settings.state_parameter,
        settings.lock_parameter,
        owner=lambda: logs.current_request_id() or "unknown",
        lease_seconds=settings.lease_seconds,
    )
    notifier = SnsNotifier(session.client("sns", config=config), settings.topic_arn, stack=settings.stack)
    metrics = CloudWatchMetrics(
        session.client("cloudwatch", config=config), settings.metric_namespace, {"Stack": settings.stack}
    )
    return _Runtime(Collaborators(source, store, notifier, metrics, stack=settings.stack), token)


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = Settings.from_env(os.environ)
    logs.configure(settings.log_level)
    logs.set_request_id(getattr(context, "aws_request_id", None))
    try:
        trigger = event.get("source", "direct") if isinstance(event, Mapping) else "direct"
        log.info("low-stock check started", extra={"fields": {"trigger": trigger}})
        return run_once(_runtime(settings).collaborators)
    except Exception:
        log.exception("low-stock check failed")
        raise
    finally:
        logs.set_request_id(None)


def reset() -> None:
    """Forget the cached clients and token (what a cold start does); tests use it between cases."""
    _runtime.cache_clear()
