"""Required tags, alarm actions and alarm coverage."""

from __future__ import annotations

import json

import pytest

from tests.policy.conftest import Check
from tests.policy.golden import LB_SUFFIX, PROJECT_TAGS, TOPIC, Stack, rules
from tools.policy_check import ProviderInfo


def provider(default_tags: object) -> ProviderInfo:
    return ProviderInfo(
        type="pulumi:providers:aws",
        name="default",
        urn="urn:pulumi:dev::stockwiz::pulumi:providers:aws::default",
        props={"region": "eu-west-1", "defaultTags": default_tags},
    )


def untagged(stack: Stack) -> Stack:
    for _, inputs, _ in stack.specs.values():
        inputs.pop("tags", None)
    return stack


def test_a_resource_missing_a_required_tag_is_caught(check: Check, stack: Stack) -> None:
    stack.set("db", tags={"Project": "stockwiz", "ManagedBy": "pulumi"})
    violations = check(stack)
    assert rules(violations) == {"required-tags"}
    assert [v.resource for v in violations] == ["db"]
    assert "Environment" in violations[0].message


def test_an_empty_tag_value_does_not_count(check: Check, stack: Stack) -> None:
    stack.set("db", tags={**PROJECT_TAGS, "Environment": ""})
    assert rules(check(stack)) == {"required-tags"}


def test_every_untagged_taggable_resource_is_reported(check: Check, stack: Stack) -> None:
    violations = check(untagged(stack))
    assert rules(violations) == {"required-tags"}
    reported = {v.resource for v in violations}
    # RolePolicy, LifecyclePolicy and FunctionEventInvokeConfig have no tags in AWS.
    assert {"alb", "db", "gateway-service", "gateway-task", "lowstock", "lowstock-role"} <= reported
    assert not reported & {"lowstock-policy", "gateway-repo-lifecycle", "lowstock-invoke-config"}


@pytest.mark.parametrize("encode", [json.dumps, lambda value: value], ids=["json-string", "object"])
def test_provider_default_tags_satisfy_the_rule(check: Check, stack: Stack, encode: object) -> None:
    assert callable(encode)
    assert check(untagged(stack), provider=provider(encode({"tags": PROJECT_TAGS}))) == []


def test_provider_default_tags_must_hold_every_required_key(check: Check, stack: Stack) -> None:
    partial = json.dumps({"tags": {"Project": "stockwiz"}})
    violations = check(untagged(stack), provider=provider(partial))
    assert rules(violations) == {"required-tags"}
    assert all("Environment, ManagedBy" in v.message for v in violations)


def test_tags_all_computed_by_the_provider_satisfies_the_rule(check: Check, stack: Stack) -> None:
    for _, inputs, _ in untagged(stack).specs.values():
        inputs["tagsAll"] = PROJECT_TAGS
    assert check(stack) == []


def test_the_required_tags_are_configurable(check: Check, stack: Stack) -> None:
    config = {"required-tags": {"requiredTags": ["Project", "CostCenter"]}}
    violations = check(stack, config=config)
    assert rules(violations) == {"required-tags"}
    assert all("CostCenter" in v.message for v in violations)


def test_an_alarm_without_actions_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "silent",
        {"namespace": "AWS/RDS", "metricName": "CPUUtilization", "tags": PROJECT_TAGS},
    )
    violations = check(stack)
    assert rules(violations) == {"cloudwatch-alarm-actions"}
    assert violations[0].resource == "silent"


def test_an_alarm_with_actions_disabled_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "muted",
        {"alarmActions": [TOPIC], "actionsEnabled": False, "tags": PROJECT_TAGS},
    )
    assert rules(check(stack)) == {"cloudwatch-alarm-actions"}


def test_a_service_without_an_alarm_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("gateway-cpu-alarm")
    violations = check(stack)
    assert rules(violations) == {"alarms-cover-services"}
    assert violations[0].resource == "gateway-service"
    assert "ServiceName" in violations[0].message


def test_a_service_whose_alarm_notifies_nobody_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("gateway-cpu-alarm", "alarmActions")
    violations = check(stack)
    assert rules(violations) == {"cloudwatch-alarm-actions", "alarms-cover-services"}
    assert {v.resource for v in violations} == {"gateway-cpu-alarm", "gateway-service"}


def test_an_alarm_on_another_service_does_not_cover_this_one(check: Check, stack: Stack) -> None:
    stack.inputs("gateway-cpu-alarm")["dimensions"]["ServiceName"] = "stockwiz-products-dev"
    assert rules(check(stack)) == {"alarms-cover-services"}


def test_a_load_balancer_without_an_alarm_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("alb-5xx-alarm")
    violations = check(stack)
    assert rules(violations) == {"alarms-cover-services"}
    assert violations[0].resource == "alb"


def test_a_plain_dimension_alarm_covers_the_load_balancer(check: Check, stack: Stack) -> None:
    stack.drop("alb-5xx-alarm")
    stack.add(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "alb-unhealthy",
        {"dimensions": {"LoadBalancer": LB_SUFFIX, "TargetGroup": "targetgroup/x/1"}, "alarmActions": [TOPIC],
         "tags": PROJECT_TAGS},
    )  # fmt: skip
    assert check(stack) == []
