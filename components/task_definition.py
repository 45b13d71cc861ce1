"""ServiceTaskDefinition: what ECS runs for one service: the task definition, its two roles, its log group.

The container definitions are built by container_definitions() (pure, tested directly): the service's
container, and before it the tracing collector and the one-shot set-up container when there are any.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.tracing import COLLECTOR_NAME, XRAY_WRITE_ACTIONS, collector_container
from components.urns import TASK_DEFINITION, moved_from

# Must stay above the services' SHUTDOWN_TIMEOUT (20 s) so ECS never kills a task that is still draining.
STOP_TIMEOUT_SECONDS = 30
SHUTDOWN_TIMEOUT_SECONDS = 20
APP_UID = 10001
HEALTHCHECK_COMMAND = ["CMD", "python", "-m", "stockwiz_runtime.healthcheck"]


@dataclass(frozen=True)
class SetupContainer:
    """A one-shot container of the same image that each task runs to completion before the service's own
    (ECS dependsOn SUCCESS); the task stops, and the deployment fails, if it does not exit 0. Its secrets
    are injected into it alone."""

    name: str
    command: Sequence[str]
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Environment variable -> Secrets Manager valueFrom, as ServiceArgs.secrets; their ARNs belong in
    # ServiceArgs.secret_arns.
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


def container_definitions(
    *,
    name: str,
    image: str,
    port: int,
    region: str,
    log_group: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    setup: SetupContainer | None = None,
    setup_environment: Mapping[str, str] | None = None,
    setup_secrets: Mapping[str, str] | None = None,
    tracing: bool = False,
) -> list[dict[str, Any]]:
    """The task's container definitions (the RegisterTaskDefinition shape, camelCase): the service's, and
    before it the tracing collector (with `tracing`) and the set-up container when there is one (with its
    environment and secrets resolved)."""
    for plain, secret in ((environment, secrets), (setup_environment or {}, setup_secrets or {})):
        overlap = set(plain) & set(secret)
        if overlap:
            raise ValueError(f"{', '.join(sorted(overlap))} given both as plain environment and as secret")

    def locked_down(container_name: str) -> dict[str, Any]:
        """What every container of the task shares: non-root, read-only root, /tmp, logs."""
        return {
            "user": f"{APP_UID}:{APP_UID}",
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],  # noqa: S108
            "linuxParameters": {"initProcessEnabled": True},
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": container_name,
                    # A slow CloudWatch must not block the application's writes to stdout.
                    "mode": "non-blocking",
                    "max-buffer-size": "25m",
                },
            },
        }

    before: list[dict[str, Any]] = []
    if tracing:
        before.append({**collector_container(region), **locked_down(COLLECTOR_NAME)})
    if setup is not None:
        plain, secret = setup_environment or {}, setup_secrets or {}
        before.append(
            {
                "name": setup.name,
                "image": image,
                # Not essential: it is meant to exit. The service container waits for it to exit 0.
                "essential": False,
                "command": list(setup.command),
                "environment": [{"name": key, "value": plain[key]} for key in sorted(plain)],
                "secrets": [{"name": key, "valueFrom": secret[key]} for key in sorted(secret)],
                **locked_down(setup.name),
            }
        )
    service: dict[str, Any] = {
        "name": name,
        "image": image,
        "essential": True,
        "portMappings": [
            # Named so Service Connect can route to it; appProtocol gives HTTP metrics and retries.
            {
                "name": "http",
                "containerPort": port,
                "hostPort": port,
                "protocol": "tcp",
                "appProtocol": "http",
            }
        ],
        "environment": [{"name": key, "value": environment[key]} for key in sorted(environment)],
        "secrets": [{"name": key, "valueFrom": secrets[key]} for key in sorted(secrets)],
        **locked_down(name),
        "healthCheck": {
            "command": HEALTHCHECK_COMMAND,
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        },
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
    }
    depends_on = []
    if tracing:
        # Started before the service and, in reverse, stopped after it (components/tracing.py).
        depends_on.append({"containerName": COLLECTOR_NAME, "condition": "START"})
    if setup is not None:
        depends_on.append({"containerName": setup.name, "condition": "SUCCESS"})
    if depends_on:
        service["dependsOn"] = depends_on
    return [*before, service]


def _assume_role_policy(account_id: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """ECS tasks may assume the role, but only on behalf of this account's tasks (confused deputy)."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {
                            "aws:SourceArn": pulumi.Output.concat(
                                "arn:aws:ecs:", region, ":", account_id, ":*"
                            )
                        },
                    },
                }
            ],
        }
    )


@dataclass(frozen=True)
class TaskDefinitionArgs:
    # The task family and the base of the roles' names, e.g. stockwiz-api-gateway-dev.
    family: str
    # The service's container name (the Python package it runs, e.g. gateway).
    container_name: str
    port: int
    stack: str
    region: str
    cpu: int
    memory: int
    cpu_architecture: str
    log_retention_days: int
    # The image by digest (ServiceImage.image_ref) and the repository the execution role may pull from.
    image: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    # The container's whole environment (ServiceArgs.full_environment).
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Environment variable -> Secrets Manager valueFrom (an ARN, or ARN:json-key:: for one key).
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The secrets those valueFroms read, the set-up container's included (IAM needs the bare ARNs).
    secret_arns: Sequence[pulumi.Input[str]] = ()
    setup: SetupContainer | None = None
    # The rds-db dbuser ARN the task role may log in as (None: no database).
    database_user_arn: pulumi.Input[str] | None = None
    # Run the ADOT collector sidecar and let the task role send to X-Ray (components/tracing.py).
    tracing: bool = False
    # The URN of the component that declared these resources before this one existed (their alias parent).
    moved_from: pulumi.Input[str] | None = None


