"""Security groups, subnets, routes and the load balancer: what the internet can reach, and how."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    PROTECTED_STACKS_PROPERTY,
    as_bool,
    as_int,
    as_mapping,
    as_str,
    config_value,
    is_world_cidr,
    iter_mappings,
    known,
    protected_stack,
    references,
    string_values,
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
ECS_SERVICE = "aws:ecs/service:Service"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
RDS_INSTANCE = "aws:rds/instance:Instance"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"

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

# ---------------------------------------------------------------------------------------------------------
# every CIDR a security group admits, for the rules that look at more than the whole world


@dataclass(frozen=True)
class CidrIngress:
    """One ingress permission with its CIDR sources, and the resource that declared it."""

    resource: PolicyResource
    protocol: str
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...]

    def covers(self, protocol: str, port: int | None) -> bool:
        if self.protocol.lower() in ALL_PROTOCOLS:
            return True
        if self.protocol.lower() != protocol.lower():
            return False
        low = self.from_port if self.from_port is not None else 0
        high = self.to_port if self.to_port is not None else 65535
        return port is None or low <= port <= high


def cidr_ingress(resource: PolicyResource) -> Iterator[CidrIngress]:
    props = resource.props
    if resource.resource_type == SECURITY_GROUP:
        for rule in iter_mappings(known(props, "ingress")):
            yield CidrIngress(
                resource,
                _protocol(known(rule, "protocol")),
                as_int(known(rule, "fromPort")),
                as_int(known(rule, "toPort")),
                tuple(
                    string_values(known(rule, "cidrBlocks")) + string_values(known(rule, "ipv6CidrBlocks"))
                ),
            )
    elif resource.resource_type == SECURITY_GROUP_RULE and known(props, "type") == "ingress":
        yield CidrIngress(
            resource,
            _protocol(known(props, "protocol")),
            as_int(known(props, "fromPort")),
            as_int(known(props, "toPort")),
            tuple(string_values(known(props, "cidrBlocks")) + string_values(known(props, "ipv6CidrBlocks"))),
        )
    elif resource.resource_type == INGRESS_RULE:
        yield CidrIngress(
            resource,
            _protocol(known(props, "ipProtocol")),
            as_int(known(props, "fromPort")),
            as_int(known(props, "toPort")),
            tuple(string_values(known(props, "cidrIpv4")) + string_values(known(props, "cidrIpv6"))),
        )


def _networks(cidrs: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    return out


def _ingress_by_group(args: StackValidationArgs) -> dict[str, tuple[PolicyResource, list[CidrIngress]]]:
    groups = [r for r in args.resources if r.resource_type == SECURITY_GROUP]
    found: dict[str, tuple[PolicyResource, list[CidrIngress]]] = {}
    for resource in args.resources:
        for ingress in cidr_ingress(resource):
            group = _owning_group(resource, groups)
            if group is None:
                continue
            found.setdefault(group.urn, (group, []))[1].append(ingress)
    return found


def _validate_split_world(args: StackValidationArgs, report: ReportViolation) -> None:
    for group, permissions in _ingress_by_group(args).values():
        points = {
            (p.protocol, p.from_port) for p in permissions if p.protocol.lower() not in ALL_PROTOCOLS
        } or {("-1", None)}
        for protocol, port in sorted(points, key=str):
            covering = [p for p in permissions if p.covers(protocol, port)]
            for version, world in ((4, "0.0.0.0/0"), (6, "::/0")):
                networks = [n for p in covering for n in _networks(p.cidrs) if n.version == version]
                if any(n.prefixlen == 0 for n in networks):
                    continue  # the plain world: the other ingress rules judge it
                collapsed = list(ipaddress.collapse_addresses(networks))  # type: ignore[type-var]
                if collapsed and collapsed[0].prefixlen == 0:
                    shown = sorted({str(n) for n in networks}, key=lambda cidr: ipaddress.ip_network(cidr))
                    parts = shown[:6] + ([f"{len(shown) - 6} more"] if len(shown) > 6 else [])
                    report(
                        f"Security group {group.name} admits {world} on {protocol}/{port} in pieces "
                        f"({', '.join(parts)}): together they are the whole internet, hidden from the rules "
                        "and reviewers that look for it. Admit the load balancer's security group, or a "
                        "narrow CIDR, instead.",
                        group.urn,
                    )
                    break


def _private_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    shared = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT space, private in practice
    return network.is_private or (network.version == 4 and network.subnet_of(shared))  # type: ignore[arg-type]


def _validate_ingress_by_group(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed = set(config_value(args.get_config(), "allowedCidrs", []))
    balancers = [r for r in args.resources if r.resource_type in LOAD_BALANCERS]
    for group, permissions in _ingress_by_group(args).values():
        if any(references(lb, "securityGroups", group, ("id",)) for lb in balancers):
            continue  # the load balancer's allow-list of client networks is configuration, not a caller
        for permission in permissions:
            ranges = [
                str(n)
                for n in _networks(permission.cidrs)
                if n.prefixlen > 0 and _private_network(n) and str(n) not in allowed
            ]
            if ranges:
                report(
                    f"{permission.resource.name} admits {', '.join(ranges)} into security group "
                    f"{group.name}: "
                    "every address of that range reaches it, including tasks and functions that have no "
                    "business there. Admit the caller's security group (referencedSecurityGroupId) instead.",
                    permission.resource.urn,
                )


def _lb_internet_facing(lb: PolicyResource) -> bool:
    return (
        as_bool(known(lb.props, "internal")) is not True
        and (known(lb.props, "loadBalancerType") or "application") == "application"
    )


def _validate_https_required(args: StackValidationArgs, report: ReportViolation) -> None:
    stack, protected = protected_stack(args.get_config())
    if not protected:
        return
    listeners = [r for r in args.resources if r.resource_type in LISTENERS]
    for lb in args.resources:
        if lb.resource_type not in LOAD_BALANCERS or not _lb_internet_facing(lb):
            continue
        own = [
            listener for listener in listeners if references(listener, "loadBalancerArn", lb, ("arn", "id"))
        ]
        if not any(str(known(listener.props, "protocol") or "").upper() == "HTTPS" for listener in own):
            report(
                f"Stack {stack!r} serves load balancer {lb.name} over plain HTTP only: tokens and data cross "
                "the internet in clear text. Set stockwiz:certificateArn and stockwiz:domainName so it "
                "gets an "
                "HTTPS listener and HTTP only redirects.",
                lb.urn,
            )


# ---------------------------------------------------------------------------------------------------------
# subnets and routes


@dataclass(frozen=True)
class SubnetRoute:
    subnet: PolicyResource
    zone: str
    public: bool
    nat: PolicyResource | None


def _default_route_targets(table: PolicyResource, args: StackValidationArgs) -> list[Mapping[str, Any]]:
    """The targets of a route table's default routes (0.0.0.0/0, ::/0): inline and separate."""
    targets = [
        route
        for route in iter_mappings(known(table.props, "routes"))
        if is_world_cidr(known(route, "cidrBlock")) or is_world_cidr(known(route, "ipv6CidrBlock"))
    ]
    for route in args.resources:
        if route.resource_type != ROUTE or not references(route, "routeTableId", table, ("id",)):
            continue
        if is_world_cidr(known(route.props, "destinationCidrBlock")) or is_world_cidr(
            known(route.props, "destinationIpv6CidrBlock")
        ):
            targets.append(route.props)
    return targets


