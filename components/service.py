"""StockwizService: one containerised service, from its source directory to running Fargate tasks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.image_tag import content_tag, image_tag
from components.tracing import COLLECTOR_NAME, XRAY_WRITE_ACTIONS, collector_container, service_environment

# The Docker build context: every service image is built from apps/ with apps/<package>/Dockerfile, whose
# apps/<package>/Dockerfile.dockerignore narrows the context to what that Dockerfile copies.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILD_CONTEXT = "apps"
IMAGE_BUILDER = docker.BuilderVersion.BUILDER_BUILD_KIT
IMAGE_BUILD_ON_PREVIEW = False
# Must stay above the services' SHUTDOWN_TIMEOUT (20 s) so ECS never kills a task that is still draining.
STOP_TIMEOUT_SECONDS = 30
SHUTDOWN_TIMEOUT_SECONDS = 20
APP_UID = 10001
HEALTHCHECK_COMMAND = ["CMD", "python", "-m", "stockwiz_runtime.healthcheck"]


@dataclass(frozen=True)
class IngressSource:
    """A security group allowed to reach the service's port; its matching egress rule is created too."""

    label: str
    security_group_id: pulumi.Input[str]


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
    # Added to HOST, PORT, LOG_LEVEL and SHUTDOWN_TIMEOUT, which every service gets.
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Environment variable -> Secrets Manager valueFrom (an ARN, or ARN:json-key:: for one key).
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The secrets those valueFroms read (IAM needs the bare ARNs).
    secret_arns: Sequence[pulumi.Input[str]] = ()
    ingress: Sequence[IngressSource] = ()
    # Service Connect: the name other services call this one by (None for a client-only service).
    discovery_name: str | None = None
    # The services this one calls by their Service Connect names. Each callee's port is opened to this
    # service, and this service's ECS service is created only once every callee's is running (see _service).
    calls: Sequence[StockwizService] = ()
    database_security_group_id: pulumi.Input[str] | None = None
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


def _open_path(
    ingress_name: str,
    egress_name: str,
    *,
    target: tuple[str, pulumi.Input[str], int],
    source: tuple[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
    old_names: tuple[str, str] | None = None,
) -> list[pulumi.Resource]:
    """Admit `source` (label, security group) to `target` (label, security group, port): the target's ingress
    rule and the source's matching egress rule, so callers need no blanket egress. `old_names` are the
    rules' earlier logical names: aliased, so a stack that has them updates them instead of replacing them
    (a create-before-delete replacement of an identical rule fails as a duplicate)."""
    target_label, target_group, port = target
    source_label, source_group = source
    ingress_opts, egress_opts = opts, opts
    if old_names is not None:
        ingress_opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=old_names[0])])
        )
        egress_opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=old_names[1])])
        )
    ingress = aws.vpc.SecurityGroupIngressRule(
        ingress_name,
        security_group_id=target_group,
        description=f"{target_label} port from {source_label}",
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=source_group,
        opts=ingress_opts,
    )
    egress = aws.vpc.SecurityGroupEgressRule(
        egress_name,
        security_group_id=source_group,
        description=f"{source_label} to {target_label}",
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=target_group,
        opts=egress_opts,
    )
    return [ingress, egress]


