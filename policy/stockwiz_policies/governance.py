"""Cross-cutting rules: tags on everything, and alarms that reach a human."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._props import (
    PROTECTED_STACKS_PROPERTY,
    as_bool,
    as_mapping,
    config_value,
    iter_mappings,
    json_document,
    known,
    present,
    protected_stack,
    references,
    string_values,
)

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
ECS_SERVICE = "aws:ecs/service:Service"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"

DEFAULT_REQUIRED_TAGS = ["Project", "Environment", "ManagedBy"]
TAGGABLE_TYPES_FILE = "aws_taggable_types.json"


@cache
def taggable_types() -> frozenset[str]:
    """AWS resource types that accept `tags`, generated from the pulumi-aws SDK (tools/policy_check.py)."""
    text = resources.files(__package__).joinpath(TAGGABLE_TYPES_FILE).read_text(encoding="utf-8")
    return frozenset(json.loads(text))


def tag_map(value: Any) -> dict[str, str]:
    """Tags as a dict, from a map, a JSON string, or a list of {key, value} (autoscaling groups)."""
    document = json_document(value) if isinstance(value, str) else value
    if isinstance(document, Mapping):
        return {str(k): str(v) for k, v in document.items() if isinstance(v, str)}
    out: dict[str, str] = {}
    for item in iter_mappings(document):
        key, val = item.get("key"), item.get("value")
        if isinstance(key, str) and isinstance(val, str):
            out[key] = val
    return out


def provider_default_tags(provider: PolicyProviderResource | None) -> dict[str, str]:
    if provider is None or not provider.resource_type.startswith("pulumi:providers:aws"):
        return {}
    # Provider inputs carry object-valued settings as JSON strings.
    default_tags = json_document(known(provider.props, "defaultTags"))
    return tag_map(as_mapping(default_tags).get("tags"))


def _validate_required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in taggable_types():
        return
    required = list(config_value(args.get_config(), "requiredTags", DEFAULT_REQUIRED_TAGS))
    tags = provider_default_tags(args.provider)
    # tagsAll is what the AWS provider computes from its default tags plus the resource's own.
    tags.update(tag_map(args.props.get("tagsAll")))
    tags.update(tag_map(args.props.get("tags")))
    missing = [key for key in required if not tags.get(key)]
    if missing:
        report(
            f"Missing tag(s) {', '.join(missing)}: costs and ownership cannot be traced. Set them in the "
            "AWS provider's defaultTags (or the resource's tags).",
            None,
        )


def _validate_alarm_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (METRIC_ALARM, COMPOSITE_ALARM):
        return
    if not present(args.props, "alarmActions"):
        report(
            "The alarm notifies nobody when it fires. Set alarmActions to the stack's alert SNS topic "
            "(and okActions to hear when it recovers).",
            None,
        )
    elif as_bool(args.props.get("actionsEnabled")) is False:
        report("The alarm's actions are disabled (actionsEnabled=False). Enable them.", None)


def _alarm_dimensions(alarm: PolicyResource) -> list[Mapping[str, Any]]:
    found = [as_mapping(known(alarm.props, "dimensions"))]
    for query in iter_mappings(known(alarm.props, "metricQueries")):
        metric = as_mapping(known(query, "metric"))
        found.append(as_mapping(known(metric, "dimensions")))
    return found


def _watches(alarm: PolicyResource, target: PolicyResource, dimension: str, keys: tuple[str, ...]) -> bool:
    for prop in ("dimensions", "metricQueries"):
        if any(dep.urn == target.urn for dep in alarm.property_dependencies.get(prop) or []):
            return True
    for dimensions in _alarm_dimensions(alarm):
        values = string_values(known(dimensions, dimension))
        if values and references(alarm, "dimensions", target, keys, value=values):
            return True
    return False


def _validate_alarm_coverage(args: StackValidationArgs, report: ReportViolation) -> None:
    alarms = [
        r
        for r in args.resources
        if r.resource_type == METRIC_ALARM
        and present(r.props, "alarmActions")
        and as_bool(known(r.props, "actionsEnabled")) is not False
    ]
    for resource in args.resources:
        if resource.resource_type == ECS_SERVICE:
            watched = any(_watches(alarm, resource, "ServiceName", ("name",)) for alarm in alarms)
            what = "ECS service"
        elif resource.resource_type in LOAD_BALANCERS:
            watched = any(_watches(alarm, resource, "LoadBalancer", ("arnSuffix",)) for alarm in alarms)
            what = "Load balancer"
        else:
            continue
        if not watched:
            report(
                f"{what} {resource.name} has no CloudWatch alarm with an action: when it fails, nobody "
                "hears about it. Add a MetricAlarm on its metrics (dimension "
                f"{'ServiceName' if what == 'ECS service' else 'LoadBalancer'}) with alarmActions set to "
                "the alert topic.",
                resource.urn,
            )


def _validate_alarms_reach_someone(args: StackValidationArgs, report: ReportViolation) -> None:
    stack, protected = protected_stack(args.get_config())
    if not protected:
        return
    topics = [r for r in args.resources if r.resource_type == TOPIC]
    subscriptions = [r for r in args.resources if r.resource_type == SUBSCRIPTION]
    for topic in topics:
        alarms = [
            alarm.name
            for alarm in args.resources
            if alarm.resource_type in (METRIC_ALARM, COMPOSITE_ALARM)
            and references(alarm, "alarmActions", topic, ("arn", "id"))
        ]
        if not alarms:
            continue
        if not any(references(s, "topic", topic, ("arn", "id")) for s in subscriptions):
            report(
                f"Stack {stack!r}: {len(alarms)} alarm(s) ({', '.join(sorted(alarms)[:3])}...) notify topic "
                f"{topic.name}, which has no subscription, so nobody is paged when they fire. Set "
                "stockwiz:alertEmails (each address must confirm) or subscribe an on-call endpoint.",
                topic.urn,
            )


POLICIES = [
    ResourceValidationPolicy(
        name="required-tags",
        description="Every taggable AWS resource carries the required tags.",
        validate=_validate_required_tags,
        config_schema=PolicyConfigSchema(
            properties={
                "requiredTags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_REQUIRED_TAGS,
                    "description": "Tag keys every taggable resource must have, with a non-empty value.",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="cloudwatch-alarm-actions",
        description="CloudWatch alarms notify someone when they fire.",
        validate=_validate_alarm_actions,
    ),
    StackValidationPolicy(
        name="alarms-cover-services",
        description="Every ECS service and load balancer is watched by an alarm wired to an action.",
        validate=_validate_alarm_coverage,
    ),
    StackValidationPolicy(
        name="alarms-reach-someone",
        description="On protected stacks, every topic alarms notify has a subscriber.",
        validate=_validate_alarms_reach_someone,
        config_schema=PolicyConfigSchema(properties={"protectedStacks": PROTECTED_STACKS_PROPERTY}),
    ),
]