def subnet_routes(args: StackValidationArgs) -> dict[str, SubnetRoute]:
    """Every subnet of the stack by id: its zone, whether it is public, the NAT gateway it leaves through."""
    by_type: dict[str, list[PolicyResource]] = {}
    for resource in args.resources:
        by_type.setdefault(resource.resource_type, []).append(resource)
    gateways = by_type.get(INTERNET_GATEWAY, [])
    nats = by_type.get(NAT_GATEWAY, [])
    out: dict[str, SubnetRoute] = {}
    for subnet in by_type.get(SUBNET, []):
        subnet_id = as_str(known(subnet.props, "id"))
        if subnet_id is None:
            continue
        tables = [
            table
            for association in by_type.get(ROUTE_TABLE_ASSOCIATION, [])
            if references(association, "subnetId", subnet, ("id",))
            for table in by_type.get(ROUTE_TABLE, [])
            if references(association, "routeTableId", table, ("id",))
        ]
        targets = [target for table in tables for target in _default_route_targets(table, args)]
        to_internet = any(
            str(known(target, "gatewayId") or "").startswith("igw-")
            or any(as_str(known(target, "gatewayId")) == known(g.props, "id") for g in gateways)
            for target in targets
        )
        nat = next(
            (
                gateway
                for target in targets
                for gateway in nats
                if known(target, "natGatewayId")
                and known(target, "natGatewayId") == known(gateway.props, "id")
            ),
            None,
        )
        out[subnet_id] = SubnetRoute(
            subnet,
            str(known(subnet.props, "availabilityZone") or "?"),
            to_internet or as_bool(known(subnet.props, "mapPublicIpOnLaunch")) is True,
            nat,
        )
    return out


