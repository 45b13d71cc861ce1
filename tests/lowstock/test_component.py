"""StockwizLambda under the shared Pulumi mocks (tools/pulumi_mocks.py), as wired by __main__.py."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import monitoring, urns
from components.config import StockwizConfigError
from components.lowstock_lambda import METRIC_NAMESPACE, SOURCE_DIR, code_archive
from lowstock import handler as lowstock_handler
from tools.policy_check import check_stack
from tools.pulumi_mocks import Synthesis, SynthResource, synthesize_stack

pytestmark = pytest.mark.slow  # runs the Pulumi program under mocks

FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize_stack("dev")


@pytest.fixture(scope="module")
def prod() -> Synthesis:
    return synthesize_stack("prod")


def component(s: Synthesis) -> SynthResource:
    [found] = s.of_type(urns.LAMBDA)
    return found


def mine(s: Synthesis, type_token: str) -> list[SynthResource]:
    return [r for r in s.children(component(s).urn) if r.type == type_token]


def one(s: Synthesis, type_token: str) -> SynthResource:
    [found] = mine(s, type_token)
    return found


def statements(policy: SynthResource) -> list[dict[str, Any]]:
    document = json.loads(policy.inputs["policy"])
    result: list[dict[str, Any]] = document["Statement"]
    return result


def resources_of(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else list(value)


def test_function_is_python313_on_arm64_with_the_name_monitoring_watches(dev: Synthesis) -> None:
    function = one(dev, FUNCTION)
    assert function.inputs["runtime"] == "python3.13"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["handler"] == "lowstock.handler.handler"
    assert function.inputs["name"] == "stockwiz-lowstock-dev" == dev.exports["lowStockFunctionName"]
    errors_alarm = dev.named("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-lowstock-errors")
    assert errors_alarm.inputs["dimensions"] == {"FunctionName": "stockwiz-lowstock-dev"}
    # Every child is parented to the component.
    assert all(r.parent == component(dev).urn for r in dev.children(component(dev).urn))


def test_function_is_wired_to_the_alert_topic_the_read_token_and_its_own_state(dev: Synthesis) -> None:
    env = one(dev, FUNCTION).inputs["environment"]["variables"]
    topic = dev.named("aws:sns/topic:Topic", "monitoring-alerts")
    read_secret = dev.named("aws:secretsmanager/secret:Secret", "api-tokens-read-secret")
    state = next(p for p in mine(dev, "aws:ssm/parameter:Parameter") if p.name.endswith("-state"))
    lock = next(p for p in mine(dev, "aws:ssm/parameter:Parameter") if p.name.endswith("-lock"))
    assert env["ALERT_TOPIC_ARN"] == topic.outputs["arn"] == dev.exports["alertTopicArn"]
    assert env["API_TOKEN_SECRET_ARN"] == read_secret.outputs["arn"]
    assert env["STOCKWIZ_API_URL"] == dev.exports["url"]
    assert (env["STATE_PARAMETER"], env["LOCK_PARAMETER"]) == (state.inputs["name"], lock.inputs["name"])
    assert env["STACK"] == "dev"
    assert env["METRIC_NAMESPACE"] == METRIC_NAMESPACE
    # The lease must outlive a run the timeout kills.
    assert int(env["LEASE_SECONDS"]) > one(dev, FUNCTION).inputs["timeout"]


def test_function_runs_in_the_private_subnets_behind_the_lambda_security_group(
    dev: Synthesis, prod: Synthesis
) -> None:
    for synthesis in (dev, prod):
        vpc = synthesis.of_type("awsx:ec2:Vpc")[0]
        network = synthesis.named(urns.NETWORK, "network").outputs
        function = one(synthesis, FUNCTION)
        vpc_config = function.inputs["vpcConfig"]
        assert sorted(vpc_config["subnetIds"]) == sorted(vpc.outputs["privateSubnetIds"])
        assert not set(vpc_config["subnetIds"]) & set(vpc.outputs["publicSubnetIds"])
        group = synthesis.named("aws:ec2/securityGroup:SecurityGroup", "network-lambda-sg")
        assert vpc_config["securityGroupIds"] == [group.id] == [network["lambdaSecurityGroupId"]]
        # The role may create the function's network interfaces before the function is created.
        policy = next(p for p in mine(synthesis, ROLE_POLICY) if p.name == "lowstock-policy")
        assert policy.urn in function.depends_on


def test_no_public_entry_to_the_function(dev: Synthesis) -> None:
    assert dev.of_type("aws:lambda/functionUrl:FunctionUrl") == []
    assert dev.of_type("aws:lambda/permission:Permission") == []


def test_function_role_names_exact_arns(dev: Synthesis) -> None:
    log_group = one(dev, "aws:cloudwatch/logGroup:LogGroup")
    topic = dev.named("aws:sns/topic:Topic", "monitoring-alerts")
    secret = dev.named("aws:secretsmanager/secret:Secret", "api-tokens-read-secret")
    parameters = sorted(p.outputs["arn"] for p in mine(dev, "aws:ssm/parameter:Parameter"))
    dlq = one(dev, "aws:sqs/queue:Queue")
    policy = next(p for p in mine(dev, ROLE_POLICY) if p.name == "lowstock-policy")
    assert policy.inputs["role"] == next(r for r in mine(dev, ROLE) if r.name == "lowstock-role").id

    granted = {
        s["Sid"]: (sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"]), s)
        for s in statements(policy)
    }
    assert {sid: actions for sid, (actions, _) in granted.items()} == {
        "WriteOwnLogStreams": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "PublishAlerts": ["sns:Publish"],
        "PutLowStockMetrics": ["cloudwatch:PutMetricData"],
        "ReadApiToken": ["secretsmanager:GetSecretValue"],
        "ReadWriteOwnState": ["ssm:GetParameter", "ssm:PutParameter"],
        "SendFailedRuns": ["sqs:SendMessage"],
        "SendTraces": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        "ManageVpcNetworkInterfaces": [
            "ec2:AssignPrivateIpAddresses",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:UnassignPrivateIpAddresses",
        ],
    }
    assert resources_of(granted["WriteOwnLogStreams"][1]) == [f"{log_group.outputs['arn']}:log-stream:*"]
    assert resources_of(granted["PublishAlerts"][1]) == [topic.outputs["arn"]]
    assert resources_of(granted["ReadApiToken"][1]) == [secret.outputs["arn"]]
    assert sorted(resources_of(granted["ReadWriteOwnState"][1])) == parameters
    assert resources_of(granted["SendFailedRuns"][1]) == [dlq.outputs["arn"]]
    # The one "*": PutMetricData has no resource-level permissions, so the namespace condition narrows it.
    metrics = granted["PutLowStockMetrics"][1]
    assert metrics["Resource"] == "*"
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "StockWiz/LowStock"}}
    # Lambda manages the function's network interfaces with this role: interfaces it has yet to create, and
    # Describe calls without resource-level permissions, hence "*" (the action list above is exact).
    eni = granted["ManageVpcNetworkInterfaces"][1]
    assert eni["Resource"] == "*" and "Condition" not in eni
    # Active tracing: X-Ray's write actions have no resource-level permissions either.
    assert granted["SendTraces"][1]["Resource"] == "*" and "Condition" not in granted["SendTraces"][1]
    stars = [s["Sid"] for s in statements(policy) if any("*" in r for r in resources_of(s))]
    assert stars == ["WriteOwnLogStreams", "PutLowStockMetrics", "SendTraces", "ManageVpcNetworkInterfaces"]
    assert all(s["Effect"] == "Allow" and "*" not in str(s["Action"]) for s in statements(policy))


def test_scheduler_role_may_only_invoke_this_function_and_dead_letter(dev: Synthesis) -> None:
    function = one(dev, FUNCTION)
    dlq = one(dev, "aws:sqs/queue:Queue")
    policy = next(p for p in mine(dev, ROLE_POLICY) if p.name == "lowstock-scheduler-policy")
    assert [(s["Action"], resources_of(s)) for s in statements(policy)] == [
        ("lambda:InvokeFunction", [function.outputs["arn"]]),
        ("sqs:SendMessage", [dlq.outputs["arn"]]),
    ]
    trust = json.loads(
        next(r for r in mine(dev, ROLE) if r.name == "lowstock-scheduler-role").inputs["assumeRolePolicy"]
    )
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    lambda_trust = json.loads(
        next(r for r in mine(dev, ROLE) if r.name == "lowstock-role").inputs["assumeRolePolicy"]
    )
    assert [s["Principal"] for s in lambda_trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]


def test_schedule_comes_from_stack_config(dev: Synthesis, prod: Synthesis) -> None:
    assert one(dev, "aws:scheduler/schedule:Schedule").inputs["scheduleExpression"] == "rate(15 minutes)"
    assert one(prod, "aws:scheduler/schedule:Schedule").inputs["scheduleExpression"] == "rate(5 minutes)"
    changed = synthesize_stack("dev", {"stockwiz:lowStockSchedule": "cron(0 6 * * ? *)"})
    schedule = one(changed, "aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule.inputs["state"] == "ENABLED"
    assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
    unset = synthesize_stack("dev", {"stockwiz:lowStockSchedule": None})
    assert one(unset, "aws:scheduler/schedule:Schedule").inputs["scheduleExpression"] == "rate(15 minutes)"


def test_an_invalid_schedule_stops_the_program_naming_the_key() -> None:
    # Validated with the rest of the stack configuration (tests/infra/test_infra_config.py has the cases).
    with pytest.raises(StockwizConfigError, match="stockwiz:lowStockSchedule"):
        synthesize_stack("dev", {"stockwiz:lowStockSchedule": "every 5 minutes"})


def test_failed_runs_retry_then_reach_the_dead_letter_queue(dev: Synthesis) -> None:
    function = one(dev, FUNCTION)
    dlq = one(dev, "aws:sqs/queue:Queue")
    target = one(dev, "aws:scheduler/schedule:Schedule").inputs["target"]
    assert target["arn"] == function.outputs["arn"]
    assert (
        target["roleArn"]
        == next(r for r in mine(dev, ROLE) if r.name == "lowstock-scheduler-role").outputs["arn"]
    )
    assert target["deadLetterConfig"] == {"arn": dlq.outputs["arn"]}
    assert target["retryPolicy"] == {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 900}
    invoke_config = one(dev, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert invoke_config.inputs["functionName"] == function.outputs["name"]
    assert invoke_config.inputs["maximumRetryAttempts"] == 2
    assert invoke_config.inputs["destinationConfig"] == {"onFailure": {"destination": dlq.outputs["arn"]}}
    assert dlq.inputs["sqsManagedSseEnabled"] is True
    alarm = one(dev, "aws:cloudwatch/metricAlarm:MetricAlarm")
    topic_arn = dev.exports["alertTopicArn"]
    assert alarm.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}
    assert alarm.inputs["alarmActions"] == [topic_arn] == alarm.inputs["okActions"]


def test_log_group_is_the_functions_and_keeps_the_stacks_retention(dev: Synthesis, prod: Synthesis) -> None:
    for synthesis, days in ((dev, 7), (prod, 365)):
        log_group = one(synthesis, "aws:cloudwatch/logGroup:LogGroup")
        function = one(synthesis, FUNCTION)
        assert log_group.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
        assert log_group.inputs["retentionInDays"] == days
        assert function.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]


def test_state_parameters_start_valid_and_are_left_to_the_function(dev: Synthesis) -> None:
    values = {p.name: json.loads(p.inputs["insecureValue"]) for p in mine(dev, "aws:ssm/parameter:Parameter")}
    assert values == {"lowstock-state": {"schema": 1, "low": []}, "lowstock-lock": {"holder": None}}


def test_package_holds_the_modules_only(tmp_path: Path) -> None:
    archive = code_archive(SOURCE_DIR)
    assert isinstance(archive, pulumi.AssetArchive)
    names = sorted(archive.assets)
    assert "lowstock/handler.py" in names
    assert all(n.startswith("lowstock/") and n.endswith(".py") and "__pycache__" not in n for n in names)
    assert names == sorted(f"lowstock/{p.name}" for p in SOURCE_DIR.glob("*.py"))
    with pytest.raises(FileNotFoundError):
        code_archive(tmp_path)


def test_function_imports_only_the_standard_library_and_boto3() -> None:
    # The Lambda runtime provides the standard library and boto3; anything else would fail at import.
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "lowstock", "__future__"}
    for path in SOURCE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            assert set(roots) <= allowed, f"{path.name} imports {roots}"


def test_metric_names_agree_between_function_component_and_dashboard() -> None:
    assert METRIC_NAMESPACE == lowstock_handler.DEFAULT_NAMESPACE == monitoring.LOWSTOCK_NAMESPACE
    assert monitoring.LOWSTOCK_METRIC == "LowStockRecords"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_policy_pack_finds_nothing_on_the_lambda(stack: str) -> None:
    report = check_stack(stack)
    assert [v for v in report.violations if v.resource.startswith("lowstock")] == []
