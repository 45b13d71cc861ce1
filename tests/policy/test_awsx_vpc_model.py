"""The model of what awsx.ec2.Vpc creates (tools/awsx_vpc.py), checked against awsx's own documentation.

Sources: the awsx.ec2.Vpc API docs (basic usage example, "Subnet Layout Strategies"), the
NatGatewayStrategy enum docs, and the layouts awsx's source documents beside its allocator
(defaultSubnetInputs: "Private /19 (10.0.0.0 - 10.0.31.255), Public /20 (10.0.32.0 - 10.0.47.255)").
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_awsx as awsx
import pytest

from tools.awsx_vpc import (
    EIP,
    NAT_GATEWAY,
    ROUTE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
    AwsxModelError,
    VpcPlan,
    plan_vpc,
)
from tools.pulumi_mocks import run_program


def layout(plan: VpcPlan) -> list[tuple[str, str, str]]:
    return [(s.zone, s.type, s.cidr) for s in plan.subnets]


def routes(plan: VpcPlan) -> dict[str, dict[str, Any]]:
    """Subnet name -> its default route's target (gatewayId or natGatewayId), by the child that holds it."""
    by_id = {child.id: child for child in plan.children}
    out = {}
    for route in plan.of_type(ROUTE):
        target = route.inputs.get("gatewayId") or route.inputs["natGatewayId"]
        out[route.name] = {"to": by_id[target].type, "target": by_id[target].name}
    return out


def test_the_basic_usage_example_gives_three_zones_of_private_and_public_subnets_with_a_nat_each() -> None:
    # `new awsx.ec2.Vpc("vpc")`: 10.0.0.0/16, three zones, OnePerAz NAT gateways with their own EIPs, and
    # per zone the documented default layout: a private /19 then a public /20.
    plan = plan_vpc("vpc", {}, "us-east-1")
    assert layout(plan) == [
        ("us-east-1a", "Public", "10.0.32.0/20"),
        ("us-east-1a", "Private", "10.0.0.0/19"),
        ("us-east-1b", "Public", "10.0.96.0/20"),
        ("us-east-1b", "Private", "10.0.64.0/19"),
        ("us-east-1c", "Public", "10.0.160.0/20"),
        ("us-east-1c", "Private", "10.0.128.0/19"),
    ]
    assert [c.name for c in plan.of_type(NAT_GATEWAY)] == ["vpc-1", "vpc-2", "vpc-3"]
    assert len(plan.of_type(EIP)) == 3
    assert routes(plan) == {
        "vpc-public-1": {"to": "aws:ec2/internetGateway:InternetGateway", "target": "vpc"},
        "vpc-private-1": {"to": NAT_GATEWAY, "target": "vpc-1"},
        "vpc-public-2": {"to": "aws:ec2/internetGateway:InternetGateway", "target": "vpc"},
        "vpc-private-2": {"to": NAT_GATEWAY, "target": "vpc-2"},
        "vpc-public-3": {"to": "aws:ec2/internetGateway:InternetGateway", "target": "vpc"},
        "vpc-private-3": {"to": NAT_GATEWAY, "target": "vpc-3"},
    }
    # Each NAT gateway sits in its zone's public subnet; public subnets map public IPs, private ones not.
    subnets = {c.id: c for c in plan.of_type(SUBNET)}
    for nat in plan.of_type(NAT_GATEWAY):
        assert subnets[nat.inputs["subnetId"]].name == f"vpc-public-{nat.name[-1]}"
    assert {c.name: c.inputs["mapPublicIpOnLaunch"] for c in subnets.values()}["vpc-private-1"] is False
    assert len(plan.of_type(ROUTE_TABLE_ASSOCIATION)) == 6


def test_auto_allocates_in_the_order_given_and_leaves_gaps_for_larger_subnets() -> None:
    # Docs, "Auto": subnets in the order specified; "if subnets have different sizes, spaces will be
    # automatically added". StockWiz's layout: a public /22 then a private /20, so the private subnet starts
    # at the next /20 boundary.
    specs = [
        {"type": "Public", "cidrMask": 22, "name": "public"},
        {"type": "Private", "cidrMask": 20, "name": "private"},
    ]
    plan = plan_vpc(
        "net",
        {
            "cidrBlock": "10.20.0.0/16",
            "numberOfAvailabilityZones": 3,
            "subnetStrategy": "Auto",
            "subnetSpecs": specs,
        },
        "eu-west-1",
    )
    assert layout(plan) == [
        ("eu-west-1a", "Public", "10.20.0.0/22"),
        ("eu-west-1a", "Private", "10.20.16.0/20"),
        ("eu-west-1b", "Public", "10.20.64.0/22"),
        ("eu-west-1b", "Private", "10.20.80.0/20"),
        ("eu-west-1c", "Public", "10.20.128.0/22"),
        ("eu-west-1c", "Private", "10.20.144.0/20"),
    ]
    assert plan.layout == specs


