"""StockwizNetwork: the VPC, the public load balancer and the Service Connect namespace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from components.urns import NETWORK, retyped

# Modern TLS only: TLS 1.3 with TLS 1.2 fallback and forward-secret ciphers (the ALB's recommended policy).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
GATEWAY_PORT = 8000
# The load balancer waits this long for in-flight requests before a task is stopped; it matches the
# services' SHUTDOWN_TIMEOUT so draining and graceful shutdown cover the same window.
DEREGISTRATION_DELAY_SECONDS = 20
# Paths the gateway serves for operators inside the VPC only (Prometheus scrapes the task directly): the
# ALB answers them itself with a 404, before they reach a target. `/metrics` shows traffic volumes,
# authentication failures and breaker states. The gateway also refuses /metrics on requests that came
# through a proxy (X-Forwarded-For), which covers spellings the ALB does not decode (/%6Detrics).
INTERNAL_PATHS = ("/metrics", "/metrics/*")
NOT_FOUND_BODY = '{"type":"about:blank","title":"Not Found","status":404}'


@dataclass(frozen=True)
class NetworkArgs:
    stack: str
    vpc_cidr: str
    availability_zone_count: int
    nat_gateway_strategy: str  # "Single" or "OnePerAz"
    allowed_ingress_cidrs: Sequence[str]
    ingress_is_restricted: bool
    certificate_arn: str | None = None
    domain_name: str | None = None
    hosted_zone_id: str | None = None
    deletion_protection: bool = False
    idle_timeout_seconds: int = 60


class StockwizNetwork(pulumi.ComponentResource):
    """Public and private subnets across the zones, NAT, the ALB with its listeners and target group.

    Nothing but the ALB lives in the public subnets. The ALB admits 80/443 from the allowed CIDRs only; when
    those are restricted the NAT gateways' addresses are admitted too, because the low-stock Lambda runs in
    the private subnets and calls the public URL through them.
    """

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    nat_public_ips: list[pulumi.Output[str]]
    alb_security_group_id: pulumi.Output[str]
    lambda_security_group_id: pulumi.Output[str]
    alb_arn_suffix: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    url: pulumi.Output[str]
    namespace_arn: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    listeners: list[aws.lb.Listener]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(NETWORK, name, None, pulumi.ResourceOptions.merge(retyped(NETWORK), opts))
        child = pulumi.ResourceOptions(parent=self)
        stack = args.stack
        self.vpc_cidr = args.vpc_cidr

        # The EIPs are ours rather than awsx's so their addresses are plain outputs the ALB rules can use,
        # and so they survive a rebuilt VPC (allow-lists elsewhere may name them).
        nat_count = 1 if args.nat_gateway_strategy == "Single" else args.availability_zone_count
        eips = [
            aws.ec2.Eip(
                f"{name}-nat-{index + 1}",
                domain="vpc",
                tags={"Name": f"stockwiz-nat-{stack}-{index + 1}"},
                opts=child,
            )
            for index in range(nat_count)
        ]
        self.nat_public_ips = [eip.public_ip for eip in eips]

        # Per zone: a private /20 for tasks and database, a public /22 for the ALB and NAT (from a /16).
        prefix = int(args.vpc_cidr.split("/")[1])
        vpc = awsx.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            number_of_availability_zones=args.availability_zone_count,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
            subnet_specs=[
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC, cidr_mask=prefix + 6, name="public"),
                awsx.ec2.SubnetSpecArgs(
                    type=awsx.ec2.SubnetType.PRIVATE, cidr_mask=prefix + 4, name="private"
                ),
            ],
            nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(
                strategy=awsx.ec2.NatGatewayStrategy(args.nat_gateway_strategy),
                elastic_ip_allocation_ids=[eip.allocation_id for eip in eips],
            ),
            tags={"Name": f"stockwiz-{stack}"},
            opts=child,
        )
        self.vpc_id = vpc.vpc_id
        self.public_subnet_ids = vpc.public_subnet_ids.apply(list)
        self.private_subnet_ids = vpc.private_subnet_ids.apply(list)

        self.alb_security_group_id = self._alb_security_group(name, args, child)
        self.lambda_security_group_id = self._lambda_security_group(name, stack, child)

        # A fixed name, replaced delete-first: a target group can belong to one load balancer only, so a
        # second ALB could never take over the live target group while the old one still forwards to it.
        # Nothing the configuration changes replaces it (only its name, scheme or type would).
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=f"stockwiz-{stack}",
            load_balancer_type="application",
            internal=False,
            subnets=self.public_subnet_ids,
            security_groups=[self.alb_security_group_id],
            # Requests with malformed headers never reach the gateway (request smuggling defence).
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            idle_timeout=args.idle_timeout_seconds,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        # Auto-named (network-gateway-tg-<7 hex>, within the 32 characters AWS allows): a change of VPC,
        # port or protocol replaces the target group, and the new one is created before the old is gone.
        target_group = aws.lb.TargetGroup(
            f"{name}-gateway-tg",
            target_type="ip",  # Fargate tasks register by IP (awsvpc networking)
            port=GATEWAY_PORT,
            protocol="HTTP",
            vpc_id=self.vpc_id,
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path="/livez",
                port="traffic-port",
                protocol="HTTP",
                matcher="200",
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            opts=child,
        )
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)]
        listeners: list[aws.lb.Listener] = []
        if args.certificate_arn:
            listeners.append(
                aws.lb.Listener(
                    f"{name}-https",
                    load_balancer_arn=alb.arn,
                    port=443,
                    protocol="HTTPS",
                    ssl_policy=TLS_POLICY,
                    certificate_arn=args.certificate_arn,
                    default_actions=forward,
                    opts=child,
                )
            )
            http_actions = [
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ]
        else:
            http_actions = forward
        listeners.append(
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=http_actions,
                opts=child,
            )
        )
        # The listener that forwards to the gateway (HTTPS, or HTTP when there is no certificate; it is the
        # first) answers the internal paths itself. The HTTP listener that only redirects sends them to HTTPS.
        internal_paths = aws.lb.ListenerRule(
            f"{name}-internal-paths",
            listener_arn=listeners[0].arn,
            priority=1,
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(INTERNAL_PATHS))
                )
            ],
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                        content_type="application/json", status_code="404", message_body=NOT_FOUND_BODY
                    ),
                )
            ],
            opts=child,
        )
        self.listeners = listeners
        # Everything `url` needs before it answers (the services behind it aside): the listeners, and the DNS
        # name when the stack has one.
        self.url_resources: list[pulumi.Resource] = [*listeners, internal_paths]

        if args.hosted_zone_id and args.domain_name:
            record = aws.route53.Record(
                f"{name}-dns",
                zone_id=args.hosted_zone_id,
                name=args.domain_name,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True
                    )
                ],
                opts=child,
            )
            self.url_resources.append(record)

        # Service Connect names (products, inventory) live in this Cloud Map namespace; HTTP-only, so no
        # private hosted zone is created.
        namespace = aws.servicediscovery.HttpNamespace(
            f"{name}-namespace",
            name=f"stockwiz-{stack}",
            description=f"StockWiz {stack} internal service names (ECS Service Connect)",
            opts=child,
        )

        self.alb_arn_suffix = alb.arn_suffix
        self.alb_dns_name = alb.dns_name
        self.target_group_arn = target_group.arn
        self.target_group_arn_suffix = target_group.arn_suffix
        self.namespace_arn = namespace.arn
        self.namespace_name = namespace.name
        if args.certificate_arn and args.domain_name:
            self.url = pulumi.Output.from_input(f"https://{args.domain_name}")
        else:
            self.url = alb.dns_name.apply(lambda dns: f"http://{dns}")

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "natPublicIps": self.nat_public_ips,
                "albSecurityGroupId": self.alb_security_group_id,
                "lambdaSecurityGroupId": self.lambda_security_group_id,
                "albDnsName": self.alb_dns_name,
                "targetGroupArn": self.target_group_arn,
                "namespaceArn": self.namespace_arn,
                "url": self.url,
            }
        )

    def _alb_security_group(
        self, name: str, args: NetworkArgs, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        group = aws.ec2.SecurityGroup(
            f"{name}-alb-sg",
            # name_prefix: AWS adds a unique suffix, so a replacement (new VPC, new description) never
            # collides with the group it replaces (security group names are unique per VPC).
            name_prefix=f"stockwiz-alb-{args.stack}-",
            description="StockWiz load balancer: HTTP(S) from the allowed networks",
            vpc_id=self.vpc_id,
            # Rules are separate resources (one per source); none inline, so the egress default is gone too.
            opts=child,
        )
        ports = [80, 443] if args.certificate_arn else [80]
        sources: list[tuple[str, pulumi.Input[str]]] = [(cidr, cidr) for cidr in args.allowed_ingress_cidrs]
        if args.ingress_is_restricted:
            sources += [
                (f"nat-{index + 1}", ip.apply(lambda address: f"{address}/32"))
                for index, ip in enumerate(self.nat_public_ips)
            ]
        for label, cidr in sources:
            for port in ports:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-in-{port}-{_label(label)}",
                    security_group_id=group.id,
                    description=f"HTTP{'S' if port == 443 else ''} from {label}",
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                    opts=child,
                )
        return group.id

    def _lambda_security_group(
        self, name: str, stack: str, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """For the low-stock Lambda: no inbound; outbound HTTP(S) only (the public URL, SNS, CloudWatch)."""
        group = aws.ec2.SecurityGroup(
            f"{name}-lambda-sg",
            name_prefix=f"stockwiz-lowstock-{stack}-",
            description="StockWiz low-stock Lambda: outbound HTTP(S) only",
            vpc_id=self.vpc_id,
            opts=child,
        )
        for port in (80, 443):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-lambda-out-{port}",
                security_group_id=group.id,
                description=f"HTTP{'S' if port == 443 else ''} to the load balancer and AWS APIs via NAT",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4="0.0.0.0/0",
                opts=child,
            )
        return group.id


def _label(text: str) -> str:
    """A CIDR or label as a resource-name fragment (10.0.0.0/8 -> 10-0-0-0-8)."""
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")
