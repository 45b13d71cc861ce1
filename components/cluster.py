"""StockwizCluster: the ECS cluster all services run in."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.urns import CLUSTER, retyped


@dataclass(frozen=True)
class ClusterArgs:
    stack: str
    namespace_arn: pulumi.Input[str]


class StockwizCluster(pulumi.ComponentResource):
    """The ECS cluster, with Container Insights (task-level CPU, memory and running-task metrics)."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CLUSTER, name, None, pulumi.ResourceOptions.merge(retyped(CLUSTER), opts))
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=f"stockwiz-cluster-{args.stack}",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            # Services join the Service Connect namespace without naming it again.
            service_connect_defaults=aws.ecs.ClusterServiceConnectDefaultsArgs(namespace=args.namespace_arn),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE"],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider="FARGATE", weight=1, base=0
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = cluster.name
        self.arn = cluster.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
