"""The rules for the classes of mistakes the first pack let through (issue 15), on hand-built resources.

The mutation test (tests/policy/test_mutants.py) proves each rule on the real program; these pin the edges
of each rule: what still passes, and the spellings of the same mistake.
"""

from __future__ import annotations

from typing import Any

import pytest

from policy.stockwiz_policies.compute import secret_value
from tests.policy.conftest import Check
from tests.policy.golden import LB_ARN, PROJECT_TAGS, TOPIC, Stack, container, policy_document, rules

TAGS = {"tags": PROJECT_TAGS}


def env(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [*container()["environment"], *({"name": n, "value": v} for n, v in pairs)]


# --- secrets in plain environment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://stockwiz:Tr0ub4dor3@db.internal:5432/stockwiz",
        "https://api.example.com/hook?token=abc123",
        "AKIAIOSFODNN7EXAMPLE",
        "3f9aK2mQ7xLp0ZbR8vWc1NtY6sHd4Ge5",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXZhbHVl",
    ],
)
def test_secret_values_are_caught_whatever_the_name(check: Check, stack: Stack, value: str) -> None:
    violations = check(stack.container(environment=env(("EXPORT_TARGET", value))))
    assert rules(violations) == {"ecs-container-no-secret-environment"}
    assert "'EXPORT_TARGET'" in violations[0].message


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://db.internal:5432/stockwiz?sslmode=require",
        "stockwiz-db-dev.c9akciq32.eu-west-1.rds.amazonaws.com",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stockwiz-dev/api-tokens-AbCdEf",
        "1.4.2",
        "ECSServiceAverageCPUUtilization",
        "00000000-0000-0000-0000-000000000000",
        "http://products:8001",
        "/stockwiz/prod2/lowstock/state-v2",
    ],
)
def test_ordinary_values_are_not_secrets(value: str) -> None:
    assert secret_value(value) is None


def test_idempotency_key_ttl_hours_is_a_setting_not_a_key(check: Check, stack: Stack) -> None:
    # The inventory's real setting: a number after a name that mentions KEY.
    assert check(stack.container(environment=env(("IDEMPOTENCY_KEY_TTL_HOURS", "24")))) == []
    # The same name holding something that is not a number is still refused.
    violations = check(stack.container(environment=env(("IDEMPOTENCY_KEY_TTL_HOURS", "s3cr3t-value"))))
    assert rules(violations) == {"ecs-container-no-secret-environment"}


def test_lambda_environment_is_checked_by_name_and_by_value(check: Check, stack: Stack) -> None:
    variables = {"API_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:t", "LOG_LEVEL": "INFO"}
    stack.set("lowstock", environment={"variables": variables})
    assert check(stack) == []
    stack.set("lowstock", environment={"variables": {**variables, "API_TOKEN": "x"}})
    assert rules(check(stack)) == {"lambda-no-secret-environment"}
    stack.set(
        "lowstock", environment={"variables": {**variables, "AUTH": "Zx81kQp02LmN7vBc4RtY9sWe3HjU6aDf"}}
    )
    assert rules(check(stack)) == {"lambda-no-secret-environment"}


# --- settings that must never reach AWS ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "caught"),
    [
        ((("ALLOW_OPEN", "true"),), True),
        ((("ALLOW_OPEN", "1"),), True),
        ((("ALLOW_OPEN", "false"),), False),
        ((("CHAOS_ENABLED", "yes"),), True),
        ((("CHAOS_ENABLED", "0"),), False),
        ((("DB_HOST", "db"), ("DB_SSLMODE", "require")), False),
        ((("DB_HOST", "db"), ("DB_SSLMODE", "allow")), True),
        ((("DB_HOST", "db"),), True),  # the services default to sslmode disable
        ((("DATABASE_URL", "postgresql://db/stockwiz?sslmode=verify-full"),), False),
        ((("DATABASE_URL", "postgresql://db/stockwiz"),), True),
    ],
)
def test_developer_switches_and_plain_text_databases(
    check: Check, stack: Stack, pairs: tuple[tuple[str, str], ...], caught: bool
) -> None:
    violations = check(stack.container(environment=env(*pairs)))
    assert rules(violations) == ({"ecs-container-no-unsafe-settings"} if caught else set())


# --- IAM -----------------------------------------------------------------------------------------------


