"""Operator-only paths (`/metrics` by default) are answered by the internet-facing load balancer itself and
never forwarded to the targets: they stay reachable from inside the VPC only, where Prometheus scrapes the
tasks directly. `/metrics` reveals traffic volumes, authentication failures and circuit-breaker states."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._props import as_bool, as_int, as_mapping, config_value, iter_mappings, known, references, string_values

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
DEFAULT_PATHS = ["/metrics"]


def pattern_matches(pattern: str, path: str) -> bool:
    """ALB path-pattern semantics: case-sensitive, `*` any run of characters, `?` exactly one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


def _matches_every_request_for(rule: PolicyResource, path: str) -> bool:
    """Whether the rule applies to every request for `path`: a path-pattern condition matching it and no
    other condition (a host or header condition would let the rest through)."""
    conditions = list(iter_mappings(known(rule.props, "conditions")))
    if not conditions:
        return False
    for condition in conditions:
        patterns = as_mapping(known(condition, "pathPattern"))
        other = [key for key in condition if key != "pathPattern" and known(condition, key) is not None]
        if not patterns or other:
            return False
        if not any(pattern_matches(value, path) for value in string_values(known(patterns, "values"))):
            return False
    return True


def _refuses(rule: PolicyResource) -> bool:
    """The rule answers by itself with a client error: a fixed 4xx response, nothing forwarded."""
    actions = list(iter_mappings(known(rule.props, "actions")))
    if not actions:
        return False
    for action in actions:
        if known(action, "type") != "fixed-response":
            return False
        status = as_int(known(as_mapping(known(action, "fixedResponse")), "statusCode"))
        if status is None or not 400 <= status <= 499:
            return False
    return True


def _forwards(actions: Any) -> bool:
    return any(known(action, "type") == "forward" for action in iter_mappings(actions))


def _validate(args: StackValidationArgs, report: ReportViolation) -> None:
    paths = list(config_value(args.get_config(), "paths", DEFAULT_PATHS))
    public_balancers = [
        lb
        for lb in args.resources
        if lb.resource_type in LOAD_BALANCERS
        and as_bool(known(lb.props, "internal")) is not True
        and (known(lb.props, "loadBalancerType") or "application") == "application"
    ]
    rules = [r for r in args.resources if r.resource_type in LISTENER_RULES]
    for listener in args.resources:
        if listener.resource_type not in LISTENERS or not _forwards(known(listener.props, "defaultActions")):
            continue
        if not any(references(listener, "loadBalancerArn", lb, ("arn", "id")) for lb in public_balancers):
            continue
        own = [r for r in rules if references(r, "listenerArn", listener, ("arn", "id"))]
        for path in paths:
            _check_path(listener, own, path, report)


def _priority(rule: PolicyResource) -> int | None:
    return as_int(known(rule.props, "priority"))


def _check_path(
    listener: PolicyResource, rules: list[PolicyResource], path: str, report: ReportViolation
) -> None:
    blocking = [r for r in rules if _matches_every_request_for(r, path) and _refuses(r)]
    if not blocking:
        report(
            f"Internet-facing listener {listener.name} forwards {path} to its targets. Add a listener rule "
            f"on it with the condition path-pattern {path!r} and a fixed-response 404 action, so only "
            "clients inside the VPC reach it.",
            listener.urn,
        )
        return
    first = min((p for p in map(_priority, blocking) if p is not None), default=None)
    if first is None:
        return
    for rule in rules:
        priority = _priority(rule)
        if rule in blocking or priority is None or priority >= first:
            continue
        conditions = list(iter_mappings(known(rule.props, "conditions")))
        patterns = [as_mapping(known(c, "pathPattern")) for c in conditions]
        values = [v for p in patterns for v in string_values(known(p, "values"))]
        if (not values or any(pattern_matches(v, path) for v in values)) and _forwards(
            known(rule.props, "actions")
        ):
            report(
                f"Listener rule {rule.name} (priority {priority}) may forward {path} before the rule that "
                f"answers it with 404 (priority {first}). Give the 404 rule the lower priority number.",
                rule.urn,
            )


def _schema() -> Mapping[str, Any]:
    return {
        "paths": {
            "type": "array",
            "items": {"type": "string", "pattern": "^/"},
            "minItems": 1,
            "default": DEFAULT_PATHS,
            "description": "Paths an internet-facing load balancer must answer itself (404), never forward.",
        }
    }


POLICIES = [
    StackValidationPolicy(
        name="lb-internal-paths-not-public",
        description="Internet-facing load balancers answer operator paths (/metrics) with a 404 themselves.",
        validate=_validate,
        config_schema=PolicyConfigSchema(properties=dict(_schema())),
    ),
]