def test_auto_with_the_specific_layout_example_sizes() -> None:
    # awsx's "specific-vpc-layout" example sizes (private /21, public /24) under Auto: the public subnet
    # follows the private one directly.
    specs = [{"type": "Private", "cidrMask": 21}, {"type": "Public", "cidrMask": 24}]
    plan = plan_vpc("vpc", {"subnetStrategy": "Auto", "subnetSpecs": specs}, "us-west-2")
    assert layout(plan)[:2] == [
        ("us-west-2a", "Public", "10.0.8.0/24"),
        ("us-west-2a", "Private", "10.0.0.0/21"),
    ]


@pytest.mark.parametrize("zone_mask", [16, 18, 20, 24])
def test_auto_without_specs_gives_a_private_half_and_a_public_quarter_of_each_zone(zone_mask: int) -> None:
    # awsx's own allocator test: "/%i AZ creates single private & public with staggered sizes".
    plan = plan_vpc(
        "v",
        {"cidrBlock": f"10.0.0.0/{zone_mask}", "availabilityZoneNames": ["z1"], "subnetStrategy": "Auto"},
        "r",
    )
    masks = {s.type: int(s.cidr.split("/")[1]) for s in plan.subnets}
    assert masks == {"Private": zone_mask + 1, "Public": zone_mask + 2}


def test_single_nat_serves_every_private_subnet_from_the_first_zone() -> None:
    # NatGatewayStrategy.SINGLE: "a single NAT Gateway for the entire VPC ... a single point of failure".
    plan = plan_vpc("vpc", {"natGateways": {"strategy": "Single"}}, "eu-west-1")
    assert [c.name for c in plan.of_type(NAT_GATEWAY)] == ["vpc-1"]
    targets = {name: r["target"] for name, r in routes(plan).items() if name.startswith("vpc-private")}
    assert targets == {"vpc-private-1": "vpc-1", "vpc-private-2": "vpc-1", "vpc-private-3": "vpc-1"}


def test_no_nat_leaves_private_subnets_without_a_route() -> None:
    # NatGatewayStrategy.NONE: "Resources in private subnets will not be able to access the internet."
    plan = plan_vpc("vpc", {"natGateways": {"strategy": "None"}}, "eu-west-1")
    assert plan.of_type(NAT_GATEWAY) == []
    assert sorted(routes(plan)) == ["vpc-public-1", "vpc-public-2", "vpc-public-3"]


def test_handed_in_eips_are_used_and_none_created() -> None:
    plan = plan_vpc(
        "vpc",
        {
            "numberOfAvailabilityZones": 2,
            "natGateways": {"strategy": "OnePerAz", "elasticIpAllocationIds": ["eipalloc-a", "eipalloc-b"]},
        },
        "eu-west-1",
    )
    assert plan.of_type(EIP) == []
    assert [c.inputs["allocationId"] for c in plan.of_type(NAT_GATEWAY)] == ["eipalloc-a", "eipalloc-b"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"natGateways": {"strategy": "Single", "elasticIpAllocationIds": ["a", "b"]}},
            "Exactly one Elastic IP",
        ),
        ({"natGateways": {"strategy": "OnePerAz", "elasticIpAllocationIds": ["a"]}}, "must match the number"),
        ({"subnetStrategy": "Auto", "subnetSpecs": [{"type": "Private"}]}, "public subnets must be declared"),
        ({"subnetSpecs": [{"type": "Private", "cidrMask": 20}]}, "not modelled"),
        ({"subnetStrategy": "Exact"}, "not modelled"),
    ],
)
def test_what_awsx_refuses_or_the_model_does_not_cover_fails_loudly(
    inputs: dict[str, Any], message: str
) -> None:
    with pytest.raises(AwsxModelError, match=message):
        plan_vpc("vpc", inputs, "eu-west-1")


def test_the_mocks_register_the_children_under_their_awsx_parents() -> None:
    def program() -> None:
        vpc = awsx.ec2.Vpc("vpc", number_of_availability_zones=2)
        pulumi.export("private", vpc.private_subnet_ids)

    synthesis = run_program("dev", program)
    subnet = synthesis.named(SUBNET, "vpc-private-1")
    assert synthesis.by_urn(str(subnet.parent)).type == "aws:ec2/vpc:Vpc"
    assert subnet.inputs["cidrBlock"] == "10.0.0.0/18"
    route = synthesis.named(ROUTE, "vpc-private-1")
    assert synthesis.by_urn(str(route.parent)).type == "aws:ec2/routeTable:RouteTable"
    assert route.inputs["natGatewayId"] == synthesis.named(NAT_GATEWAY, "vpc-1").id
    assert synthesis.exports["private"] == [subnet.id, synthesis.named(SUBNET, "vpc-private-2").id]
