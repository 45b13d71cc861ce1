"""tools/rollout_check.py against DescribeServices answers shaped by botocore's ECS service model.

botocore's Stubber validates every stubbed answer against the real output shape of DescribeServices, so
these answers can only hold fields, types and nesting that AWS's model has. The states are the ones the
ECS documentation describes for a rolling deployment with the circuit breaker's rollback: the new
deployment goes IN_PROGRESS -> COMPLETED, or FAILED, after which ECS makes the last completed revision
PRIMARY again (IN_PROGRESS, then COMPLETED) and drops the failed deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from tools import rollout_check
from tools.rollout_check import RolloutFailure, check_rollouts

REGION = "eu-west-1"
ACCOUNT = "123456789012"
CLUSTER = "stockwiz-cluster-dev"
SERVICES = {
    "gateway": "stockwiz-api-gateway-dev",
    "inventory": "stockwiz-inventory-service-dev",
    "products": "stockwiz-product-service-dev",
}
NEW_REVISION = 7
OLD_REVISION = 6


def task_definition(name: str, revision: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{name}:{revision}"


EXPECTED = {label: task_definition(name, NEW_REVISION) for label, name in SERVICES.items()}
WHEN = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def deployment(
    name: str, revision: int, *, status: str, rollout: str, reason: str, ident: str, running: int = 2
) -> dict[str, Any]:
    return {
        "id": ident,
        "status": status,
        "taskDefinition": task_definition(name, revision),
        "desiredCount": 2,
        "pendingCount": 0,
        "runningCount": running,
        "failedTasks": 0 if rollout != "FAILED" else 3,
        "createdAt": WHEN,
        "updatedAt": WHEN,
        "launchType": "FARGATE",
        "platformVersion": "1.4.0",
        "rolloutState": rollout,
        "rolloutStateReason": reason,
    }


def service(name: str, deployments: list[dict[str, Any]], events: list[str] | None = None) -> dict[str, Any]:
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    return {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{name}",
        "serviceName": name,
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "status": "ACTIVE",
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "launchType": "FARGATE",
        "taskDefinition": primary["taskDefinition"],
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "deploymentController": {"type": "ECS"},
        "deployments": deployments,
        "events": [
            {"id": f"event-{index}", "createdAt": WHEN, "message": message}
            for index, message in enumerate(events or [f"(service {name}) has reached a steady state."])
        ],
    }


def completed(name: str, revision: int = NEW_REVISION) -> dict[str, Any]:
    return service(
        name,
        [
            deployment(
                name,
                revision,
                status="PRIMARY",
                rollout="COMPLETED",
                reason="ECS deployment ecs-svc/2000 completed.",
                ident="ecs-svc/2000",
            )
        ],
    )


def rolled_back(name: str) -> dict[str, Any]:
    """After the rollback completed: the previous revision is PRIMARY again, the failed one is gone."""
    return service(
        name,
        [
            deployment(
                name,
                OLD_REVISION,
                status="PRIMARY",
                rollout="COMPLETED",
                reason="ECS deployment ecs-svc/3000 completed.",
                ident="ecs-svc/3000",
            )
        ],
        events=[
            f"(service {name}) has reached a steady state.",
            f"(service {name}) deployment ecs-svc/2000 deployment failed: tasks failed to start.",
            f"(service {name}) rolling back to deployment ecs-svc/1000.",
        ],
    )


def rolling_back(name: str) -> dict[str, Any]:
    """While ECS rolls back: the failed deployment is still listed, ACTIVE and FAILED."""
    return service(
        name,
        [
            deployment(
                name,
                OLD_REVISION,
                status="PRIMARY",
                rollout="IN_PROGRESS",
                reason="ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1000.",
                ident="ecs-svc/3000",
                running=1,
            ),
            deployment(
                name,
                NEW_REVISION,
                status="ACTIVE",
                rollout="FAILED",
                reason="ECS deployment circuit breaker: tasks failed to start.",
                ident="ecs-svc/2000",
                running=0,
            ),
        ],
    )


def in_progress(name: str) -> dict[str, Any]:
    return service(
        name,
        [
            deployment(
                name,
                NEW_REVISION,
                status="PRIMARY",
                rollout="IN_PROGRESS",
                reason="ECS deployment ecs-svc/2000 in progress.",
                ident="ecs-svc/2000",
                running=1,
            ),
            deployment(
                name,
                OLD_REVISION,
                status="ACTIVE",
                rollout="COMPLETED",
                reason="ECS deployment ecs-svc/1000 completed.",
                ident="ecs-svc/1000",
            ),
        ],
    )


def first_deploy_failed(name: str) -> dict[str, Any]:
    """A first deployment has no completed revision to roll back to: it stays PRIMARY, FAILED."""
    return service(
        name,
        [
            deployment(
                name,
                NEW_REVISION,
                status="PRIMARY",
                rollout="FAILED",
                reason="ECS deployment circuit breaker: tasks failed to start.",
                ident="ecs-svc/2000",
                running=0,
            )
        ],
    )


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "ecs", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def answer(stubber: Stubber, **states: dict[str, Any]) -> None:
    """One DescribeServices answer: the given services by label, the others COMPLETED on the new revision."""
    stubber.add_response(
        "describe_services",
        {
            "services": [states.get(label) or completed(SERVICES[label]) for label in sorted(SERVICES)],
            "failures": [],
        },
        {"cluster": CLUSTER, "services": [SERVICES[label] for label in sorted(SERVICES)]},
    )


def run(client: Any, **kwargs: Any) -> list[rollout_check.Verdict]:
    return check_rollouts(client, CLUSTER, SERVICES, EXPECTED, sleep=lambda _s: None, **kwargs)


def test_a_healthy_deployment_passes(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    answer(stubber)
    verdicts = run(client)
    assert [v.label for v in verdicts] == ["gateway", "inventory", "products"]
    assert all(v.done and "COMPLETED, 2/2 tasks running" in v.detail for v in verdicts)


def test_a_rolled_back_deployment_fails(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    answer(stubber, products=rolled_back(SERVICES["products"]))
    with pytest.raises(RolloutFailure) as failure:
        run(client)
    message = str(failure.value)
    assert "products (stockwiz-product-service-dev) runs stockwiz-product-service-dev:6" in message
    assert "not stockwiz-product-service-dev:7" in message and "rolled back" in message
    assert "tasks failed to start" in message, "the service events say why"


def test_a_rollback_still_in_progress_fails_at_once(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    answer(stubber, gateway=rolling_back(SERVICES["gateway"]))
    with pytest.raises(
        RolloutFailure, match=r"gateway .* runs stockwiz-api-gateway-dev:6.*tasks failed to start"
    ):
        run(client)


def test_a_failed_first_deployment_fails(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    answer(stubber, inventory=first_deploy_failed(SERVICES["inventory"]))
    with pytest.raises(RolloutFailure, match=r"inventory .* is 'FAILED': ECS deployment circuit breaker"):
        run(client)


def test_a_rollout_in_progress_is_awaited(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    answer(stubber, gateway=in_progress(SERVICES["gateway"]))
    answer(stubber)
    verdicts = run(client)
    assert all(v.done for v in verdicts)


def test_a_rollout_that_never_ends_fails_after_the_wait(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    answer(stubber, gateway=in_progress(SERVICES["gateway"]))
    with pytest.raises(RolloutFailure, match=r"still rolling out after 0s: gateway"):
        run(client, wait_seconds=0)


def test_a_service_ecs_does_not_know_fails(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    names = [SERVICES[label] for label in sorted(SERVICES)]
    stubber.add_response(
        "describe_services",
        {
            "services": [completed(name) for name in names[:2]],
            "failures": [
                {"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{names[2]}", "reason": "MISSING"}
            ],
        },
        {"cluster": CLUSTER, "services": names},
    )
    with pytest.raises(RolloutFailure, match="MISSING"):
        run(client)


def test_outputs_that_disagree_fail_before_asking_aws() -> None:
    with pytest.raises(RolloutFailure, match="disagree"):
        check_rollouts(object(), CLUSTER, SERVICES, {"gateway": EXPECTED["gateway"]})


def test_the_answers_are_held_to_the_service_model(ecs: tuple[Any, Stubber]) -> None:
    # The stub refuses what AWS could never answer, so the scenarios above are real shapes.
    _client, stubber = ecs
    wrong = completed(SERVICES["gateway"])
    wrong["deployments"][0]["runningCount"] = "2"
    with pytest.raises(ParamValidationError):
        stubber.add_response("describe_services", {"services": [wrong]})
    invented = completed(SERVICES["gateway"])
    invented["deployments"][0]["rolledBack"] = True
    with pytest.raises(ParamValidationError):
        stubber.add_response("describe_services", {"services": [invented]})


def test_command_line_exit_codes(ecs: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    client, stubber = ecs
    argv = [
        "--cluster",
        CLUSTER,
        "--services",
        json.dumps(SERVICES),
        "--task-definitions",
        json.dumps(EXPECTED),
        "--wait-seconds",
        "0",
    ]
    answer(stubber)
    assert rollout_check.main(argv, client=client) == 0
    assert "every service runs the task definition" in capsys.readouterr().out
    answer(stubber, products=rolled_back(SERVICES["products"]))
    assert rollout_check.main(argv, client=client) == 1
    assert "::error::rollout check: products" in capsys.readouterr().err
