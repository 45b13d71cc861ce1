"""The stack configuration: declared, documented, validated; a bad value stops the program naming its key."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pytest
import yaml

from components.config import FARGATE_MEMORY_BY_CPU, NAMESPACE, StackConfig, StockwizConfigError
from tools.pulumi_mocks import ROOT, STACKS, stack_config, synthesize_stack

NOT_SETTINGS = {"stack", "region", "default_tags"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def project_config() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])


def load(stack: str, overrides: dict[str, Any] | None = None) -> StackConfig:
    """StackConfig.load exactly as the program calls it, on the config the CLI would pass."""
    pulumi.runtime.set_all_config(stack_config(stack, overrides))
    try:
        return StackConfig.load(stack)
    finally:
        pulumi.runtime.set_all_config({})


def test_every_setting_is_declared_with_a_description_and_the_same_default() -> None:
    declared = project_config()
    fields = {f.name: f for f in dataclasses.fields(StackConfig) if f.name not in NOT_SETTINGS}
    setting_names = {camel(name) for name in fields}
    assert set(declared) == setting_names
    for name, field in fields.items():
        declaration = declared[camel(name)]
        assert declaration["description"], name
        default: Any = field.default
        expected = list(default) if isinstance(default, tuple) else ("" if default is None else default)
        assert declaration["default"] == expected, name
        kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
        assert declaration["type"] == kinds[type(expected)], name


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_only_set_declared_keys(stack: str) -> None:
    settings = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    declared = {f"{NAMESPACE}:{key}" for key in project_config()}
    assert {key for key in settings if key.startswith(f"{NAMESPACE}:")} <= declared
    assert {key for key in settings if not key.startswith(f"{NAMESPACE}:")} == {
        "aws:region",
        "aws:defaultTags",
    }


def test_dev_is_cheap_and_prod_is_resilient() -> None:
    dev, prod = load("dev"), load("prod")
    assert (dev.desired_count, dev.max_count, dev.nat_gateway_count, dev.db_multi_az) == (1, 1, 1, False)
    assert not dev.autoscaling and not dev.https and not dev.deletion_protection
    assert dev.log_retention_days < 30
    assert prod.min_count >= 2 and prod.autoscaling and prod.https
    assert prod.nat_gateway_count == prod.availability_zone_count >= 2
    assert prod.db_multi_az and prod.deletion_protection and prod.final_snapshot
    assert dev.default_tags["Environment"] == "dev" and prod.default_tags["Environment"] == "prod"


def test_every_fargate_size_aws_accepts_is_accepted() -> None:
    base = load("dev")
    pairs = [(cpu, memory) for cpu, memories in FARGATE_MEMORY_BY_CPU.items() for memory in memories]
    assert (256, 512) in pairs and (4096, 30720) in pairs and (16384, 122880) in pairs and len(pairs) == 74
    for cpu, memory in pairs:
        dataclasses.replace(base, task_cpu=cpu, task_memory=memory).validate()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("stockwiz:taskMemory", 4096, "Fargate does not accept 4096 MiB with 256 CPU units"),
        ("stockwiz:taskCpu", 300, "must be one of 256, 512"),
        ("stockwiz:taskCpu", "lots", "taskCpu"),
        ("stockwiz:availabilityZoneCount", 1, "between 2 and 6"),
        ("stockwiz:natGatewayStrategy", "None", "must be one of Single, OnePerAz"),
        ("stockwiz:logRetentionDays", 10, "CloudWatch Logs accepts only 1, 3, 5, 7, 14"),
        ("stockwiz:desiredCount", 5, "between minCount (1) and maxCount (1)"),
        ("stockwiz:vpcCidr", "8.8.0.0/16", "private block"),
        ("stockwiz:vpcCidr", "10.0.0.0/24", "/16 to /18"),
        ("stockwiz:allowedIngressCidrs", ["10.0.0.1/8"], "host bits"),
        ("stockwiz:allowedIngressCidrs", "0.0.0.0/0", "not a valid 'JSON object'"),
        ("stockwiz:allowedIngressCidrs", [80, 443], "list of strings"),
        ("stockwiz:certificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/abc", "domainName"),
        ("stockwiz:certificateArn", "not-an-arn", "ACM certificate ARN"),
        ("stockwiz:dbInstanceClass", "t3.micro", "RDS instance class"),
        ("stockwiz:dbEngineVersion", "11", "14 or later"),
        ("stockwiz:dbAllocatedStorageGb", 10, "between 20 and 65536"),
        ("stockwiz:dbBackupRetentionDays", 0, "between 1 and 35"),
        ("stockwiz:dbMultiAz", "maybe", "dbMultiAz"),
        ("stockwiz:imagePlatform", "linux/arm/v7", "linux/amd64, linux/arm64"),
        ("stockwiz:alertEmails", ["ops"], "not an e-mail address"),
        ("stockwiz:alertEmails", ["a@example.com", "a@example.com"], "twice"),
        ("stockwiz:hostedZoneId", "Z123ABC", "needs domainName"),
        ("stockwiz:lowStockSchedule", "every 5 minutes", "must be a recurring schedule"),
        ("stockwiz:lowStockSchedule", "", "must be a recurring schedule"),
        ("stockwiz:lowStockSchedule", 15, "must be a recurring schedule"),
        ("stockwiz:currency", "usd", "must be an ISO 4217 currency code"),
        ("stockwiz:currency", "US$", "must be an ISO 4217 currency code"),
        ("stockwiz:currency", "EURO", "must be an ISO 4217 currency code"),
        ("aws:region", None, "AWS region"),
        ("aws:defaultTags", {"tags": {"Project": "stockwiz", "ManagedBy": "pulumi"}}, "lack Environment"),
        (
            "aws:defaultTags",
            {"tags": {"Project": "x", "Environment": "prod", "ManagedBy": "y"}},
            "stack is 'dev'",
        ),
    ],
)
def test_bad_values_are_rejected_naming_the_key(key: str, value: Any, message: str) -> None:
    with pytest.raises(StockwizConfigError) as error:
        load("dev", {key: value})
    assert error.value.key == key or (
        key == "stockwiz:certificateArn" and error.value.key == "stockwiz:domainName"
    )
    assert key.split(":")[1] in str(error.value) or error.value.key in str(error.value)
    assert message in str(error.value)


def test_low_stock_schedule_defaults_and_stack_values() -> None:
    assert load("dev").low_stock_schedule == "rate(15 minutes)"
    assert load("prod").low_stock_schedule == "rate(5 minutes)"
    assert load("dev", {"stockwiz:lowStockSchedule": None}).low_stock_schedule == "rate(15 minutes)"
    # Surrounding blanks (easy to leave in YAML) are dropped, not sent to EventBridge Scheduler.
    assert load("dev", {"stockwiz:lowStockSchedule": " rate(1 hour) "}).low_stock_schedule == "rate(1 hour)"


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(2 hours)",
        "rate(1 day)",
        "rate(30 days)",
        "cron(0/15 * * * ? *)",
    ],
)
def test_recurring_schedules_are_accepted(expression: str) -> None:
    assert load("dev", {"stockwiz:lowStockSchedule": expression}).low_stock_schedule == expression


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(0 minutes)",
        "rate(5 minute)",
        "rate(05 minutes)",
        "rate(5 weeks)",
        "at(2030-01-01T00:00:00)",
        "cron(* * * *)",
        "cron(0 6 * * ? * *)",
    ],
)
def test_other_schedules_are_refused_naming_the_key(expression: str) -> None:
    with pytest.raises(StockwizConfigError) as error:
        load("dev", {"stockwiz:lowStockSchedule": expression})
    assert error.value.key == "stockwiz:lowStockSchedule"
    assert "stockwiz:lowStockSchedule" in str(error.value) and repr(expression) in str(error.value)


def test_a_storage_ceiling_below_the_allocation_is_rejected() -> None:
    with pytest.raises(
        StockwizConfigError, match=r"stockwiz:dbMaxAllocatedStorageGb: must be at least .*\(40\)"
    ):
        load("dev", {"stockwiz:dbAllocatedStorageGb": 40, "stockwiz:dbMaxAllocatedStorageGb": 30})


def test_a_certificate_from_another_region_is_rejected() -> None:
    with pytest.raises(StockwizConfigError, match=r"stockwiz:certificateArn.*own region \(eu-west-1\)"):
        load("prod", {"stockwiz:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-1"})


def test_the_program_stops_before_declaring_anything_on_a_bad_value() -> None:
    with pytest.raises(StockwizConfigError, match="stockwiz:taskMemory"):
        synthesize_stack("prod", {"stockwiz:taskMemory": 512})
    # ...and the runtime is clean afterwards: the next synthesis works.
    assert synthesize_stack("dev").exports["clusterName"] == "stockwiz-cluster-dev"


# -- placeholders -------------------------------------------------------------------------------------------


def test_prod_as_shipped_stops_at_validation_saying_what_to_fill_in() -> None:
    """Pulumi.prod.yaml is a template: its example certificate, domain, zone and addresses are refused."""
    with pytest.raises(StockwizConfigError) as error:
        synthesize_stack("prod", stand_ins=False)
    message = str(error.value)
    assert error.value.key == "stockwiz:certificateArn"
    assert "replace them before `pulumi up`" in message
    for key, hint in (
        ("stockwiz:certificateArn", "request a certificate for your domain in ACM in eu-west-1"),
        ("stockwiz:domainName", "pulumi config set stockwiz:domainName"),
        ("stockwiz:hostedZoneId", "pulumi config rm stockwiz:hostedZoneId"),
        ("stockwiz:alertEmails", "pulumi config set --path 'stockwiz:alertEmails[0]'"),
    ):
        line = next(line for line in message.splitlines() if line.strip().startswith(key))
        assert hint in line, line
    # With the user's own values (the offline stand-ins) the same file goes through.
    assert load("prod").https


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (
            "stockwiz:certificateArn",
            "arn:aws:acm:eu-west-1:123456789012:certificate/abc-1",
            "example account",
        ),
        (
            "stockwiz:certificateArn",
            "arn:aws:acm:eu-west-1:000000000000:certificate/abc-1",
            "example account",
        ),
        (
            "stockwiz:certificateArn",
            "arn:aws:acm:eu-west-1:802137465913:certificate/00000000-0000-0000-0000-000000000000",
            "all-zero resource id",
        ),
        ("stockwiz:certificateArn", "arn:aws:acm:eu-west-1:802137465913:certificate/replace-me", "marker"),
        ("stockwiz:domainName", "replace-me.acme-widgets.net", "marker"),
        ("stockwiz:domainName", "shop.example.org", "reserved for examples"),
        ("stockwiz:domainName", "stockwiz.test", "reserved for examples"),
        ("stockwiz:hostedZoneId", "Z0000000000EXAMPLE", "example hosted zone"),
        ("stockwiz:alertEmails", ["ops@acme.example"], "reserved for examples"),
    ],
)
def test_placeholder_values_are_refused_in_any_stack(key: str, value: Any, reason: str) -> None:
    real = {
        "stockwiz:certificateArn": "arn:aws:acm:eu-west-1:802137465913:certificate/5f0c9a4e-7d1b",
        "stockwiz:domainName": "shop.acme-widgets.net",
    }
    with pytest.raises(StockwizConfigError) as error:
        load("dev", {**real, key: value})
    assert error.value.key == key and reason in str(error.value)


def test_real_looking_values_pass() -> None:
    config = load(
        "dev",
        {
            "stockwiz:certificateArn": "arn:aws:acm:eu-west-1:802137465913:certificate/5f0c9a4e-7d1b",
            "stockwiz:domainName": "shop.acme-widgets.net",
            "stockwiz:hostedZoneId": "Z07164323QK5V3EXFO5BL",
            "stockwiz:alertEmails": ["ops@acme-widgets.net"],
        },
    )
    assert config.https and config.warnings == ()


# -- dev's plain HTTP ----------------------------------------------------------------------------------------


def test_without_https_nobody_is_admitted_by_default_and_the_stack_warns() -> None:
    assert project_config()["allowedIngressCidrs"]["default"] == []
    dev = load("dev")
    assert dev.allowed_ingress_cidrs == () and dev.ingress_is_restricted and not dev.https
    [warning] = dev.warnings
    assert "in the clear" in warning and "admits nobody" in warning
    opened = load("dev", {"stockwiz:allowedIngressCidrs": ["0.0.0.0/0"]})
    assert len(opened.warnings) == 2 and "whole internet" in opened.warnings[1]
    narrowed = load("dev", {"stockwiz:allowedIngressCidrs": ["203.0.113.0/24"]})
    assert "admits 203.0.113.0/24" in narrowed.warnings[0] and len(narrowed.warnings) == 1


def test_the_warning_is_a_stack_output_and_prod_has_none() -> None:
    dev, prod = synthesize_stack("dev"), synthesize_stack("prod")
    assert dev.exports["warnings"] == list(load("dev").warnings) != []
    assert prod.exports["warnings"] == []
    # The load balancer admits only the NAT gateways (for the low-stock Lambda) until someone is named.
    alb = dev.named("aws:ec2/securityGroup:SecurityGroup", "network-alb-sg").id
    sources = {
        r.inputs["cidrIpv4"]
        for r in dev.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == alb
    }
    assert sources == {f"{eip.outputs['publicIp']}/32" for eip in dev.of_type("aws:ec2/eip:Eip")}


def test_currency_defaults_to_usd_and_takes_a_stack_value() -> None:
    assert load("dev").currency == "USD"
    assert load("dev", {"stockwiz:currency": "EUR"}).currency == "EUR"
    assert load("dev", {"stockwiz:currency": None}).currency == "USD"
