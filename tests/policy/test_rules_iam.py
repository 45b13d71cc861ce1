"""IAM policies and role trust."""

from __future__ import annotations

import json

import pytest

from tests.policy.conftest import Check
from tests.policy.golden import PROJECT_TAGS, Stack, policy_document, rules, trust
from tests.policy.golden import TOPIC as TOPIC_ARN


def grant(action: object, resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize("action", ["*", ["s3:GetObject", "*"]])
def test_star_on_star_is_caught(check: Check, stack: Stack, action: object) -> None:
    stack.set("lowstock-policy", policy=policy_document(grant(action, Sid="Everything")))
    violations = check(stack)
    assert rules(violations) == {"iam-no-star-star"}
    assert "'Everything'" in violations[0].message


def test_star_colon_star_is_both_star_star_and_admin(check: Check, stack: Stack) -> None:
    stack.set("lowstock-policy", policy=policy_document(grant("*:*")))
    assert rules(check(stack)) == {"iam-no-star-star", "iam-no-admin-policies"}


def test_not_action_on_star_is_caught(check: Check, stack: Stack) -> None:
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    stack.set("lowstock-policy", policy=policy_document(statement))
    assert rules(check(stack)) == {"iam-no-star-star"}


def test_a_single_statement_object_is_read_too(check: Check, stack: Stack) -> None:
    stack.set("lowstock-policy", policy=json.dumps({"Version": "2012-10-17", "Statement": grant("*")}))
    assert rules(check(stack)) == {"iam-no-star-star"}


def test_deny_star_on_star_is_fine(check: Check, stack: Stack) -> None:
    deny = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    stack.set("lowstock-policy", policy=policy_document(grant("sns:Publish", "arn:aws:sns:::t"), deny))
    assert check(stack) == []


def test_star_on_a_managed_policy_is_caught(check: Check, stack: Stack) -> None:
    stack.add("aws:iam/policy:Policy", "admin", {"policy": policy_document(grant("*")), "tags": PROJECT_TAGS})
    assert rules(check(stack)) == {"iam-no-star-star"}


def test_star_in_a_roles_inline_policy_is_caught(check: Check, stack: Stack) -> None:
    stack.set("lowstock-role", inlinePolicies=[{"name": "everything", "policy": policy_document(grant("*"))}])
    violations = check(stack)
    assert rules(violations) == {"iam-no-star-star"}
    assert "'everything'" in violations[0].message


def test_a_whole_service_on_every_resource_is_caught(check: Check, stack: Stack) -> None:
    stack.set("lowstock-policy", policy=policy_document(grant(["sns:Publish", "s3:*"])))
    violations = check(stack)
    assert rules(violations) == {"iam-no-admin-policies"}
    assert "s3:*" in violations[0].message


def test_a_whole_service_on_one_resource_is_allowed(check: Check, stack: Stack) -> None:
    stack.set("lowstock-policy", policy=policy_document(grant("sqs:*", "arn:aws:sqs:eu-west-1:1:dlq")))
    assert check(stack) == []


@pytest.mark.parametrize(
    ("resource_type", "prop", "value"),
    [
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "policyArn",
            "arn:aws:iam::aws:policy/AdministratorAccess",
        ),
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "policyArn",
            "arn:aws:iam::aws:policy/PowerUserAccess",
        ),
        (
            "aws:iam/userPolicyAttachment:UserPolicyAttachment",
            "policyArn",
            "arn:aws:iam::aws:policy/IAMFullAccess",
        ),
        (
            "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
            "policyArns",
            ["arn:aws:iam::aws:policy/AdministratorAccess"],
        ),
    ],
)
def test_attaching_an_aws_admin_policy_is_caught(
    check: Check, stack: Stack, resource_type: str, prop: str, value: object
) -> None:
    stack.add(resource_type, "attach", {"role": "lowstock", prop: value})
    assert rules(check(stack)) == {"iam-no-admin-policies"}


def test_admin_in_managed_policy_arns_of_a_role_is_caught(check: Check, stack: Stack) -> None:
    stack.set("lowstock-role", managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])
    assert rules(check(stack)) == {"iam-no-admin-policies"}


def test_attaching_a_narrow_aws_policy_passes(check: Check, stack: Stack) -> None:
    arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    stack.add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "exec", {"role": "exec", "policyArn": arn})
    assert check(stack) == []


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": "*"},
        "*",
        {"AWS": "arn:aws:iam::999999999999:root"},
        {"Federated": "cognito-identity.amazonaws.com"},
    ],
)
def test_roles_assumable_by_non_services_are_caught(check: Check, stack: Stack, principal: object) -> None:
    document = policy_document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    stack.set("lowstock-role", assumeRolePolicy=document)
    assert rules(check(stack)) == {"iam-role-trusted-service"}


