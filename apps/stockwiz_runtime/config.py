"""Configuration from environment variables, validated once at start-up.

Each service declares a pydantic model whose field aliases are the variable names; `load_config` reads the
environment, and a bad value raises `ConfigError` naming the variable so the process can stop with a clear
message instead of failing later in a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stockwiz_runtime.tracing import TracingSettings

_SENSITIVE = ("PASSWORD", "TOKEN", "SECRET", "KEY")


class ConfigError(Exception):
    """One or more environment variables are invalid; the message names each of them."""


class ServiceConfig(TracingSettings):
    """Settings every service shares (tracing's among them). Subclasses override `port` and add their own."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", alias="HOST", min_length=1)
    port: int = Field(8000, alias="PORT", ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")
    # ECS sends SIGTERM, waits stopTimeout (30 s in our task definitions), then SIGKILL: finish below it.
    shutdown_timeout: float = Field(20.0, alias="SHUTDOWN_TIMEOUT", gt=0, le=110)
    # How long a request may take here: below the gateway's UPSTREAM_TIMEOUT (10 s), so that a write the
    # gateway reports as timed out is never committed afterwards (see stockwiz_runtime.db).
    request_timeout: float = Field(8.0, alias="REQUEST_TIMEOUT", gt=0, le=110)
    max_body_bytes: int = Field(1_048_576, alias="MAX_BODY_BYTES", ge=1024, le=64 * 1_048_576)
    # Slow clients (slowloris): a request's header block must arrive within HEADER_READ_TIMEOUT of its
    # first byte, its body within BODY_READ_TIMEOUT; 408 and a closed connection otherwise.
    header_read_timeout: float = Field(10.0, alias="HEADER_READ_TIMEOUT", gt=0, le=300)
    body_read_timeout: float = Field(30.0, alias="BODY_READ_TIMEOUT", gt=0, le=300)
    # Admission control (stockwiz_runtime.admission): at most MAX_IN_FLIGHT requests are handled at once,
    # up to ADMISSION_QUEUE more wait at most ADMISSION_WAIT seconds for a slot, the rest get a 503. A
    # process answers at most MAX_IN_FLIGHT / (its time per request) per second whatever the limit, and
    # latency grows with the limit (Little's law): the limit only needs to cover the waits on the database
    # (DB_POOL_SIZE is 20) and the other services. See README, Performance, for the measurement.
    max_in_flight: int = Field(64, alias="MAX_IN_FLIGHT", ge=1, le=100_000)
    admission_queue: int = Field(64, alias="ADMISSION_QUEUE", ge=0, le=100_000)
    # The wait must cover a full queue's turn on a slow machine (ADMISSION_QUEUE / throughput: 32 waiters
    # at 300 composed reads/s are ~110 ms), or clients that do not overload anything (64 connections in a
    # closed loop against a gateway admitting 32) get refusals; it stays short enough that an accepted
    # request is still answered well within half a second.
    admission_wait: float = Field(0.25, alias="ADMISSION_WAIT", ge=0, le=30)
    # Fault-injection routes (/chaos/...) for resilience tests; never enabled in the AWS stacks.
    chaos_enabled: bool = Field(False, alias="CHAOS_ENABLED")


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def load_config(model: type[ConfigT], environ: Mapping[str, str] | None = None) -> ConfigT:
    """Build `model` from the environment; empty variables count as unset."""
    env = os.environ if environ is None else environ
    names = {field.alias or name for name, field in model.model_fields.items()}
    values = {name: env[name] for name in names if env.get(name, "") != ""}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "configuration"
            shown = "" if any(s in name for s in _SENSITIVE) else f" (got {values.get(name)!r})"
            problems.append(f"{name}: {error['msg']}{shown}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