class StockwizService(pulumi.ComponentResource):
    """ECR repository, image, log group, roles, task definition, security group, ECS service, autoscaling."""

    repository_url: pulumi.Output[str]
    image_ref: pulumi.Output[str]
    # The ECS service resource (callers and the low-stock schedule wait for it: see ServiceArgs.calls).
    service: aws.ecs.Service
    service_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stockwiz:index:StockwizService", name, None, opts)
        self._name = name
        self._args = args
        self.package = args.package
        self.port = args.port
        # The security group rules that open this service's way to the services it calls (_security_group).
        self._paths_to_callees: list[pulumi.Resource] = []
        child = pulumi.ResourceOptions(parent=self)

        repository = self._repository(child)
        self.repository_url = repository.repository_url
        self.image_ref = self._image(repository)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/stockwiz/{args.platform.stack}/{args.package}",
            retention_in_days=args.platform.log_retention_days,
            opts=child,
        )
        self.log_group_name = log_group.name
        execution_role, task_role = self._roles(repository, log_group, child)
        task_definition = self._task_definition(execution_role, task_role, log_group, child)
        self.task_definition_arn = task_definition.arn
        self.security_group_id = self._security_group(child)
        self.service = self._service(task_definition, log_group)
        self.service_name = self.service.name
        if args.platform.max_count > args.platform.min_count:
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

    # -- image --------------------------------------------------------------------------------------------

    def _repository(self, child: pulumi.ResourceOptions) -> aws.ecr.Repository:
        repository = aws.ecr.Repository(
            f"{self._name}-repo",
            name=self._args.physical_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            force_delete=self._args.platform.force_delete_images,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{self._name}-repo-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "Drop untagged layers of superseded builds after a day",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": 1,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": "Keep the 30 most recent builds (rollbacks need a few)",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": 30,
                            },
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=child,
        )
        return repository

    def _image(self, repository: aws.ecr.Repository) -> pulumi.Output[str]:
        args = self._args
        dockerfile = f"{BUILD_CONTEXT}/{args.package}/Dockerfile"
        # Every input of the image but its name and registry, as the provider receives them: the tag hashes
        # exactly these (and the provider's context digest), so it changes whenever the provider would
        # rebuild and push (components/image_tag.py).
        build_inputs = {
            "context": BUILD_CONTEXT,
            "dockerfile": dockerfile,
            "platform": args.platform.image_platform,
            "builderVersion": IMAGE_BUILDER.value,
        }
        content = content_tag(
            PROJECT_ROOT,
            {"build": build_inputs, "buildOnPreview": IMAGE_BUILD_ON_PREVIEW, "skipPush": False},
        )
        tag = image_tag(content, self._pushed_tags())
        credentials = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        image = docker.Image(
            f"{self._name}-image",
            image_name=repository.repository_url.apply(lambda url: f"{url}:{tag}"),
            build=docker.DockerBuildArgs(
                context=build_inputs["context"],
                dockerfile=build_inputs["dockerfile"],
                platform=build_inputs["platform"],
                builder_version=IMAGE_BUILDER,
            ),
            registry=docker.RegistryArgs(
                server=repository.repository_url,
                username=credentials.user_name,
                password=pulumi.Output.secret(credentials.password),
            ),
            # Preview neither builds nor pushes; `pulumi up` builds, pushes and records the digest.
            build_on_preview=IMAGE_BUILD_ON_PREVIEW,
            skip_push=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # By digest, so a task always runs exactly the bytes that were built and scanned.
        return image.repo_digest

    def _pushed_tags(self) -> list[str]:
        """The tags this service's ECR repository holds (none before its first deployment).

        Read at program time, in preview and in `pulumi up` alike, because they decide the image's name;
        the repository's name is fixed, so it can be looked up before `pulumi up` creates anything.
        """
        invoke = pulumi.InvokeOptions(parent=self)
        name = self._args.physical_name
        if name not in aws.ecr.get_repositories(opts=invoke).names:
            return []
        images = aws.ecr.get_images(repository_name=name, opts=invoke).image_ids
        return [image.image_tag for image in images if image.image_tag]

    # -- identity -----------------------------------------------------------------------------------------

    def _roles(
        self,
        repository: aws.ecr.Repository,
        log_group: aws.cloudwatch.LogGroup,
        child: pulumi.ResourceOptions,
    ) -> tuple[aws.iam.Role, aws.iam.Role]:
        args = self._args
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        trust = _assume_role_policy(identity.account_id, args.platform.region)
        execution_role = aws.iam.Role(
            f"{self._name}-execution-role",
            name=f"{args.physical_name}-execution",
            description=f"ECS agent for {args.physical_name}: pull the image, write logs, read its secrets",
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
                            "Resource": repository.arn,
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
        # ECS uses the roles as soon as the service starts a task: the service waits for their policies.
        self._role_policies: list[pulumi.Resource] = [execution_policy]
        # The application calls no AWS API; a database client only signs IAM login tokens for its own
        # database user, and the tracing collector sends segments to X-Ray. Nothing else.
        tracing = args.platform.tracing_sample_ratio is not None
        allowed = [
            *(["log in to its database user"] if args.database_user_arn else []),
            *(["send traces to X-Ray"] if tracing else []),
        ]
        task_role = aws.iam.Role(
            f"{self._name}-task-role",
            name=f"{args.physical_name}-task",
            description=(
                f"Application role of {args.physical_name}: "
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
            self._role_policies.append(tracing_policy)
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
            self._role_policies.append(task_policy)
        return execution_role, task_role

    # -- task definition ----------------------------------------------------------------------------------

    def _task_definition(
        self,
        execution_role: aws.iam.Role,
        task_role: aws.iam.Role,
        log_group: aws.cloudwatch.LogGroup,
        child: pulumi.ResourceOptions,
    ) -> aws.ecs.TaskDefinition:
        args = self._args
        definitions = pulumi.Output.all(
            image=self.image_ref,
            log_group=log_group.name,
            environment=pulumi.Output.from_input(args.full_environment),
            secrets=pulumi.Output.from_input(dict(args.secrets)),
            setup_environment=pulumi.Output.from_input(dict(args.setup.environment) if args.setup else {}),
            setup_secrets=pulumi.Output.from_input(dict(args.setup.secrets) if args.setup else {}),
        ).apply(
            lambda values: json.dumps(
                container_definitions(
                    name=args.package,
                    image=values["image"],
                    port=args.port,
                    region=args.platform.region,
                    log_group=values["log_group"],
                    environment=values["environment"],
                    secrets=values["secrets"],
                    setup=args.setup,
                    setup_environment=values["setup_environment"],
                    setup_secrets=values["setup_secrets"],
                    tracing=args.platform.tracing_sample_ratio is not None,
                )
            )
        )
        return aws.ecs.TaskDefinition(
            f"{self._name}-task",
            family=args.physical_name,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.platform.cpu),
            memory=str(args.platform.memory),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=args.platform.cpu_architecture
            ),
            # The only writable path of the read-only root filesystem (task ephemeral storage).
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
            container_definitions=definitions,
            opts=child,
        )

    # -- network ------------------------------------------------------------------------------------------

    def _security_group(self, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        args = self._args
        group = aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            # A unique suffix from AWS: the description (which names the port) and the VPC replace the
            # group, and the new one must exist before the service moves to it.
            name_prefix=f"{args.physical_name}-",
            description=f"{args.physical_name}: port {args.port} from its callers only",
            vpc_id=args.platform.vpc_id,
            opts=child,
        )
        for source in args.ingress:
            _open_path(
                f"{self._name}-in-{source.label}",
                f"{self._name}-from-{source.label}",
                target=(args.package, group.id, args.port),
                source=(source.label, source.security_group_id),
                opts=child,
            )
        for callee in args.calls:
            # Declared by the caller, so the callee (and its security group) exists first. The callee used to
            # declare them as <callee>-in-<caller> and <callee>-from-<caller>.
            callee_name = callee.pulumi_resource_name
            self._paths_to_callees += _open_path(
                f"{self._name}-into-{callee_name}",
                f"{self._name}-to-{callee_name}",
                target=(callee.package, callee.security_group_id, callee.port),
                source=(args.package, group.id),
                opts=child,
                old_names=(f"{callee_name}-in-{self._name}", f"{callee_name}-from-{self._name}"),
            )
        # ECR, Secrets Manager, CloudWatch Logs and the Service Connect agent's control plane, via NAT.
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-out-https",
            security_group_id=group.id,
            description="HTTPS to AWS APIs via NAT",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        if args.database_security_group_id is not None:
            aws.vpc.SecurityGroupEgressRule(
                f"{self._name}-out-db",
                security_group_id=group.id,
                description="PostgreSQL to the database",
                ip_protocol="tcp",
                from_port=5432,
                to_port=5432,
                referenced_security_group_id=args.database_security_group_id,
                opts=child,
            )
        return group.id

    # -- service ------------------------------------------------------------------------------------------

    def _service(
        self, task_definition: aws.ecs.TaskDefinition, log_group: aws.cloudwatch.LogGroup
    ) -> aws.ecs.Service:
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
                    "awslogs-group": log_group.name,
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
        # Its first requests go out at once, so the way to each callee is open before the tasks start.
        depends_on: list[pulumi.Resource] = [*args.calls, *self._paths_to_callees]
        if args.load_balancer is not None:
            load_balancers = [
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=args.load_balancer.target_group_arn,
                    container_name=args.package,
                    container_port=args.port,
                )
            ]
            depends_on += args.load_balancer.listeners
        depends_on += self._role_policies
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
                security_groups=[self.security_group_id],
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
