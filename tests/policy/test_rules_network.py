"""Security groups and the load balancer. Each negative test breaks one thing in the golden stack and
expects exactly the rules that guard it."""

from __future__ import annotations

import pytest

from tests.policy.conftest import Check
from tests.policy.golden import LB_ARN, PROJECT_TAGS, Stack, rules


def test_the_golden_stack_is_compliant(check: Check, stack: Stack) -> None:
    # The positive case of every rule at once: a realistic StockWiz stack passes them all.
    assert check(stack) == []


def test_the_golden_stack_is_compliant_in_prod_too(check: Check, stack: Stack) -> None:
    assert check(stack, stack_name="prod") == []


def world_ssh(**extra: object) -> dict[str, object]:
    return {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"], **extra}


def test_ssh_from_the_internet_on_a_task_group_is_caught(check: Check, stack: Stack) -> None:
    stack.inputs("gateway-sg")["ingress"].append(world_ssh())
    violations = check(stack)
    assert rules(violations) == {
        "security-group-no-public-ingress",
        "security-group-public-only-on-load-balancer",
    }
    message = next(v.message for v in violations if v.policy == "security-group-no-public-ingress")
    assert "tcp/22" in message and "0.0.0.0/0" in message


def test_a_non_web_port_from_the_internet_is_caught_even_on_the_load_balancer(
    check: Check, stack: Stack
) -> None:
    stack.inputs("alb-sg")["ingress"].append(
        {"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "ipv6CidrBlocks": ["::/0"]}
    )
    assert rules(check(stack)) == {"security-group-no-public-ingress"}


def test_a_port_range_including_443_is_not_a_web_port(check: Check, stack: Stack) -> None:
    stack.inputs("alb-sg")["ingress"][0].update(fromPort=443, toPort=444)
    assert rules(check(stack)) == {"security-group-no-public-ingress"}


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "0.0.0.0/00"])
def test_every_spelling_of_anywhere_counts(check: Check, stack: Stack, cidr: str) -> None:
    stack.add(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "db-from-anywhere",
        {
            "securityGroupId": "sg-db",
            "cidrIpv6" if ":" in cidr else "cidrIpv4": cidr,
            "ipProtocol": "tcp",
            "fromPort": 5432,
            "toPort": 5432,
            "tags": PROJECT_TAGS,
        },
    )
    violations = check(stack)
    assert rules(violations) == {
        "security-group-no-public-ingress",
        "security-group-public-only-on-load-balancer",
    }
    assert {v.resource for v in violations} == {"db-from-anywhere"}


def test_https_from_anywhere_is_still_refused_on_a_group_no_load_balancer_uses(
    check: Check, stack: Stack
) -> None:
    stack.add(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "gateway-https-from-anywhere",
        {
            "type": "ingress",
            "securityGroupId": "sg-gateway",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": ["0.0.0.0/0"],
        },
    )
    violations = check(stack)
    assert rules(violations) == {"security-group-public-only-on-load-balancer"}
    assert "gateway-sg is not attached to a load balancer" in violations[0].message


def test_a_separate_rule_on_the_load_balancer_group_may_open_https(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "alb-https-v6",
        {
            "type": "ingress",
            "securityGroupId": "sg-alb",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "ipv6CidrBlocks": ["::/0"],
        },
    )
    assert check(stack) == []


def test_egress_to_anywhere_is_not_ingress(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "gateway-egress",
        {"type": "egress", "securityGroupId": "sg-gateway", "protocol": "-1", "fromPort": 0, "toPort": 0,
         "cidrBlocks": ["0.0.0.0/0"]},
    )  # fmt: skip
    assert check(stack) == []


@pytest.mark.parametrize(
    "rule",
    [
        {"protocol": "-1", "fromPort": 0, "toPort": 0},
        {"protocol": "all", "fromPort": 0, "toPort": 0},
        {"protocol": "tcp", "fromPort": 0, "toPort": 65535},
        {"protocol": "udp", "fromPort": 1, "toPort": 65535},
    ],
    ids=["-1", "all", "tcp-all-ports", "udp-all-ports"],
)
def test_all_protocols_or_all_ports_ingress_is_caught_whatever_the_source(
    check: Check, stack: Stack, rule: dict[str, object]
) -> None:
    stack.inputs("gateway-sg")["ingress"].append({**rule, "securityGroups": ["sg-alb"]})
    assert rules(check(stack)) == {"security-group-no-all-ports-ingress"}