def test_a_role_for_an_unexpected_service_is_caught(check: Check, stack: Stack) -> None:
    stack.set("lowstock-role", assumeRolePolicy=trust("ec2.amazonaws.com"))
    violations = check(stack)
    assert rules(violations) == {"iam-role-trusted-service"}
    assert "allowedServices" in violations[0].message


def test_a_role_shared_by_two_services_is_caught(check: Check, stack: Stack) -> None:
    stack.set("lowstock-role", assumeRolePolicy=trust(["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]))
    violations = check(stack)
    assert rules(violations) == {"iam-role-trusted-service"}
    assert "several services" in violations[0].message


def test_an_unreadable_trust_policy_is_caught(check: Check, stack: Stack) -> None:
    stack.set("lowstock-role", assumeRolePolicy="not json")
    assert rules(check(stack)) == {"iam-role-trusted-service"}


def test_the_trusted_services_are_configurable(check: Check, stack: Stack) -> None:
    stack.set("lowstock-role", assumeRolePolicy=trust("ec2.amazonaws.com"))
    config = {"iam-role-trusted-service": {"allowedServices": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}}
    assert check(stack, config=config) == []


@pytest.mark.parametrize("service", ["ecs-tasks.amazonaws.com", "scheduler.amazonaws.com"])
def test_roles_for_stockwiz_services_pass(check: Check, stack: Stack, service: str) -> None:
    stack.set("lowstock-role", assumeRolePolicy=trust(service))
    assert check(stack) == []


# -- X-Ray: the tracing collectors' permissions -----------------------------------------------------------


def xray_policy(*statements: dict[str, object]) -> str:
    return policy_document(*statements)


@pytest.mark.parametrize(
    "actions",
    [
        ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:BatchGetTraces"],  # reads every trace
        ["xray:*"],
        ["xray:Put*"],
        ["xray:PutTraceSegments", "xray:PutEncryptionConfig"],
        ["xray:GetSamplingRules", "xray:PutTraceSegments"],  # sampling reads only when configured
    ],
)
def test_x_ray_beyond_the_write_actions_is_caught(check: Check, stack: Stack, actions: list[str]) -> None:
    stack.set("gateway-task-tracing-policy", policy=xray_policy(grant(actions, Sid="Tracing")))
    # (xray:* is also a whole service on every resource: iam-no-admin-policies says so on its own.)
    violations = [v for v in check(stack) if v.policy == "iam-xray-write-only"]
    assert len(violations) == 1
    assert "'Tracing'" in violations[0].message and "xray:PutTelemetryRecords" in violations[0].message


def test_other_actions_riding_on_x_rays_star_are_caught(check: Check, stack: Stack) -> None:
    actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "ssm:GetParameter"]
    stack.set("gateway-task-tracing-policy", policy=xray_policy(grant(actions)))
    # (ssm:GetParameter on "*" is also a sensitive action on every resource: that rule says so on its own.)
    violations = check(stack)
    assert rules(violations) == {"iam-xray-write-only", "iam-no-sensitive-actions-on-all-resources"}
    violations = [v for v in violations if v.policy == "iam-xray-write-only"]
    assert "ssm:GetParameter" in violations[0].message and "statement of their own" in violations[0].message


def test_other_actions_on_named_resources_beside_x_ray_are_fine(check: Check, stack: Stack) -> None:
    document = xray_policy(
        grant(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
        grant("sns:Publish", TOPIC_ARN),
    )
    stack.set("gateway-task-tracing-policy", policy=document)
    assert check(stack) == []


def test_x_ray_in_a_roles_inline_policy_is_checked_too(check: Check, stack: Stack) -> None:
    inline = {"name": "tracing", "policy": xray_policy(grant("xray:BatchGetTraces"))}
    stack.set("lowstock-role", inlinePolicies=[inline])
    violations = check(stack)
    assert rules(violations) == {"iam-xray-write-only"}
    assert "'tracing'" in violations[0].message


def test_a_deny_of_x_ray_is_fine(check: Check, stack: Stack) -> None:
    deny: dict[str, object] = {"Effect": "Deny", "Action": "xray:*", "Resource": "*"}
    stack.set("gateway-task-tracing-policy", policy=xray_policy(grant("xray:PutTraceSegments"), deny))
    assert check(stack) == []


def test_the_sampling_reads_can_be_allowed_per_stack(check: Check, stack: Stack) -> None:
    actions = [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    ]
    stack.set("gateway-task-tracing-policy", policy=xray_policy(grant(actions)))
    assert rules(check(stack)) == {"iam-xray-write-only"}
    config = {"iam-xray-write-only": {"allowedActions": actions}}
    assert check(stack, config=config) == []
