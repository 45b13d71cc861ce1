"""A service's own security group, and the paths between groups of different components.

Every rule that lets one component's group reach another's belongs to one SecurityPath, created in the
top-level wiring (__main__.py) once both groups exist: the target's ingress rule and the source's matching
egress rule, together, so neither component writes rules on a group it does not own and no component
gains rules after it registered its outputs. A service's group is a component of its own, created before
the service, because a caller's tasks must not start before its paths to the services it calls are open
(ServiceArgs.wait_for), and those paths need the caller's group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.urns import SECURITY_GROUP, SECURITY_PATH, moved_from


@dataclass(frozen=True)
class SecurityGroupArgs:
    # Physical base name of the service (e.g. stockwiz-api-gateway-dev): the group's name prefix.
    physical_name: str
    port: int
    vpc_id: pulumi.Input[str]
    # The URN of the component that declared these resources before this one existed (their alias parent).
    moved_from: pulumi.Input[str] | None = None


class ServiceSecurityGroup(pulumi.ComponentResource):
    """A service's group: no inbound rule of its own (SecurityPaths add them), HTTPS out via NAT."""

    id: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecurityGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(SECURITY_GROUP, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, aliases=moved_from(args.moved_from))
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            # A unique suffix from AWS: the description (which names the port) and the VPC replace the
            # group, and the new one must exist before the service moves to it.
            name_prefix=f"{args.physical_name}-",
            description=f"{args.physical_name}: port {args.port} from its callers only",
            vpc_id=args.vpc_id,
            opts=child,
        )
        # ECR, Secrets Manager, CloudWatch Logs and the Service Connect agent's control plane, via NAT.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-out-https",
            security_group_id=group.id,
            description="HTTPS to AWS APIs via NAT",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        self.id = group.id
        self.register_outputs({"securityGroupId": self.id})


@dataclass(frozen=True)
class Rule:
    """One rule of a path: its resource name, its description, and where it was declared before."""

    name: str
    description: str
    # The URN of the component that declared the rule before SecurityPath existed (None: never moved).
    moved_from: pulumi.Input[str] | None = None
    # Earlier resource names of the rule under that component.
    earlier_names: Sequence[str] = ()

    def aliases(self) -> list[pulumi.Input[pulumi.Alias | str]]:
        aliases = moved_from(self.moved_from)
        aliases += [pulumi.Alias(name=name, parent=self.moved_from) for name in self.earlier_names]
        return aliases


@dataclass(frozen=True)
class SecurityPathArgs:
    source_group_id: pulumi.Input[str]
    target_group_id: pulumi.Input[str]
    port: int
    # On the target's group, admitting the source.
    ingress: Rule
    # On the source's group, towards the target (no group has a blanket egress rule).
    egress: Rule


class SecurityPath(pulumi.ComponentResource):
    """TCP `port` from one component's security group to another's: the ingress and the egress rule."""

    def __init__(self, name: str, args: SecurityPathArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SECURITY_PATH, name, None, opts)
        aws.vpc.SecurityGroupIngressRule(
            args.ingress.name,
            security_group_id=args.target_group_id,
            description=args.ingress.description,
            ip_protocol="tcp",
            from_port=args.port,
            to_port=args.port,
            referenced_security_group_id=args.source_group_id,
            opts=pulumi.ResourceOptions(parent=self, aliases=args.ingress.aliases()),
        )
        aws.vpc.SecurityGroupEgressRule(
            args.egress.name,
            security_group_id=args.source_group_id,
            description=args.egress.description,
            ip_protocol="tcp",
            from_port=args.port,
            to_port=args.port,
            referenced_security_group_id=args.target_group_id,
            opts=pulumi.ResourceOptions(parent=self, aliases=args.egress.aliases()),
        )
        self.register_outputs({})
