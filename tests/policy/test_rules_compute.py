"""ECS tasks and services, ECR repositories and Lambda functions."""

from __future__ import annotations

import json

import pytest

from tests.policy.conftest import Check
from tests.policy.golden import DIGEST, QUEUE, Stack, container, rules

# ECS services


def test_a_task_with_a_public_ip_is_caught(check: Check, stack: Stack) -> None:
    stack.inputs("gateway-service")["networkConfiguration"]["assignPublicIp"] = True
    violations = check(stack)
    assert rules(violations) == {"ecs-service-no-public-ip"}
    assert "assignPublicIp=False" in violations[0].message


def test_a_service_without_circuit_breaker_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("gateway-service", "deploymentCircuitBreaker")
    assert rules(check(stack)) == {"ecs-service-circuit-breaker"}


def test_a_circuit_breaker_without_rollback_is_caught(check: Check, stack: Stack) -> None:
    stack.set("gateway-service", deploymentCircuitBreaker={"enable": True, "rollback": False})
    assert rules(check(stack)) == {"ecs-service-circuit-breaker"}


def test_services_deployed_by_codedeploy_have_no_circuit_breaker(check: Check, stack: Stack) -> None:
    stack.drop("gateway-service", "deploymentCircuitBreaker")
    stack.set("gateway-service", deploymentController={"type": "CODE_DEPLOY"})
    assert check(stack) == []


# ECS containers


@pytest.mark.parametrize("user", [None, "0", "root", "0:0", "root:wheel", ""])
def test_containers_running_as_root_are_caught(check: Check, stack: Stack, user: str | None) -> None:
    definition = container()
    if user is None:
        del definition["user"]
    else:
        definition["user"] = user
    stack.set("gateway-task", containerDefinitions=json.dumps([definition]))
    violations = check(stack)
    assert rules(violations) == {"ecs-container-non-root"}
    assert "'gateway'" in violations[0].message


@pytest.mark.parametrize("user", ["10001", "10001:10001", "app"])
def test_containers_with_a_non_root_user_pass(check: Check, stack: Stack, user: str) -> None:
    assert check(stack.container(user=user)) == []


def test_every_container_of_the_task_is_checked(check: Check, stack: Stack) -> None:
    sidecar = container(name="otel", user="0")
    stack.set("gateway-task", containerDefinitions=json.dumps([container(), sidecar]))
    violations = check(stack)
    assert rules(violations) == {"ecs-container-non-root"}
    assert "'otel'" in violations[0].message


@pytest.mark.parametrize("value", [False, None])
def test_a_writable_root_filesystem_is_caught(check: Check, stack: Stack, value: bool | None) -> None:
    assert rules(check(stack.container(readonlyRootFilesystem=value))) == {"ecs-container-read-only-root"}


def test_a_privileged_container_is_caught(check: Check, stack: Stack) -> None:
    assert rules(check(stack.container(privileged=True))) == {"ecs-container-not-privileged"}


def test_a_container_without_log_configuration_is_caught(check: Check, stack: Stack) -> None:
    assert rules(check(stack.container(logConfiguration=None))) == {"ecs-container-logging"}


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "API_TOKEN", "AWS_SECRET_ACCESS_KEY", "STRIPE_API_KEY", "DBPASSWORD", "api_tokens"],
)
def test_secret_looking_environment_is_caught(check: Check, stack: Stack, name: str) -> None:
    environment = [*container()["environment"], {"name": name, "value": "hunter2"}]
    violations = check(stack.container(environment=environment))
    assert rules(violations) == {"ecs-container-no-secret-environment"}
    assert name in violations[0].message and "secrets" in violations[0].message


@pytest.mark.parametrize("name", ["DB_SECRET_ARN", "MONKEY_COUNT", "KEYCLOAK_URL", "DB_PORT", "TOKENS_FILE"])
def test_ordinary_and_reference_names_pass(check: Check, stack: Stack, name: str) -> None:
    environment = [*container()["environment"], {"name": name, "value": "x"}]
    assert check(stack.container(environment=environment)) == []


def test_a_reviewed_name_can_be_allowed_in_config(check: Check, stack: Stack) -> None:
    environment = [*container()["environment"], {"name": "PUBLIC_KEY", "value": "ssh-ed25519 AAAA"}]
    stack.container(environment=environment)
    assert rules(check(stack)) == {"ecs-container-no-secret-environment"}
    allowed = {"ecs-container-no-secret-environment": {"allowedNames": ["PUBLIC_KEY"]}}
    assert check(stack, config=allowed) == []


@pytest.mark.parametrize(
    "image",
    [
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/stockwiz-api-gateway-dev:latest",
        "nginx",
        "nginx@sha256:abc",
    ],
)
def test_images_by_tag_are_caught(check: Check, stack: Stack, image: str) -> None:
    violations = check(stack.container(image=image))
    assert rules(violations) == {"ecs-container-image-digest"}
    assert image in violations[0].message


