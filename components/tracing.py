"""Tracing in AWS: an AWS Distro for OpenTelemetry (ADOT) collector beside each service, sending to X-Ray.

Each task runs the collector as a sidecar container. The service exports its spans over OTLP/HTTP to
127.0.0.1:4318 (the task's containers share one network namespace), the collector batches them and the
`awsxray` exporter sends them to X-Ray with the task role's credentials. Nothing but the task reaches the
receiver: it listens on loopback only, and no port is mapped.

- **Not essential.** The collector is a helper: if it crashes or is killed for memory, the service keeps
  serving and its exporter drops spans (a bounded queue, a warning in the log) instead of ECS stopping the
  whole task. The service's health alone decides the task's.
- **Started first, stopped last.** The service's container depends on the collector's having started
  (`START`, not `HEALTHY`: a collector that never turns healthy must not keep the service from starting).
  ECS stops containers in the reverse order of their dependencies, so at a deployment or scale-in the
  service stops, flushing its last spans, while the collector still listens.
- **Configuration** travels in the container's `AOT_CONFIG_CONTENT` variable (read by the ADOT image instead
  of its default file): no SSM parameter to create, read or grant, and a change of it is a change of the
  task definition, so it is deployed, and rolled back, with the service.
"""

from __future__ import annotations

import json
from typing import Any

# The ADOT collector image, pinned by the digest of the multi-architecture index of release v0.43.3 (amd64
# and arm64; ECS picks the task's). To upgrade: `docker buildx imagetools inspect
# public.ecr.aws/aws-observability/aws-otel-collector:<tag>` and copy the index digest it prints first.
COLLECTOR_IMAGE = (
    "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
    "@sha256:8aa9ea5f67b8d318f7d6af24677e3c70f7098bc0631147cb5fa91addbe980b06"
)
COLLECTOR_NAME = "otel-collector"
OTLP_HTTP_PORT = 4318
HEALTH_PORT = 13133
# What the awsxray exporter calls: segments and its own telemetry. No X-Ray sampling rules are read (the
# services sample themselves, OTEL_TRACES_SAMPLER), so GetSamplingRules/GetSamplingTargets are not granted.
XRAY_WRITE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# Bounds the collector's memory inside the task's: it refuses data above this instead of growing.
COLLECTOR_MEMORY_LIMIT_MIB = 64


def collector_config(region: str) -> str:
    """The collector's configuration (JSON, which YAML reads as it is)."""
    config: dict[str, Any] = {
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{HEALTH_PORT}"}},
        "receivers": {
            "otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{OTLP_HTTP_PORT}"}}},
        },
        "processors": {
            "memory_limiter": {
                "check_interval": "1s",
                "limit_mib": COLLECTOR_MEMORY_LIMIT_MIB,
                "spike_limit_mib": COLLECTOR_MEMORY_LIMIT_MIB // 4,
            },
            "batch/traces": {"timeout": "1s", "send_batch_size": 50},
        },
        "exporters": {"awsxray": {"region": region}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "batch/traces"],
                    "exporters": ["awsxray"],
                }
            },
        },
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def service_environment(stack: str, sample_ratio: float) -> dict[str, str]:
    """What a service needs to send its spans to the sidecar (the standard OpenTelemetry variables)."""
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{OTLP_HTTP_PORT}/v1/traces",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": f"{sample_ratio:g}",
        "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment={stack}",
    }


def collector_container(region: str) -> dict[str, Any]:
    """The sidecar's container definition, without what every container of the task shares (user,
    read-only root, /tmp, logs), which the caller adds."""
    return {
        "name": COLLECTOR_NAME,
        "image": COLLECTOR_IMAGE,
        "essential": False,
        "environment": [{"name": "AOT_CONFIG_CONTENT", "value": collector_config(region)}],
        "secrets": [],
        # The image's own probe of the health_check extension.
        "healthCheck": {
            "command": ["CMD", "/healthcheck"],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 10,
        },
        # Stopped after the service (reverse dependency order); its last batch leaves within a second.
        "stopTimeout": 10,
    }
