"""Security groups and the load balancer: what the internet can reach, and how."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._props import (
    as_bool,
    as_int,
    as_mapping,
    as_str,
    config_value,
    is_world_cidr,
    iter_mappings,
    known,
    references,
    string_values,
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")

DEFAULT_PUBLIC_PORTS = [80, 443]
ALL_PROTOCOLS = ("-1", "all")

# TLS 1.2+ policies with forward secrecy only: the TLS 1.3 families (including post-quantum and FIPS
# variants) and FS-1-2-Res. The "Ext" variants are excluded because they re-admit CBC ciphers.
DEFAULT_SSL_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
]


@dataclass(frozen=True)
class Ingress:
    """One ingress permission, whichever of the three AWS resource shapes declared it."""

    protocol: str
    from_port: int | None
    to_port: int | None
    world_sources: tuple[str, ...]

    @property
    def all_protocols(self) -> bool:
        return self.protocol.lower() in ALL_PROTOCOLS

    @property
    def all_ports(self) -> bool:
        if self.all_protocols:
            return True
        if self.protocol.lower() not in ("tcp", "udp", "6", "17"):
            return False
        low = self.from_port if self.from_port is not None else 0
        high = self.to_port if self.to_port is not None else 65535
        return low <= 1 and high >= 65535

    def ports(self) -> str:
        if self.all_protocols:
            return "all protocols and ports"
        if self.from_port == self.to_port:
            return f"{self.protocol}/{self.from_port}"
        return f"{self.protocol}/{self.from_port}-{self.to_port}"


def _world(values: Any) -> tuple[str, ...]:
    return tuple(cidr for cidr in string_values(values) if is_world_cidr(cidr))


def _protocol(value: Any) -> str:
    # Numbers arrive as floats through the protobuf Struct; "-1" may arrive as -1.0.
    number = as_int(value)
    if number is not None:
        return str(number)
    return str(value) if value is not None else "-1"


def strict(props: Mapping[str, Any], key: str) -> Any:
    """Read a property, letting an unknown value raise so the SDK reports "can't run during preview"."""
    return props.get(key)


def ingress_of(
    resource_type: str, props: Mapping[str, Any], read: Callable[[Mapping[str, Any], str], Any] = strict
) -> Iterator[Ingress]:
    """The ingress permissions a resource declares (none for other resource types)."""
    if resource_type == SECURITY_GROUP:
        for rule in iter_mappings(read(props, "ingress")):
            yield Ingress(
                _protocol(read(rule, "protocol")),
                as_int(read(rule, "fromPort")),
                as_int(read(rule, "toPort")),
                _world(read(rule, "cidrBlocks")) + _world(read(rule, "ipv6CidrBlocks")),
            )
    elif resource_type == SECURITY_GROUP_RULE:
        if read(props, "type") == "ingress":
            yield Ingress(
                _protocol(read(props, "protocol")),
                as_int(read(props, "fromPort")),
                as_int(read(props, "toPort")),
                _world(read(props, "cidrBlocks")) + _world(read(props, "ipv6CidrBlocks")),
            )
    elif resource_type == INGRESS_RULE:
        yield Ingress(
            _protocol(read(props, "ipProtocol")),
            as_int(read(props, "fromPort")),
            as_int(read(props, "toPort")),
            _world(read(props, "cidrIpv4")) + _world(read(props, "cidrIpv6")),
        )


def _public_ports(config: Mapping[str, Any]) -> set[int]:
    return {int(port) for port in config_value(config, "publicPorts", DEFAULT_PUBLIC_PORTS)}


def _validate_public_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = _public_ports(args.get_config())
    for ingress in ingress_of(args.resource_type, args.props):
        if not ingress.world_sources:
            continue
        single_allowed_port = (
            ingress.protocol.lower() in ("tcp", "6")
            and ingress.from_port is not None
            and ingress.from_port == ingress.to_port
            and ingress.from_port in allowed
        )
        if not single_allowed_port:
            report(
                f"Ingress {ingress.ports()} is open to {', '.join(ingress.world_sources)}. Only the load "
                f"balancer may accept traffic from anywhere, and only on TCP ports "
                f"{sorted(allowed)}; admit other traffic from a security group or a narrow CIDR instead.",
                None,
            )


def _validate_all_ports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for ingress in ingress_of(args.resource_type, args.props):
        if ingress.all_ports:
            report(
                f"An ingress rule admits {ingress.ports()} (protocol {ingress.protocol!r}, ports "
                f"{ingress.from_port}-{ingress.to_port}). Allow one protocol and the exact port the "
                "service listens on.",
                None,
            )


def _owning_group(rule: PolicyResource, groups: list[PolicyResource]) -> PolicyResource | None:
    if rule.resource_type == SECURITY_GROUP:
        return rule
    for group in groups:
        if references(rule, "securityGroupId", group, ("id",)):
            return group
    return None


def _validate_public_groups_on_load_balancer(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = [r for r in args.resources if r.resource_type == SECURITY_GROUP]
    balancers = [r for r in args.resources if r.resource_type in LOAD_BALANCERS]
    for resource in args.resources:
        if not any(
            ingress.world_sources for ingress in ingress_of(resource.resource_type, resource.props, known)
        ):
            continue
        group = _owning_group(resource, groups)
        if group is not None and any(references(lb, "securityGroups", group, ("id",)) for lb in balancers):
            continue
        target = group.name if group is not None else "its security group"
        report(
            f"{resource.name} opens ingress to the internet, but {target} is not attached to a load "
            "balancer. Tasks, databases and functions must only be reachable through the load balancer: "
            "admit them from the load balancer's security group instead.",
            resource.urn,
        )


def _validate_drop_invalid_headers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LOAD_BALANCERS:
        return
    lb_type = args.props.get("loadBalancerType") or "application"
    if lb_type != "application":
        args.not_applicable("only Application Load Balancers parse HTTP headers")
    if as_bool(args.props.get("dropInvalidHeaderFields")) is not True:
        report(
            "The load balancer forwards HTTP headers with invalid names, which back ends may interpret "
            "differently (request smuggling). Set dropInvalidHeaderFields=True.",
            None,
        )


def _validate_tls_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LISTENERS:
        return
    protocol = as_str(args.props.get("protocol")) or ""
    if protocol.upper() not in ("HTTPS", "TLS"):
        return
    allowed = list(config_value(args.get_config(), "allowedSslPolicies", DEFAULT_SSL_POLICIES))
    policy = as_str(args.props.get("sslPolicy"))
    if policy is None:
        report(
            "The HTTPS listener sets no sslPolicy, so AWS applies ELBSecurityPolicy-2016-08 (TLS 1.0 "
            f"and CBC ciphers). Set sslPolicy to one of: {', '.join(allowed)}.",
            None,
        )
    elif policy not in allowed:
        report(f"sslPolicy {policy!r} is not a modern TLS policy. Use one of: {', '.join(allowed)}.", None)


def _redirects_to_https(action: Mapping[str, Any]) -> bool:
    if known(action, "type") != "redirect":
        return False
    redirect = as_mapping(known(action, "redirect"))
    return str(known(redirect, "protocol") or "").upper() == "HTTPS"


def _validate_http_redirects(args: StackValidationArgs, report: ReportViolation) -> None:
    listeners = [r for r in args.resources if r.resource_type in LISTENERS]
    secure = [
        r
        for r in listeners
        if str(known(r.props, "protocol") or "").upper() == "HTTPS" or known(r.props, "certificateArn")
    ]
    balancers = [r for r in args.resources if r.resource_type in LOAD_BALANCERS]

    def balancer_of(listener: PolicyResource) -> str | None:
        for lb in balancers:
            if references(listener, "loadBalancerArn", lb, ("arn", "id")):
                return lb.urn
        return None

    if not secure:
        return
    # A certificate on a balancer's HTTPS listener is what makes plain HTTP on that balancer a downgrade.
    # A listener whose balancer cannot be resolved is checked, never waved through.
    secured_balancers = {balancer_of(listener) for listener in secure}
    for listener in listeners:
        if str(known(listener.props, "protocol") or "").upper() != "HTTP":
            continue
        balancer = balancer_of(listener)
        if balancer is not None and None not in secured_balancers and balancer not in secured_balancers:
            continue
        actions = list(iter_mappings(known(listener.props, "defaultActions")))
        if not actions or not all(_redirects_to_https(action) for action in actions):
            report(
                f"HTTP listener {listener.name} serves content although the load balancer has an HTTPS "
                "listener. Its default action must be a redirect to HTTPS (type 'redirect', protocol "
                "'HTTPS', port '443', statusCode 'HTTP_301').",
                listener.urn,
            )
        for rule in args.resources:
            if rule.resource_type not in LISTENER_RULES or not references(
                rule, "listenerArn", listener, ("arn", "id")
            ):
                continue
            rule_actions = list(iter_mappings(known(rule.props, "actions")))
            if not all(_redirects_to_https(action) for action in rule_actions):
                report(
                    f"Listener rule {rule.name} on HTTP listener {listener.name} serves content over plain "
                    "HTTP. Attach the rule to the HTTPS listener instead.",
                    rule.urn,
                )


_PORTS_SCHEMA = PolicyConfigSchema(
    properties={
        "publicPorts": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 65535},
            "default": DEFAULT_PUBLIC_PORTS,
            "description": "TCP ports the load balancer may expose to 0.0.0.0/0 and ::/0.",
        }
    }
)

POLICIES = [
    ResourceValidationPolicy(
        name="security-group-no-public-ingress",
        description="Security groups admit traffic from anywhere only on the load balancer's HTTP(S) ports.",
        validate=_validate_public_ingress,
        config_schema=_PORTS_SCHEMA,
    ),
    StackValidationPolicy(
        name="security-group-public-only-on-load-balancer",
        description="A security group open to the internet belongs to a load balancer.",
        validate=_validate_public_groups_on_load_balancer,
    ),
    ResourceValidationPolicy(
        name="security-group-no-all-ports-ingress",
        description="Security groups never admit all protocols or all ports.",
        validate=_validate_all_ports,
    ),
    ResourceValidationPolicy(
        name="lb-drop-invalid-headers",
        description="Application Load Balancers drop HTTP headers with invalid names.",
        validate=_validate_drop_invalid_headers,
    ),
    ResourceValidationPolicy(
        name="lb-https-modern-tls",
        description="HTTPS listeners use a modern TLS security policy.",
        validate=_validate_tls_policy,
        config_schema=PolicyConfigSchema(
            properties={
                "allowedSslPolicies": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "default": DEFAULT_SSL_POLICIES,
                    "description": "ELB security policies an HTTPS listener may use.",
                }
            }
        ),
    ),
    StackValidationPolicy(
        name="lb-http-redirects-to-https",
        description="When a load balancer has an HTTPS listener, its HTTP listeners only redirect to HTTPS.",
        validate=_validate_http_redirects,
    ),
]