def test_images_by_tag_and_digest_pass(check: Check, stack: Stack) -> None:
    assert check(stack.container(image=f"public.ecr.aws/docker/library/nginx:1.27@{DIGEST}")) == []


# ECR


def test_a_repository_without_scan_on_push_is_caught(check: Check, stack: Stack) -> None:
    stack.set("gateway-repo", imageScanningConfiguration={"scanOnPush": False})
    assert rules(check(stack)) == {"ecr-scan-on-push"}
    stack.drop("gateway-repo", "imageScanningConfiguration")
    assert rules(check(stack)) == {"ecr-scan-on-push"}


@pytest.mark.parametrize("mutability", ["MUTABLE", "IMMUTABLE_WITH_EXCLUSION", None])
def test_mutable_tags_are_caught(check: Check, stack: Stack, mutability: str | None) -> None:
    if mutability is None:
        stack.drop("gateway-repo", "imageTagMutability")
    else:
        stack.set("gateway-repo", imageTagMutability=mutability)
    assert rules(check(stack)) == {"ecr-immutable-tags"}


def test_a_repository_without_lifecycle_policy_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("gateway-repo-lifecycle")
    violations = check(stack)
    assert rules(violations) == {"ecr-lifecycle-policy"}
    assert violations[0].resource == "gateway-repo"


def test_a_lifecycle_policy_of_another_repository_does_not_count(check: Check, stack: Stack) -> None:
    stack.set("gateway-repo-lifecycle", repository="stockwiz-product-service-dev")
    assert rules(check(stack)) == {"ecr-lifecycle-policy"}


# Lambda


@pytest.mark.parametrize("runtime", ["python3.8", "python3.9", "nodejs16.x", "go1.x", None])
def test_unsupported_lambda_runtimes_are_caught(check: Check, stack: Stack, runtime: str | None) -> None:
    stack.set("lowstock", runtime=runtime)
    violations = check(stack)
    assert rules(violations) == {"lambda-supported-runtime"}
    assert "python3.13" in violations[0].message


def test_container_image_functions_bring_their_runtime(check: Check, stack: Stack) -> None:
    stack.set("lowstock", packageType="Image", imageUri=f"repo@{DIGEST}")
    stack.drop("lowstock", "runtime")
    assert check(stack) == []


def test_the_runtime_list_is_configurable(check: Check, stack: Stack) -> None:
    assert rules(check(stack, config={"lambda-supported-runtime": {"allowedRuntimes": ["python3.14"]}})) == {
        "lambda-supported-runtime"
    }


def test_a_public_function_url_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:lambda/functionUrl:FunctionUrl",
        "lowstock-url",
        {"functionName": "stockwiz-lowstock-dev", "authorizationType": "NONE"},
    )
    assert rules(check(stack)) == {"lambda-no-public-access"}


def test_an_iam_authenticated_function_url_passes(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:lambda/functionUrl:FunctionUrl",
        "lowstock-url",
        {"functionName": "stockwiz-lowstock-dev", "authorizationType": "AWS_IAM"},
    )
    assert check(stack) == []


def test_an_invoke_permission_for_everyone_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:lambda/permission:Permission",
        "anyone",
        {"function": "stockwiz-lowstock-dev", "action": "lambda:InvokeFunction", "principal": "*"},
    )
    assert rules(check(stack)) == {"lambda-no-public-access"}


def test_an_invoke_permission_for_one_service_and_source_passes(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:lambda/permission:Permission",
        "events",
        {
            "function": "stockwiz-lowstock-dev",
            "action": "lambda:InvokeFunction",
            "principal": "events.amazonaws.com",
            "sourceArn": "arn:aws:events:eu-west-1:123456789012:rule/lowstock",
        },
    )
    assert check(stack) == []


def test_a_function_without_dlq_or_failure_destination_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("lowstock-invoke-config")
    violations = check(stack)
    assert rules(violations) == {"lambda-failure-destination"}
    assert violations[0].resource == "lowstock"


def test_an_invoke_config_without_on_failure_does_not_count(check: Check, stack: Stack) -> None:
    stack.set("lowstock-invoke-config", destinationConfig={"onSuccess": {"destination": QUEUE}})
    assert rules(check(stack)) == {"lambda-failure-destination"}


def test_an_invoke_config_of_another_function_does_not_count(check: Check, stack: Stack) -> None:
    stack.set("lowstock-invoke-config", functionName="someone-else")
    assert rules(check(stack)) == {"lambda-failure-destination"}


def test_a_dead_letter_queue_on_the_function_is_enough(check: Check, stack: Stack) -> None:
    stack.drop("lowstock-invoke-config")
    stack.set("lowstock", deadLetterConfig={"targetArn": QUEUE})
    assert check(stack) == []