def test_all_ports_on_a_standalone_ingress_rule_is_caught(check: Check, stack: Stack) -> None:
    stack.set("db-from-gateway", ipProtocol="-1")
    stack.drop("db-from-gateway", "fromPort", "toPort")
    assert rules(check(stack)) == {"security-group-no-all-ports-ingress"}


def test_load_balancer_must_drop_invalid_headers(check: Check, stack: Stack) -> None:
    stack.set("alb", dropInvalidHeaderFields=False)
    violations = check(stack)
    assert rules(violations) == {"lb-drop-invalid-headers"}
    assert "dropInvalidHeaderFields=True" in violations[0].message


def test_the_default_of_keeping_invalid_headers_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("alb", "dropInvalidHeaderFields")
    assert rules(check(stack)) == {"lb-drop-invalid-headers"}


def test_network_load_balancers_have_no_headers_to_drop(check: Check, stack: Stack) -> None:
    stack.set("alb", loadBalancerType="network", dropInvalidHeaderFields=False)
    assert check(stack) == []


@pytest.mark.parametrize("policy", ["ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06"])
def test_https_listener_with_an_old_tls_policy_is_caught(check: Check, stack: Stack, policy: str) -> None:
    stack.set("https", sslPolicy=policy)
    violations = check(stack)
    assert rules(violations) == {"lb-https-modern-tls"}
    assert policy in violations[0].message


def test_https_listener_without_a_tls_policy_is_caught(check: Check, stack: Stack) -> None:
    stack.drop("https", "sslPolicy")
    violations = check(stack)
    assert rules(violations) == {"lb-https-modern-tls"}
    assert "ELBSecurityPolicy-2016-08" in violations[0].message


def test_the_allowed_tls_policies_are_configurable(check: Check, stack: Stack) -> None:
    stack.set("https", sslPolicy="ELBSecurityPolicy-FS-1-2-Res-2020-10")
    assert check(stack) == []
    only_tls13 = {"lb-https-modern-tls": {"allowedSslPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}}
    assert rules(check(stack, config=only_tls13)) == {"lb-https-modern-tls"}


def test_http_listener_that_serves_content_next_to_https_is_caught(check: Check, stack: Stack) -> None:
    stack.set("http", defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}])
    violations = check(stack)
    # A forwarding listener also forwards /metrics (test_rule_internal_paths.py).
    assert rules(violations) == {"lb-http-redirects-to-https", "lb-internal-paths-not-public"}
    assert {v.resource for v in violations} == {"http"}


def test_http_redirect_to_http_is_not_a_redirect_to_https(check: Check, stack: Stack) -> None:
    stack.inputs("http")["defaultActions"][0]["redirect"]["protocol"] = "HTTP"
    assert rules(check(stack)) == {"lb-http-redirects-to-https"}


def test_listener_rule_forwarding_on_the_http_listener_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:lb/listenerRule:ListenerRule",
        "api-over-http",
        {
            "listenerArn": LB_ARN + "/listener-http",
            "priority": 10,
            "actions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
            "conditions": [{"pathPattern": {"values": ["/api/*"]}}],
            "tags": PROJECT_TAGS,
        },
    )
    violations = check(stack)
    assert rules(violations) == {"lb-http-redirects-to-https"}
    assert violations[0].resource == "api-over-http"


def test_without_a_certificate_plain_http_may_serve(check: Check, stack: Stack) -> None:
    # dev has no certificate: its only listener is HTTP and forwards.
    stack.drop("https")
    stack.set("http", defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}])
    stack.set("internal-paths", listenerArn=LB_ARN + "/listener-http")  # /metrics gets its 404 there now
    assert check(stack) == []


def test_http_on_another_balancer_without_https_is_not_judged_by_this_one(check: Check, stack: Stack) -> None:
    other_arn = LB_ARN.replace("app/alb", "app/internal")
    stack.add(
        "aws:lb/loadBalancer:LoadBalancer",
        "internal-alb",
        {
            "securityGroups": ["sg-gateway"],
            "dropInvalidHeaderFields": True,
            "internal": True,
            "tags": PROJECT_TAGS,
        },
        {"arn": other_arn, "arnSuffix": "app/internal/1"},
    )
    stack.add(
        "aws:lb/listener:Listener",
        "internal-http",
        {
            "loadBalancerArn": other_arn,
            "protocol": "HTTP",
            "port": 80,
            "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg2"}],
            "tags": PROJECT_TAGS,
        },
    )
    stack.add(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "internal-alarm",
        {
            "dimensions": {"LoadBalancer": "app/internal/1"},
            "alarmActions": ["arn:topic"],
            "tags": PROJECT_TAGS,
        },
    )
    assert check(stack) == []