class ServiceTaskDefinition(pulumi.ComponentResource):
    """Log group, execution role (pull, log, read secrets), task role (least privilege), task definition."""

    arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    # ECS uses the roles as soon as a task starts: the ECS service waits for these policies.
    role_policies: list[pulumi.Resource]

    def __init__(
        self, name: str, args: TaskDefinitionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TASK_DEFINITION, name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self, aliases=moved_from(args.moved_from))
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/stockwiz/{args.stack}/{args.container_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.log_group_name = log_group.name
        execution_role, task_role = self._roles(log_group, child)
        task_definition = self._task_definition(execution_role, task_role, log_group, child)
        self.arn = task_definition.arn
        self.register_outputs({"taskDefinitionArn": self.arn, "logGroupName": self.log_group_name})

    def _roles(
        self,
        log_group: aws.cloudwatch.LogGroup,
        child: pulumi.ResourceOptions,
    ) -> tuple[aws.iam.Role, aws.iam.Role]:
        args = self._args
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        trust = _assume_role_policy(identity.account_id, args.region)
        execution_role = aws.iam.Role(
            f"{self._name}-execution-role",
            name=f"{args.family}-execution",
            description=f"ECS agent for {args.family}: pull the image, write logs, read its secrets",
            assume_role_policy=trust,
            opts=child,
        )
        execution_policy = aws.iam.RolePolicy(
            f"{self._name}-execution-policy",
            role=execution_role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        # GetAuthorizationToken has no resource-level permissions.
                        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                        {
                            "Effect": "Allow",
                            "Action": [
                                "ecr:BatchCheckLayerAvailability",
                                "ecr:BatchGetImage",
                                "ecr:GetDownloadUrlForLayer",
                            ],
                            "Resource": args.repository_arn,
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": log_group.arn.apply(lambda arn: f"{arn}:log-stream:*"),
                        },
                        {
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": list(args.secret_arns),
                        },
                    ],
                }
            ),
            opts=child,
        )
        self.role_policies = [execution_policy]
        # The application calls no AWS API; a database client only signs IAM login tokens for its own
        # database user, and the tracing collector sends segments to X-Ray. Nothing else.
        tracing = args.tracing
        allowed = [
            *(["log in to its database user"] if args.database_user_arn else []),
            *(["send traces to X-Ray"] if tracing else []),
        ]
        task_role = aws.iam.Role(
            f"{self._name}-task-role",
            name=f"{args.family}-task",
            description=(
                f"Application role of {args.family}: "
                + (" and ".join(allowed) + " only" if allowed else "without permissions")
            ),
            assume_role_policy=trust,
            opts=child,
        )
        if tracing:
            tracing_policy = aws.iam.RolePolicy(
                f"{self._name}-task-tracing-policy",
                role=task_role.id,
                policy=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            # X-Ray's write actions have no resource-level permissions.
                            {"Effect": "Allow", "Action": list(XRAY_WRITE_ACTIONS), "Resource": "*"}
                        ],
                    }
                ),
                opts=child,
            )
            self.role_policies.append(tracing_policy)
        if args.database_user_arn is not None:
            task_policy = aws.iam.RolePolicy(
                f"{self._name}-task-policy",
                role=task_role.id,
                policy=pulumi.Output.json_dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "rds-db:connect",
                                "Resource": args.database_user_arn,
                            }
                        ],
                    }
                ),
                opts=child,
            )
            self.role_policies.append(task_policy)
        return execution_role, task_role

    def _task_definition(
        self,
        execution_role: aws.iam.Role,
        task_role: aws.iam.Role,
        log_group: aws.cloudwatch.LogGroup,
        child: pulumi.ResourceOptions,
    ) -> aws.ecs.TaskDefinition:
        args = self._args
        definitions = pulumi.Output.all(
            image=args.image,
            log_group=log_group.name,
            environment=pulumi.Output.from_input(dict(args.environment)),
            secrets=pulumi.Output.from_input(dict(args.secrets)),
            setup_environment=pulumi.Output.from_input(dict(args.setup.environment) if args.setup else {}),
            setup_secrets=pulumi.Output.from_input(dict(args.setup.secrets) if args.setup else {}),
        ).apply(
            lambda values: json.dumps(
                container_definitions(
                    name=args.container_name,
                    image=values["image"],
                    port=args.port,
                    region=args.region,
                    log_group=values["log_group"],
                    environment=values["environment"],
                    secrets=values["secrets"],
                    setup=args.setup,
                    setup_environment=values["setup_environment"],
                    setup_secrets=values["setup_secrets"],
                    tracing=args.tracing,
                )
            )
        )
        return aws.ecs.TaskDefinition(
            f"{self._name}-task",
            family=args.family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.cpu),
            memory=str(args.memory),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=args.cpu_architecture
            ),
            # The only writable path of the read-only root filesystem (task ephemeral storage).
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
            container_definitions=definitions,
            opts=child,
        )
