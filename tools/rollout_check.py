"""Did every ECS service really roll out the task definition `pulumi up` registered? Run by deploy.yml
right after `pulumi up`, before the smoke test:

    python -m tools.rollout_check --cluster stockwiz-cluster-dev \\
        --services '{"gateway": "stockwiz-api-gateway-dev", ...}' \\
        --task-definitions '{"gateway": "arn:aws:ecs:...:task-definition/stockwiz-api-gateway-dev:7", ...}'

(the stack outputs clusterName, serviceNames and taskDefinitionArns). A deployment that the circuit
breaker rolled back leaves the service steady on the previous revision: its PRIMARY deployment then runs
an older task definition than the stack's. The check passes only when, for every service, the PRIMARY
deployment runs exactly the stack's task definition and its rolloutState is COMPLETED; while that
deployment is still IN_PROGRESS it asks again until --wait-seconds have passed.

Reads `ecs:DescribeServices` only (the deployment role's PowerUserAccess covers it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
# DescribeServices takes at most 10 services per call.
DESCRIBE_LIMIT = 10


class RolloutFailure(Exception):
    """A service does not run what the stack deployed."""


@dataclass(frozen=True)
class Verdict:
    label: str
    done: bool
    # Why it is not done, or what it runs when it is.
    detail: str


def _short(task_definition: str) -> str:
    return task_definition.rsplit("/", 1)[-1]


def _recent_events(service: Mapping[str, Any], count: int = 3) -> str:
    messages = [str(event.get("message", "")) for event in (service.get("events") or [])[:count]]
    return "; ".join(messages) if messages else "no service events"


def judge(label: str, service: Mapping[str, Any], expected_task_definition: str) -> Verdict:
    """The state of one service (a DescribeServices `services` item) against the stack's task definition.

    Raises RolloutFailure when the rollout failed or was rolled back; returns done=False while the
    deployment of the expected task definition is still in progress.
    """
    name = service.get("serviceName", label)
    if service.get("status") != "ACTIVE":
        raise RolloutFailure(f"{label} ({name}): service status is {service.get('status')!r}, not ACTIVE")
    deployments = list(service.get("deployments") or [])
    primaries = [d for d in deployments if d.get("status") == "PRIMARY"]
    if len(primaries) != 1:
        raise RolloutFailure(f"{label} ({name}): {len(primaries)} PRIMARY deployments")
    [primary] = primaries
    others = [d for d in deployments if d is not primary]
    failed = [d for d in others if d.get("rolloutState") == "FAILED"]
    expected = _short(expected_task_definition)
    running = _short(str(primary.get("taskDefinition", "")))
    if running != expected:
        # A rollback: ECS made the last completed revision PRIMARY again (and drops the failed deployment
        # once the rollback completes, so it may no longer be listed).
        reasons = "; ".join(str(d.get("rolloutStateReason", "")) for d in failed) or str(
            primary.get("rolloutStateReason", "")
        )
        raise RolloutFailure(
            f"{label} ({name}) runs {running}, not {expected}: the deployment of {expected} was rolled back"
            f" or replaced ({reasons or 'no reason given'}). Recent events: {_recent_events(service)}"
        )
    state = primary.get("rolloutState")
    if state == IN_PROGRESS:
        return Verdict(
            label, False, f"{expected} still rolling out ({primary.get('rolloutStateReason', '')})"
        )
    if state != COMPLETED:
        raise RolloutFailure(
            f"{label} ({name}): the deployment of {expected} is {state!r}: "
            f"{primary.get('rolloutStateReason', 'no reason given')}. "
            f"Recent events: {_recent_events(service)}"
        )
    return Verdict(
        label,
        True,
        f"{expected} COMPLETED, {primary.get('runningCount')}/{primary.get('desiredCount')} tasks running",
    )


def describe(client: Any, cluster: str, names: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """DescribeServices for `names`, by service name; a service ECS does not know is a failure."""
    found: dict[str, Mapping[str, Any]] = {}
    for start in range(0, len(names), DESCRIBE_LIMIT):
        answer = client.describe_services(
            cluster=cluster, services=list(names[start : start + DESCRIBE_LIMIT])
        )
        for failure in answer.get("failures") or []:
            raise RolloutFailure(f"{failure.get('arn')}: {failure.get('reason')} {failure.get('detail', '')}")
        for service in answer.get("services") or []:
            found[str(service["serviceName"])] = service
    missing = [name for name in names if name not in found]
    if missing:
        raise RolloutFailure(f"ECS did not describe {', '.join(missing)} in {cluster}")
    return found


def check_rollouts(
    client: Any,
    cluster: str,
    services: Mapping[str, str],
    task_definitions: Mapping[str, str],
    *,
    wait_seconds: float = 600.0,
    interval: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Verdict]:
    """Every service's verdict once all are COMPLETED; raises RolloutFailure at the first failed one, or
    when some are still in progress after wait_seconds."""
    if set(services) != set(task_definitions):
        raise RolloutFailure(
            f"the stack outputs disagree: services {sorted(services)}, "
            f"task definitions {sorted(task_definitions)}"
        )
    deadline = clock() + wait_seconds
    while True:
        described = describe(client, cluster, [services[label] for label in sorted(services)])
        verdicts = [
            judge(label, described[services[label]], task_definitions[label]) for label in sorted(services)
        ]
        pending = [verdict for verdict in verdicts if not verdict.done]
        if not pending:
            return verdicts
        if clock() >= deadline:
            raise RolloutFailure(
                f"still rolling out after {wait_seconds:.0f}s: "
                + "; ".join(f"{v.label}: {v.detail}" for v in pending)
            )
        for verdict in pending:
            print(f"waiting: {verdict.label}: {verdict.detail}", flush=True)
        sleep(interval)


def _json_object(text: str) -> dict[str, str]:
    value = json.loads(text)
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise argparse.ArgumentTypeError(f"expected a JSON object of strings, got {text[:200]!r}")
    return {str(key): str(item) for key, item in value.items()}


def main(argv: list[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cluster", required=True, help="stack output clusterName")
    parser.add_argument("--services", required=True, type=_json_object, help="stack output serviceNames")
    parser.add_argument(
        "--task-definitions", required=True, type=_json_object, help="stack output taskDefinitionArns"
    )
    parser.add_argument("--wait-seconds", type=float, default=600.0, help="how long a rollout may still run")
    args = parser.parse_args(argv)
    if client is None:
        import boto3  # only here: the checks above are testable without AWS credentials

        client = boto3.client("ecs")
    try:
        for verdict in check_rollouts(
            client, args.cluster, args.services, args.task_definitions, wait_seconds=args.wait_seconds
        ):
            print(f"ok  {verdict.label}: {verdict.detail}")
    except RolloutFailure as failure:
        print(f"::error::rollout check: {failure}", file=sys.stderr)
        return 1
    print("every service runs the task definition this deployment registered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
