"""StockwizService: one containerised service, from its source directory to running Fargate tasks.

Composed like pulumi-awsx's FargateService: a ServiceImage (components/service_image.py: ECR repository,
image), a ServiceTaskDefinition (components/task_definition.py: task definition, roles, log group), and
here the ECS service itself with its load-balancer attachment and autoscaling. Its security group is a
ServiceSecurityGroup and its ways to other components SecurityPaths (components/security.py), both made
by the top-level wiring, which passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.security import ServiceSecurityGroup
from components.service_image import ServiceImage, ServiceImageArgs
from components.task_definition import (
    SHUTDOWN_TIMEOUT_SECONDS,
    ServiceTaskDefinition,
    SetupContainer,
    TaskDefinitionArgs,
)
from components.tracing import service_environment
from components.urns import SERVICE, legacy_urn, retyped

__all__ = [
    "LoadBalancerAttachment",
    "ServiceArgs",
    "ServicePlatform",
    "SetupContainer",
    "StockwizService",
]


@dataclass(frozen=True)
class LoadBalancerAttachment:
    target_group_arn: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    # The service is created after these, or ECS refuses a target group not yet behind a listener.
    listeners: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class ServicePlatform:
    """What every service of a stack shares: where it runs and how it is sized."""

    stack: str
    region: str
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    namespace_arn: pulumi.Input[str]
    cpu: int
    memory: int
    image_platform: str
    cpu_architecture: str
    desired_count: int
    min_count: int
    max_count: int
    log_retention_days: int
    cpu_target_percent: int = 60
    requests_per_target: int = 500
    # ECR refuses to delete a repository holding images unless told to; only a protected stack keeps them.
    force_delete_images: bool = True
    # The share of new traces recorded (components/tracing.py: an ADOT collector sidecar per task, sending to
    # X-Ray); None runs no collector and leaves tracing off.
    tracing_sample_ratio: float | None = None


@dataclass(frozen=True)
class ServiceArgs:
    platform: ServicePlatform
    # Short role name (gateway, products, inventory): the container name and the Python package run.
    package: str
    # Physical base name, e.g. stockwiz-api-gateway-dev (ECR repository, ECS service, task family, roles).
    physical_name: str
    port: int
    # The service's own group (components/security.py); the wiring opens the paths to and from it.
    security_group: ServiceSecurityGroup
    # Added to HOST, PORT, LOG_LEVEL and SHUTDOWN_TIMEOUT, which every service gets.
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Environment variable -> Secrets Manager valueFrom (an ARN, or ARN:json-key:: for one key).
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The secrets those valueFroms read (IAM needs the bare ARNs).
    secret_arns: Sequence[pulumi.Input[str]] = ()
    # Service Connect: the name other services call this one by (None for a client-only service).
    discovery_name: str | None = None
    # The services this one calls by their Service Connect names: this service's ECS service is created
    # only once every callee's is running (see _service).
    calls: Sequence[StockwizService] = ()
    # What must exist before this service's tasks start: the SecurityPaths to the services it calls.
    wait_for: Sequence[pulumi.Resource] = ()
    # The rds-db dbuser ARN the application may log in as with IAM database authentication: the task
    # role's only permission (rds-db:connect on exactly that user of exactly that instance).
    database_user_arn: pulumi.Input[str] | None = None
    setup: SetupContainer | None = None
    load_balancer: LoadBalancerAttachment | None = None

    @property
    def full_environment(self) -> dict[str, pulumi.Input[str]]:
        return {
            # Inside the task's own network namespace; only the security group decides who reaches it.
            "HOST": "0.0.0.0",
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            "SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT_SECONDS),
            **(
                service_environment(self.platform.stack, self.platform.tracing_sample_ratio)
                if self.platform.tracing_sample_ratio is not None
                else {}
            ),
            **self.environment,
        }


class StockwizService(pulumi.ComponentResource):
    """Image, task definition, ECS service (Service Connect, load balancer) and its autoscaling."""

    repository_url: pulumi.Output[str]
    image_ref: pulumi.Output[str]
    # The ECS service resource (callers and the low-stock schedule wait for it: see ServiceArgs.calls).
    service: aws.ecs.Service
    service_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SERVICE, name, None, pulumi.ResourceOptions.merge(retyped(SERVICE), opts))
        self._name = name
        self._args = args
        self.package = args.package
        self.port = args.port
        platform = args.platform
        child = pulumi.ResourceOptions(parent=self)
        # Their resources were this component's own children before the split (components/urns.py).
        earlier = legacy_urn(SERVICE, name)

        image = ServiceImage(
            name,
            ServiceImageArgs(
                package=args.package,
                repository_name=args.physical_name,
                image_platform=platform.image_platform,
                force_delete_images=platform.force_delete_images,
                moved_from=earlier,
            ),
            opts=child,
        )
        self.repository_url = image.repository_url
        self.image_ref = image.image_ref
        task_definition = ServiceTaskDefinition(
            name,
            TaskDefinitionArgs(
                family=args.physical_name,
                container_name=args.package,
                port=args.port,
                stack=platform.stack,
                region=platform.region,
                cpu=platform.cpu,
                memory=platform.memory,
                cpu_architecture=platform.cpu_architecture,
                log_retention_days=platform.log_retention_days,
                image=image.image_ref,
                repository_arn=image.repository.arn,
                environment=args.full_environment,
                secrets=args.secrets,
                secret_arns=args.secret_arns,
                setup=args.setup,
                database_user_arn=args.database_user_arn,
                tracing=platform.tracing_sample_ratio is not None,
                moved_from=earlier,
            ),
            opts=child,
        )
        self.task_definition_arn = task_definition.arn
        self.log_group_name = task_definition.log_group_name
        self.security_group_id = args.security_group.id
        self.service = self._service(task_definition)
        self.service_name = self.service.name
        if platform.max_count > platform.min_count:
            self._autoscaling(self.service)

        self.register_outputs(
            {
                "repositoryUrl": self.repository_url,
                "image": self.image_ref,
                "serviceName": self.service_name,
                "securityGroupId": self.security_group_id,
                "taskDefinitionArn": self.task_definition_arn,
                "logGroupName": self.log_group_name,
            }
        )

    @property
    def endpoint(self) -> str:
        """The URL callers reach this service at through Service Connect (http://<discovery name>:<port>)."""
        if self._args.discovery_name is None:
            raise ValueError(f"{self._name} has no Service Connect name; nothing can call it")
        return f"http://{self._args.discovery_name}:{self.port}"

    def _service(self, task_definition: ServiceTaskDefinition) -> aws.ecs.Service:
        args = self._args
        service_connect = aws.ecs.ServiceServiceConnectConfigurationArgs(
            enabled=True,
            namespace=args.platform.namespace_arn,
            services=(
                [
                    aws.ecs.ServiceServiceConnectConfigurationServiceArgs(
                        port_name="http",
                        discovery_name=args.discovery_name,
                        client_alias=[
                            aws.ecs.ServiceServiceConnectConfigurationServiceClientAliasArgs(
                                port=args.port, dns_name=args.discovery_name
                            )
                        ],
                    )
                ]
                if args.discovery_name
                else None
            ),
            log_configuration=aws.ecs.ServiceServiceConnectConfigurationLogConfigurationArgs(
                log_driver="awslogs",
                options={
                    "awslogs-group": task_definition.log_group_name,
                    "awslogs-region": args.platform.region,
                    "awslogs-stream-prefix": "service-connect",
                },
            ),
        )
        load_balancers = None
        # Service Connect endpoints resolve only in tasks that start after the endpoint exists (AWS: "Existing
        # tasks can't resolve and connect to the new endpoint"), so a caller's tasks start only once every
        # service it calls is created and steady (wait_for_steady_state). A depends_on on a component waits
        # for all of its children: the callee's ECS service, its task definition, image and autoscaling.
        # Its first requests go out at once, so its paths to them (wait_for) are open before the tasks start.
        depends_on: list[pulumi.Resource] = [*args.calls, *args.wait_for]
        if args.load_balancer is not None:
            load_balancers = [
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=args.load_balancer.target_group_arn,
                    container_name=args.package,
                    container_port=args.port,
                )
            ]
            depends_on += args.load_balancer.listeners
        depends_on += task_definition.role_policies
        return aws.ecs.Service(
            f"{self._name}-service",
            name=args.physical_name,
            cluster=args.platform.cluster_arn,
            task_definition=task_definition.arn,
            desired_count=args.platform.desired_count,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.platform.subnet_ids,
                security_groups=[args.security_group.id],
                assign_public_ip=False,
            ),
            # Named although it is the default: the provider follows a new deployment to its end (below) only
            # for the ECS controller, and the state already reads ECS, so this changes nothing that exists.
            deployment_controller=aws.ecs.ServiceDeploymentControllerArgs(type="ECS"),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=60 if load_balancers else None,
            load_balancers=load_balancers,
            service_connect_configuration=service_connect,
            enable_execute_command=False,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            # The provider waits for the deployment this create or update starts. terraform-provider-aws 6
            # (under pulumi-aws 7) follows it with DescribeServiceDeployments and fails `pulumi up` on
            # ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED or STOPPED, but only when it recognises the PRIMARY
            # deployment as new (created after its own clock's start time) under the ECS controller.
            # Otherwise (a runner clock ahead of AWS's) it falls back to "one deployment, running ==
            # desired", which a circuit-breaker rollback satisfies on the OLD task definition, as older
            # providers always did. So a green `pulumi up` alone does not prove the new version runs:
            # deploy.yml runs tools/rollout_check.py after each `pulumi up` (README: When a deployment fails).
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                # The name stays fixed (operators, workflows and alarms know the service by it), and a Service
                # Connect discovery name can belong to one service only, so two generations could never run
                # side by side anyway: a replacement (only a new cluster or launch type causes one) deletes
                # the old service first.
                delete_before_replace=True,
                # Autoscaling owns the running count once it is enabled; an update must not reset it.
                ignore_changes=["desiredCount"]
                if args.platform.max_count > args.platform.min_count
                else None,
            ),
        )

    def _autoscaling(self, service: aws.ecs.Service) -> None:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        target = aws.appautoscaling.Target(
            f"{self._name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.platform.cluster_name, "/", service.name),
            min_capacity=args.platform.min_count,
            max_capacity=args.platform.max_count,
            opts=child,
        )
        aws.appautoscaling.Policy(
            f"{self._name}-scale-cpu",
            name=f"{args.physical_name}-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ECSServiceAverageCPUUtilization"
                ),
                target_value=float(args.platform.cpu_target_percent),
                scale_out_cooldown=60,
                scale_in_cooldown=300,
            ),
            opts=child,
        )
        if args.load_balancer is not None:
            aws.appautoscaling.Policy(
                f"{self._name}-scale-requests",
                name=f"{args.physical_name}-requests",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="ALBRequestCountPerTarget",
                        resource_label=pulumi.Output.concat(
                            args.load_balancer.alb_arn_suffix, "/", args.load_balancer.target_group_arn_suffix
                        ),
                    ),
                    target_value=float(args.platform.requests_per_target),
                    scale_out_cooldown=60,
                    scale_in_cooldown=300,
                ),
                opts=child,
            )