def grant(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (grant("secretsmanager:GetSecretValue"), {"iam-no-sensitive-actions-on-all-resources"}),
        (
            grant("kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/*"),
            {"iam-no-sensitive-actions-on-all-resources"},
        ),
        (grant("iam:PassRole"), {"iam-no-sensitive-actions-on-all-resources"}),
        (
            grant("ssm:GetParam*", "arn:aws:ssm:*:*:parameter/*"),
            {"iam-no-sensitive-actions-on-all-resources", "iam-no-wildcard-actions"},
        ),
        (grant("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:1:secret:t-AbC"), set()),
        # IAM database login: on "*" or AWS's example ARN, every user of every database of the account.
        (grant("rds-db:connect"), {"iam-no-sensitive-actions-on-all-resources"}),
        (
            grant("rds-db:connect", "arn:aws:rds-db:eu-west-1:1:dbuser:*/*"),
            {"iam-no-sensitive-actions-on-all-resources"},
        ),
        (grant("rds-db:connect", "arn:aws:rds-db:eu-west-1:1:dbuser:db-ABCDEFGHIJKL/stockwiz_app"), set()),
        (grant("s3:Get*", "arn:aws:s3:::exports/*"), {"iam-no-wildcard-actions"}),
        (grant("sqs:*", "arn:aws:sqs:eu-west-1:1:dlq"), set()),
        (grant("ec2:DescribeNetworkInterfaces"), set()),
    ],
)
def test_sensitive_actions_and_action_patterns(
    check: Check, stack: Stack, statement: dict[str, Any], expected: set[str]
) -> None:
    stack.set("lowstock-policy", policy=policy_document(statement))
    assert rules(check(stack)) == expected


@pytest.mark.parametrize(
    ("principal", "condition", "caught"),
    [
        ("*", None, True),
        ({"AWS": "*"}, None, True),
        ({"AWS": ["arn:aws:iam::123456789012:root", "*"]}, None, True),
        ("*", {"StringEquals": {"aws:SourceAccount": "123456789012"}}, False),
        ("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, False),
        ({"Service": "events.amazonaws.com"}, None, False),
        ({"AWS": "arn:aws:iam::123456789012:root"}, None, False),
    ],
)
def test_public_principals_in_resource_policies(
    check: Check, stack: Stack, principal: Any, condition: Any, caught: bool
) -> None:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sqs:SendMessage", "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    stack.add(
        "aws:sqs/queuePolicy:QueuePolicy",
        "dlq-policy",
        {"queueUrl": "q", "policy": policy_document(statement)},
    )
    assert rules(check(stack)) == ({"resource-policy-no-public-principal"} if caught else set())


# --- network -------------------------------------------------------------------------------------------


def ingress_rule(stack: Stack, name: str, group: str, **source: Any) -> None:
    stack.add(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        name,
        {"securityGroupId": group, "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, **source, **TAGS},
    )


@pytest.mark.parametrize(
    "pieces",
    [
        [{"cidrIpv4": "0.0.0.0/1"}, {"cidrIpv4": "128.0.0.0/1"}],
        [{"cidrIpv6": "::/1"}, {"cidrIpv6": "8000::/1"}],
        [{"cidrIpv4": f"{q}.0.0.0/2"} for q in (0, 64, 128, 192)],
    ],
)
def test_the_world_in_pieces_is_the_world(check: Check, stack: Stack, pieces: list[dict[str, str]]) -> None:
    for index, source in enumerate(pieces):
        ingress_rule(stack, f"db-in-{index}", "sg-db", **source)
    violations = check(stack)
    assert rules(violations) == {"security-group-no-split-world"}
    assert "db-sg" in violations[0].message


def test_half_the_world_alone_is_not_the_world(check: Check, stack: Stack) -> None:
    ingress_rule(stack, "db-in-0", "sg-db", cidrIpv4="0.0.0.0/1")
    assert "security-group-no-split-world" not in rules(check(stack))


def test_private_ranges_are_refused_except_on_the_load_balancer(check: Check, stack: Stack) -> None:
    ingress_rule(stack, "db-from-vpc", "sg-db", cidrIpv4="10.0.0.0/8")
    violations = check(stack)
    assert rules(violations) == {"security-group-ingress-by-group"}
    assert "10.0.0.0/8" in violations[0].message
    # The load balancer's allow-list of client networks (an office VPN) is configuration, not a caller.
    fresh = Stack()
    ingress_rule(fresh, "alb-from-vpn", "sg-alb", cidrIpv4="10.0.0.0/8")
    assert check(fresh) == []


def topology(stack: Stack, *, nat_zone: str = "eu-west-1a") -> Stack:
    """Two zones: a public subnet (route to the internet gateway) and a private one (route to NAT) each."""
    stack.add("aws:ec2/internetGateway:InternetGateway", "igw", {**TAGS}, {"id": "igw-1"})
    for zone in ("a", "b"):
        for kind in ("public", "private"):
            name = f"{kind}-{zone}"
            stack.add(
                "aws:ec2/subnet:Subnet",
                name,
                {"availabilityZone": f"eu-west-1{zone}", **TAGS},
                {"id": f"subnet-{name}"},
            )
            stack.add("aws:ec2/routeTable:RouteTable", f"rt-{name}", {**TAGS}, {"id": f"rtb-{name}"})
            stack.add(
                "aws:ec2/routeTableAssociation:RouteTableAssociation",
                f"assoc-{name}",
                {"subnetId": f"subnet-{name}", "routeTableId": f"rtb-{name}"},
            )
        nat_subnet = "public-a" if nat_zone == "eu-west-1a" else f"public-{zone}"
        stack.add(
            "aws:ec2/natGateway:NatGateway",
            f"nat-{zone}",
            {"subnetId": f"subnet-{nat_subnet}", **TAGS},
            {"id": f"nat-{zone}"},
        )
        stack.add(
            "aws:ec2/route:Route",
            f"r-public-{zone}",
            {"routeTableId": f"rtb-public-{zone}", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"},
        )
        stack.add(
            "aws:ec2/route:Route",
            f"r-private-{zone}",
            {
                "routeTableId": f"rtb-private-{zone}",
                "destinationCidrBlock": "0.0.0.0/0",
                "natGatewayId": f"nat-{zone}",
            },
        )
    stack.set(
        "gateway-service",
        networkConfiguration={
            "assignPublicIp": False,
            "subnets": ["subnet-private-a", "subnet-private-b"],
            "securityGroups": ["sg-gateway"],
        },
    )
    return stack


def test_workloads_in_subnets_routed_to_the_internet_gateway_are_caught(check: Check, stack: Stack) -> None:
    topology(stack)
    assert check(stack) == []
    stack.set(
        "gateway-service",
        networkConfiguration={
            "assignPublicIp": False,
            "subnets": ["subnet-public-b"],
            "securityGroups": ["sg-gateway"],
        },
    )
    violations = check(stack)
    assert rules(violations) == {"workloads-in-private-subnets"}
    assert "public-b" in violations[0].message


def test_protected_stacks_need_a_nat_gateway_per_zone(check: Check, stack: Stack) -> None:
    topology(stack, nat_zone="per-zone")
    assert check(stack, stack_name="prod") == []
    single = topology(Stack())  # both NAT gateways sit in zone a: zone b depends on zone a
    assert rules(check(single, stack_name="prod")) == {"vpc-nat-per-zone"}
    assert check(single, stack_name="dev") == []


def test_protected_stacks_need_https(check: Check, stack: Stack) -> None:
    stack.drop("https")
    stack.set("http", defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}])
    # The /metrics rule follows the forwarding listener, as in the program (lb-internal-paths-not-public).
    stack.set("internal-paths", listenerArn=LB_ARN + "/listener-http")
    assert rules(check(stack, stack_name="prod")) == {"lb-https-required"}
    assert check(stack, stack_name="dev") == []


# --- data ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "parameters", "caught"),
    [
        ("16", None, False),  # the default group of PostgreSQL 15+ forces TLS
        ("14", None, True),
        ("14", [{"name": "rds.force_ssl", "value": "1"}], False),
        ("16", [{"name": "rds.force_ssl", "value": "0"}], True),
    ],
)
def test_database_tls(check: Check, stack: Stack, version: str, parameters: Any, caught: bool) -> None:
    stack.set("db", engineVersion=version)
    if parameters is not None:
        stack.add(
            "aws:rds/parameterGroup:ParameterGroup",
            "db-params",
            {"name": "stockwiz-pg", "family": f"postgres{version}", "parameters": parameters, **TAGS},
        )
        stack.set("db", parameterGroupName="stockwiz-pg")
    assert rules(check(stack)) == ({"rds-tls-required"} if caught else set())


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"multiAz": False}, "rds-multi-az"),
        ({"skipFinalSnapshot": True}, "rds-final-snapshot"),
    ],
)
def test_protected_database_settings(check: Check, stack: Stack, changes: dict[str, Any], rule: str) -> None:
    stack.set("db", **changes)
    assert rules(check(stack, stack_name="prod")) == {rule}
    assert check(stack, stack_name="dev") == []


