"""lb-internal-paths-not-public: an internet-facing load balancer answers /metrics itself. Each negative test
breaks one thing in the golden stack (whose HTTPS listener has the 404 rule) and expects exactly this rule."""

from __future__ import annotations

from typing import Any

import pytest

from policy.stockwiz_policies.internal_paths import pattern_matches
from tests.policy.conftest import Check
from tests.policy.golden import LB_ARN, Stack, rules

RULE = "lb-internal-paths-not-public"


def only_this_rule(check: Check, stack: Stack, **options: Any) -> set[str]:
    violations = check(stack, **options)
    assert rules(violations) <= {RULE}, violations
    return {v.resource for v in violations}


def test_the_golden_stack_answers_metrics_itself(check: Check, stack: Stack) -> None:
    assert check(stack) == []


def test_no_rule_means_metrics_is_public(check: Check, stack: Stack) -> None:
    stack.drop("internal-paths")
    violations = check(stack)
    assert rules(violations) == {RULE} and {v.resource for v in violations} == {"https"}
    assert "/metrics" in violations[0].message and "fixed-response 404" in violations[0].message


def test_a_rule_that_forwards_does_not_count(check: Check, stack: Stack) -> None:
    stack.set("internal-paths", actions=[{"type": "forward", "targetGroupArn": "arn:tg"}])
    assert only_this_rule(check, stack) == {"https"}


def test_a_rule_that_answers_200_does_not_count(check: Check, stack: Stack) -> None:
    stack.inputs("internal-paths")["actions"][0]["fixedResponse"]["statusCode"] = "200"
    assert only_this_rule(check, stack) == {"https"}


@pytest.mark.parametrize("values", [["/metrics/*"], ["/Metrics"], ["/api/*"]])
def test_a_pattern_that_misses_metrics_does_not_count(check: Check, stack: Stack, values: list[str]) -> None:
    stack.inputs("internal-paths")["conditions"] = [{"pathPattern": {"values": values}}]
    assert only_this_rule(check, stack) == {"https"}


def test_a_host_condition_leaves_other_hosts_open(check: Check, stack: Stack) -> None:
    stack.inputs("internal-paths")["conditions"].append({"hostHeader": {"values": ["a.example.com"]}})
    assert only_this_rule(check, stack) == {"https"}


def test_a_rule_on_another_listener_does_not_count(check: Check, stack: Stack) -> None:
    stack.set("internal-paths", listenerArn=LB_ARN + "/listener-http")
    violations = check(stack)
    # (and a rule on the redirecting HTTP listener that does not redirect is refused by its own rule)
    assert rules(violations) == {RULE, "lb-http-redirects-to-https"}
    assert {v.resource for v in violations if v.policy == RULE} == {"https"}


def test_a_forwarding_rule_ahead_of_the_404_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:lb/listenerRule:ListenerRule",
        "everything",
        {
            "listenerArn": LB_ARN + "/listener-https",
            "priority": 0,
            "conditions": [{"pathPattern": {"values": ["/*"]}}],
            "actions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
            "tags": stack.inputs("alb")["tags"],
        },
    )
    assert only_this_rule(check, stack) == {"everything"}


def test_an_internal_load_balancer_needs_no_rule(check: Check, stack: Stack) -> None:
    stack.drop("internal-paths").set("alb", internal=True)
    assert RULE not in rules(check(stack))


def test_more_paths_can_be_required_per_stack(check: Check, stack: Stack) -> None:
    config = {RULE: {"paths": ["/metrics", "/debug"]}}
    violations = check(stack, config=config)
    assert rules(violations) == {RULE} and "/debug" in violations[0].message
    stack.inputs("internal-paths")["conditions"][0]["pathPattern"]["values"].append("/debug")
    assert check(stack, config=config) == []


def test_alb_path_patterns() -> None:
    assert pattern_matches("/metrics", "/metrics") and pattern_matches("/metric?", "/metrics")
    assert pattern_matches("/met*", "/metrics") and pattern_matches("*", "/metrics")
    assert not pattern_matches("/metrics/*", "/metrics") and not pattern_matches("/METRICS", "/metrics")
    assert not pattern_matches("/metrics.", "/metrics") and not pattern_matches("/metrics", "/metricsX")
