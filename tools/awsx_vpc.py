"""What awsx.ec2.Vpc creates for given inputs: subnets, route tables, routes, NAT gateways, internet gateway.

awsx runs its components in its own provider process, so under `pulumi.runtime.set_mocks` only the
component is registered and its children would be invisible to `make policy`. The mocks
(tools/pulumi_mocks.py) register the children this module plans, with the inputs awsx gives them, so the
rules about public subnets, routes and NAT gateways judge them offline as a real preview would.

Modelled on awsx 3.x's documented behaviour (the `awsx.ec2.Vpc` API docs, "Subnet Layout Strategies", and
the NatGatewayStrategy/SubnetType enum docs), checked against its source (awsx/ec2/vpc.ts,
subnetDistributorNew.ts, subnetDistributorLegacy.ts, subnetNaming.ts):

- zones: `availabilityZoneNames`, else the region's first `numberOfAvailabilityZones` (default 3) zones;
- CIDR allocation, "Auto": the VPC block is split evenly between the zones (each zone gets
  prefix + ceil(log2(zones)) bits); inside a zone the subnets are laid out in the order specified, each
  aligned to its own size, so a small subnet followed by a larger one leaves a gap. Without specs, a
  private subnet of half the zone and a public one of a quarter. "Legacy" (awsx's default) is modelled
  only without subnet specs, where it gives the same two subnets; other strategies and Legacy with specs
  fail loudly rather than guess;
- per zone, public subnets first: each subnet gets its own route table and association; public subnets
  map public IPs on launch and route 0.0.0.0/0 to the internet gateway; the first public subnet of a zone
  hosts the zone's NAT gateway (OnePerAz) or, in the first zone only, the VPC's one (Single); private
  subnets route 0.0.0.0/0 to their zone's NAT gateway (OnePerAz) or the single one, and to nothing when the
  strategy is None; isolated subnets get no route;
- an internet gateway always; Elastic IPs only when no allocation ids are handed in, whose count must
  match the strategy;
- names: subnets, their route tables, associations and routes are `<vpc>-<spec name or type>-<zone #>`,
  NAT gateways and awsx's EIPs `<vpc>-<zone #>`, the VPC and internet gateway `<vpc>`; parents: the aws VPC
  under the component, the internet gateway and subnets under the VPC, route tables (and NAT gateways and
  EIPs) under their subnet, routes and associations under their route table.

What only a real preview confirms: the zone names AWS returns for the account (the mocks assume
<region>a, b, c, ...), the ids, and anything awsx changes in a later release.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ROUTE = "aws:ec2/route:Route"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"

_TYPE_ORDER = {"public": 0, "private": 1, "isolated": 2}


class AwsxModelError(ValueError):
    """awsx would refuse these inputs, or they use a feature this model does not cover."""


@dataclass(frozen=True)
class Child:
    """One resource awsx registers: its type, name, parent (None: the awsx component) and inputs."""

    type: str
    name: str
    parent: tuple[str, str] | None
    id: str
    inputs: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.name)


@dataclass(frozen=True)
class SubnetPlan:
    name: str
    type: str  # Public, Private or Isolated
    zone: str
    cidr: str


@dataclass
class VpcPlan:
    children: list[Child] = field(default_factory=list)
    subnets: list[SubnetPlan] = field(default_factory=list)
    layout: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[Child]:
        return [child for child in self.children if child.type == type_token]

    def ids(self, subnet_type: str) -> list[str]:
        names = {s.name for s in self.subnets if s.type == subnet_type}
        return [c.id for c in self.of_type(SUBNET) if c.name in names]


def new_bits(count: int) -> int:
    return 0 if count == 0 else math.ceil(math.log2(count))


def _mask_of(spec: Mapping[str, Any]) -> int | None:
    if spec.get("cidrMask") is not None:
        return int(spec["cidrMask"])
    if spec.get("size") is not None:
        size = int(spec["size"])
        if size < 4 or size & (size - 1):
            raise AwsxModelError(f"subnet size {size} is not a power of two of at least 4")
        return 32 - int(math.log2(size))
    return None


def _next_block(previous: ipaddress.IPv4Network, prefix: int) -> ipaddress.IPv4Network:
    """The first block of `prefix` after `previous`, aligned to its own size (awsx's nextNetmask)."""
    containing = ipaddress.IPv4Network(f"{previous.broadcast_address}/{prefix}", strict=False)
    return ipaddress.IPv4Network(f"{containing.broadcast_address + 1}/{prefix}")


def allocate_auto(
    vpc_cidr: str, zones: Sequence[str], specs: Sequence[Mapping[str, Any]] | None
) -> list[list[tuple[Mapping[str, Any], str]]]:
    """Per zone, (spec, cidr) in spec order: the "Auto" strategy."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    zone_prefix = vpc.prefixlen + new_bits(len(zones))
    if specs is None:
        if zone_prefix > 26:
            raise AwsxModelError(f"automatic subnets need at least a /26 per zone, got /{zone_prefix}")
        base = max(zone_prefix, 16)
        specs = [{"type": "Private", "cidrMask": base + 1}, {"type": "Public", "cidrMask": base + 2}]
    if not specs:
        raise AwsxModelError("No subnets specified")
    default_prefix = zone_prefix + new_bits(len(specs))
    prefixes = [_mask_of(spec) or default_prefix for spec in specs]
    if sum(2 ** (32 - p) for p in prefixes) > 2 ** (32 - zone_prefix):
        raise AwsxModelError("Subnets are too large for VPC")
    zone_blocks = list(vpc.subnets(new_prefix=zone_prefix))
    layout: list[list[tuple[Mapping[str, Any], str]]] = []
    for index in range(len(zones)):
        current: ipaddress.IPv4Network | None = None
        row: list[tuple[Mapping[str, Any], str]] = []
        for spec, prefix in zip(specs, prefixes, strict=True):
            if current is None:
                current = ipaddress.IPv4Network(f"{zone_blocks[index].network_address}/{prefix}")
            else:
                current = _next_block(current, prefix)
            if not current.subnet_of(vpc):
                raise AwsxModelError(f"subnet {current} falls outside the VPC {vpc}")
            row.append((spec, str(current)))
        layout.append(row)
    return layout


def allocate_legacy_default(vpc_cidr: str, zones: Sequence[str]) -> list[list[tuple[Mapping[str, Any], str]]]:
    """Legacy without subnet specs: per zone a private half and a public quarter of the zone's block."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    zone_prefix = vpc.prefixlen + new_bits(len(zones))
    layout: list[list[tuple[Mapping[str, Any], str]]] = []
    for block in list(vpc.subnets(new_prefix=zone_prefix))[: len(zones)]:
        private, rest = block.subnets(prefixlen_diff=1)
        public = next(rest.subnets(prefixlen_diff=1))
        layout.append([({"type": "Private"}, str(private)), ({"type": "Public"}, str(public))])
    return layout


def _id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


def plan_vpc(name: str, inputs: Mapping[str, Any], region: str, scope: str = "") -> VpcPlan:
    """The children awsx.ec2.Vpc `name` registers for `inputs` (camelCase, as the engine sends them)."""
    if inputs.get("availabilityZoneNames") and inputs.get("numberOfAvailabilityZones"):
        raise AwsxModelError(
            "Only one of [availabilityZoneNames] and [numberOfAvailabilityZones] can be specified"
        )
    zones = list(inputs.get("availabilityZoneNames") or [])
    if not zones:
        count = int(inputs.get("numberOfAvailabilityZones") or 3)
        if count > 6:
            raise AwsxModelError(f"the mocked region has 6 zones, not {count}")
        zones = [f"{region}{letter}" for letter in "abcdef"[:count]]
    nat = dict(inputs.get("natGateways") or {})
    strategy = str(nat.get("strategy") or "OnePerAz")
    allocation_ids = list(nat.get("elasticIpAllocationIds") or [])
    _validate_eips(strategy, allocation_ids, zones)
    cidr = str(inputs.get("cidrBlock") or "10.0.0.0/16")
    specs = inputs.get("subnetSpecs")
    subnet_strategy = str(inputs.get("subnetStrategy") or "Legacy")
    if inputs.get("availabilityZoneCidrMask") is not None or inputs.get("ipv4IpamPoolId"):
        raise AwsxModelError("availabilityZoneCidrMask and IPAM pools are not modelled")
    if specs is not None and any(spec.get("cidrBlocks") for spec in specs):
        raise AwsxModelError("explicit cidrBlocks layouts are not modelled")
    if subnet_strategy == "Auto":
        layout = allocate_auto(cidr, zones, specs)
    elif subnet_strategy == "Legacy" and specs is None:
        layout = allocate_legacy_default(cidr, zones)
    else:
        raise AwsxModelError(
            f"subnetStrategy {subnet_strategy!r}{' with subnetSpecs' if specs else ''} is not modelled "
            "(tools/awsx_vpc.py models Auto, and Legacy without specs)"
        )
    types = {str(spec["type"]).lower() for row in layout for spec, _ in row}
    if strategy != "None" and not ("public" in types and types & {"private", "isolated"}):
        raise AwsxModelError(
            "If NAT Gateway strategy is 'OnePerAz' or 'Single', public subnets must be declared to host the "
            "NAT Gateway resource, along with private or isolated subnets to route through it."
        )

    user_tags = dict(inputs.get("tags") or {})
    shared_tags = {"Name": name, **user_tags}
    plan = VpcPlan(
        layout=[
            {
                key: int(spec[key]) if key in ("cidrMask", "size") else spec[key]
                for key in ("type", "name", "cidrMask", "size")
                if spec.get(key) is not None
            }
            for spec in (specs if specs is not None else [spec for spec, _ in layout[0]])
        ]
    )
    # A new CIDR block replaces the VPC (cidr_block is ForceNew) and with it every subnet, route table, route
    # and NAT gateway in it: their AWS ids are new. The internet gateway and the EIPs only move.
    generation = f"{scope}/{cidr}"
    vpc_id = _id("vpc-", generation, name)
    vpc_inputs = {
        key: inputs[key]
        for key in (
            "enableDnsHostnames",
            "enableDnsSupport",
            "instanceTenancy",
            "assignGeneratedIpv6CidrBlock",
        )
        if key in inputs
    }
    plan.children.append(
        Child(VPC, name, None, vpc_id, {**vpc_inputs, "cidrBlock": cidr, "tags": shared_tags})
    )
    igw_id = _id("igw-", scope, name)
    plan.children.append(
        Child(INTERNET_GATEWAY, name, (VPC, name), igw_id, {"vpcId": vpc_id, "tags": shared_tags})
    )
    nat_ids: list[str] = []
    ipv6 = bool(inputs.get("assignGeneratedIpv6CidrBlock") or False)
    for index, zone in enumerate(zones):
        row = sorted(layout[index], key=lambda item: _TYPE_ORDER.get(str(item[0]["type"]).lower(), 3))
        for spec, subnet_cidr in row:
            kind = str(spec["type"]).lower()
            spec_type = kind.capitalize()
            subnet_name = f"{name}-{spec.get('name') or kind}-{index + 1}"
            subnet_id = _id("subnet-", generation, subnet_name)
            plan.subnets.append(SubnetPlan(subnet_name, spec_type, zone, subnet_cidr))
            plan.children.append(
                Child(
                    SUBNET,
                    subnet_name,
                    (VPC, name),
                    subnet_id,
                    {
                        "vpcId": vpc_id,
                        "availabilityZone": zone,
                        "mapPublicIpOnLaunch": kind == "public",
                        "cidrBlock": subnet_cidr,
                        "assignIpv6AddressOnCreation": bool(spec.get("assignIpv6AddressOnCreation", ipv6)),
                        "tags": {
                            **shared_tags,
                            **dict(spec.get("tags") or {}),
                            "Name": subnet_name,
                            "SubnetType": spec_type,
                        },
                    },
                )
            )
            table_id = _id("rtb-", generation, subnet_name)
            plan.children.append(
                Child(
                    ROUTE_TABLE,
                    subnet_name,
                    (SUBNET, subnet_name),
                    table_id,
                    {"vpcId": vpc_id, "tags": {**shared_tags, "Name": subnet_name, "SubnetType": spec_type}},
                )
            )
            plan.children.append(
                Child(
                    ROUTE_TABLE_ASSOCIATION,
                    subnet_name,
                    (ROUTE_TABLE, subnet_name),
                    _id("rtbassoc-", generation, subnet_name),
                    {"routeTableId": table_id, "subnetId": subnet_id},
                )
            )
            if kind == "public" and _should_create_nat(strategy, len(nat_ids), index):
                allocation = (
                    allocation_ids[index] if allocation_ids else _id("eipalloc-", scope, name, str(index))
                )
                if not allocation_ids:
                    plan.children.append(
                        Child(
                            EIP,
                            f"{name}-{index + 1}",
                            (SUBNET, subnet_name),
                            allocation,
                            {"tags": {**user_tags, "Name": f"{name}-{index + 1}"}},
                        )
                    )
                nat_id = _id("nat-", generation, name, str(index))
                nat_ids.append(nat_id)
                plan.children.append(
                    Child(
                        NAT_GATEWAY,
                        f"{name}-{index + 1}",
                        (SUBNET, subnet_name),
                        nat_id,
                        {
                            "subnetId": subnet_id,
                            "allocationId": allocation,
                            "tags": {**user_tags, "Name": f"{name}-{index + 1}"},
                        },
                    )
                )
            route: dict[str, Any] | None = None
            if kind == "public":
                route = {"gatewayId": igw_id}
            elif kind == "private" and strategy != "None":
                route = {"natGatewayId": nat_ids[0] if strategy == "Single" else nat_ids[index]}
            if route is not None:
                plan.children.append(
                    Child(
                        ROUTE,
                        subnet_name,
                        (ROUTE_TABLE, subnet_name),
                        _id("r-", generation, subnet_name),
                        {"routeTableId": table_id, **route, "destinationCidrBlock": "0.0.0.0/0"},
                    )
                )
    return plan


def _validate_eips(strategy: str, allocation_ids: Sequence[Any], zones: Sequence[str]) -> None:
    if strategy == "None" and allocation_ids:
        raise AwsxModelError(
            "Elastic IP allocation IDs cannot be specified when NAT Gateway strategy is 'None'."
        )
    if strategy == "Single" and len(allocation_ids) > 1:
        raise AwsxModelError("Exactly one Elastic IP may be specified when NAT Gateway strategy is 'Single'.")
    if strategy == "OnePerAz" and allocation_ids and len(allocation_ids) != len(zones):
        raise AwsxModelError(
            f"The number of Elastic IPs, if specified, must match the number of availability zones for the "
            f"VPC ({len(zones)}) when NAT Gateway strategy is 'OnePerAz'"
        )
    if strategy not in ("None", "Single", "OnePerAz"):
        raise AwsxModelError(f"Unknown NatGatewayStrategy '{strategy}'")


def _should_create_nat(strategy: str, existing: int, zone_index: int) -> bool:
    if strategy == "Single":
        return existing < 1
    if strategy == "OnePerAz":
        return existing < zone_index + 1
    return False