def test_alarms_on_a_protected_stack_need_a_subscriber(check: Check, stack: Stack) -> None:
    stack.add("aws:sns/topic:Topic", "alerts", {"name": "alerts", **TAGS}, {"arn": TOPIC})
    violations = check(stack, stack_name="prod")
    assert rules(violations) == {"alarms-reach-someone"}
    assert check(stack, stack_name="dev") == []
    stack.add(
        "aws:sns/topicSubscription:TopicSubscription",
        "ops",
        {"topic": TOPIC, "protocol": "email", "endpoint": "ops@example.com"},
    )
    assert check(stack, stack_name="prod") == []


def test_buckets_need_a_full_public_access_block(check: Check, stack: Stack) -> None:
    stack.add("aws:s3/bucket:Bucket", "exports", {"bucket": "exports", **TAGS}, {"id": "exports"})
    assert rules(check(stack)) == {"s3-bucket-no-public-access"}
    flags = {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    stack.add(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "exports-block",
        {"bucket": "exports", **flags},
    )
    assert check(stack) == []
    stack.set("exports-block", restrictPublicBuckets=False)
    assert rules(check(stack)) == {"s3-bucket-no-public-access"}


def test_secrets_of_protected_stacks_keep_a_recovery_window(check: Check, stack: Stack) -> None:
    stack.add("aws:secretsmanager/secret:Secret", "tokens", {"name": "t", "recoveryWindowInDays": 0, **TAGS})
    assert rules(check(stack, stack_name="prod")) == {"secrets-recovery-window"}
    assert check(stack, stack_name="dev") == []