def _workload_subnets(args: StackValidationArgs) -> Iterator[tuple[PolicyResource, str, list[str]]]:
    groups = [r for r in args.resources if r.resource_type == DB_SUBNET_GROUP]
    for resource in args.resources:
        if resource.resource_type == ECS_SERVICE:
            network = as_mapping(known(resource.props, "networkConfiguration"))
            yield resource, "ECS service", string_values(known(network, "subnets"))
        elif resource.resource_type == LAMBDA_FUNCTION:
            vpc = as_mapping(known(resource.props, "vpcConfig"))
            yield resource, "Lambda function", string_values(known(vpc, "subnetIds"))
        elif resource.resource_type == RDS_INSTANCE:
            for group in groups:
                if references(resource, "dbSubnetGroupName", group, ("name", "id")):
                    yield resource, "Database", string_values(known(group.props, "subnetIds"))


def _validate_private_subnets(args: StackValidationArgs, report: ReportViolation) -> None:
    subnets = subnet_routes(args)
    for workload, what, ids in _workload_subnets(args):
        public = [subnets[i].subnet.name for i in ids if i in subnets and subnets[i].public]
        if public:
            report(
                f"{what} {workload.name} runs in public subnets ({', '.join(sorted(public))}), whose route "
                "table sends traffic straight to the internet gateway. Place it in the private subnets "
                "(StockwizNetwork.private_subnet_ids), which reach the internet only through NAT.",
                workload.urn,
            )


def _validate_nat_per_zone(args: StackValidationArgs, report: ReportViolation) -> None:
    stack, protected = protected_stack(args.get_config())
    if not protected:
        return
    subnets = subnet_routes(args)
    nat_zones = {}
    for route in subnets.values():
        if route.nat is not None:
            nat_subnet = subnets.get(str(known(route.nat.props, "subnetId")))
            nat_zones[route.nat.urn] = nat_subnet.zone if nat_subnet else "?"
    for route in subnets.values():
        if route.nat is None or route.public:
            continue
        zone = nat_zones.get(route.nat.urn, "?")
        if zone != route.zone:
            report(
                f"Private subnet {route.subnet.name} ({route.zone}) reaches the internet through NAT gateway "
                f"{route.nat.name} in {zone}: if that zone fails, tasks in {route.zone} can no longer pull "
                f"images or read secrets. Set stockwiz:natGatewayStrategy to OnePerAz on stack {stack!r}.",
                route.subnet.urn,
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
    StackValidationPolicy(
        name="security-group-no-split-world",
        description="No security group admits the whole internet in pieces (0.0.0.0/1 + 128.0.0.0/1, ::/1 "
        "halves).",
        validate=_validate_split_world,
    ),
    StackValidationPolicy(
        name="security-group-ingress-by-group",
        description="Security groups other than the load balancer's admit callers by security group, not by "
        "private address range.",
        validate=_validate_ingress_by_group,
        config_schema=PolicyConfigSchema(
            properties={
                "allowedCidrs": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Private CIDRs reviewed and allowed as sources (exact text).",
                }
            }
        ),
    ),
    StackValidationPolicy(
        name="lb-https-required",
        description="Internet-facing load balancers of protected stacks have an HTTPS listener.",
        validate=_validate_https_required,
        config_schema=PolicyConfigSchema(properties={"protectedStacks": PROTECTED_STACKS_PROPERTY}),
    ),
    StackValidationPolicy(
        name="workloads-in-private-subnets",
        description="ECS services, Lambda functions and databases run only in subnets without a route to the "
        "internet gateway.",
        validate=_validate_private_subnets,
    ),
    StackValidationPolicy(
        name="vpc-nat-per-zone",
        description="On protected stacks, each private subnet egresses through a NAT gateway in its own "
        "zone.",
        validate=_validate_nat_per_zone,
        config_schema=PolicyConfigSchema(properties={"protectedStacks": PROTECTED_STACKS_PROPERTY}),
    ),
]
