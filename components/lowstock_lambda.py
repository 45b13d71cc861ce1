"""StockwizLambda: the scheduled low-stock alert function, from its source folder to its schedule.

The function (apps/lowstock) reads the gateway's low-stock list with the read-only API token, announces
changes on the alert topic and publishes metrics. Everything it may touch is created here or handed in, and
its role names each of those exact ARNs (the network-interface actions a VPC function needs aside: see
function_policy_document).

It runs in the private subnets with the network's Lambda security group (outbound HTTP(S) only) and reaches
the public URL and the AWS APIs through the NAT gateways, whose addresses the load balancer admits when
ingress is restricted: its calls leave from the stack's own Elastic IPs, which an allow-list can name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.tracing import XRAY_WRITE_ACTIONS
from components.urns import LAMBDA, retyped

SOURCE_DIR = Path(__file__).resolve().parent.parent / "apps" / "lowstock"
HANDLER = "lowstock.handler.handler"
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
# Kept equal to the handler's default and to the monitoring dashboard (tests check both).
METRIC_NAMESPACE = "StockWiz/LowStock"
TIMEOUT_SECONDS = 90
# The state lease outlives the function timeout: a run killed by the timeout can never still be writing
# when its lease is taken over.
LEASE_SECONDS = TIMEOUT_SECONDS + 30
MEMORY_MB = 256
# Async retries (function errors) and scheduler retries (delivery failures): twice, within 15 minutes;
# after that the next scheduled run does the work anyway.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE_SECONDS = 900
DLQ_RETENTION_SECONDS = 14 * 24 * 3600

OTEL_EXEC_WRAPPER = "/opt/otel-instrument"

# What Lambda calls with the function's role to attach it to the VPC (AWS Lambda Developer Guide,
# "Required IAM permissions"; also the EC2 actions of AWSLambdaVPCAccessExecutionRole).
VPC_NETWORK_INTERFACE_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]


@dataclass(frozen=True)
class LambdaArgs:
    stack: str
    # The gateway's public base URL (https://<domainName>, or http://<alb dns> on a stack without HTTPS).
    api_url: pulumi.Input[str]
    # The Secrets Manager secret holding the read-scope API token in plain form.
    api_token_secret_arn: pulumi.Input[str]
    alert_topic_arn: pulumi.Input[str]
    # A recurring EventBridge Scheduler expression, validated with the stack configuration
    # (StackConfig.low_stock_schedule, `stockwiz:lowStockSchedule`).
    schedule_expression: str
    log_retention_days: int
    # The network's private subnets and its Lambda security group (StockwizNetwork.private_subnet_ids,
    # .lambda_security_group_id).
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    # What must answer before the first scheduled run can: the gateway service and the load balancer's
    # listeners (and DNS record) behind api_url. The schedule is created after them, so a first deployment
    # never fills the dead-letter queue with runs against an API that is not there yet.
    schedule_after: Sequence[pulumi.Resource] = ()
    source_dir: Path = SOURCE_DIR
    # The AWS Distro for OpenTelemetry Lambda layer for Python on arm64 in the stack's region
    # (`stockwiz:lambdaOtelLayerArn`): with it, the function's boto3 calls and its calls to the API are
    # spans of the invocation's trace. Without it, X-Ray still records each invocation (active tracing).
    otel_layer_arn: str | None = None


def code_archive(source_dir: Path) -> pulumi.AssetArchive:
    """The package as the runtime imports it (`lowstock/...`): its modules only, no caches or tests."""
    modules = sorted(path for path in source_dir.glob("*.py") if path.is_file())
    if not any(path.name == "handler.py" for path in modules):
        raise FileNotFoundError(f"no handler.py in {source_dir}")
    return pulumi.AssetArchive(
        {f"{source_dir.name}/{path.name}": pulumi.FileAsset(str(path)) for path in modules}
    )


class StockwizLambda(pulumi.ComponentResource):
    """Log group, state parameters, dead-letter queue, two least-privilege roles, function, schedule."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    schedule_name: pulumi.Output[str]
    dead_letter_queue_arn: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]
    state_parameter_name: pulumi.Output[str]

    def __init__(self, name: str, args: LambdaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(LAMBDA, name, None, pulumi.ResourceOptions.merge(retyped(LAMBDA), opts))
        child = pulumi.ResourceOptions(parent=self)
        physical = f"stockwiz-lowstock-{args.stack}"

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{physical}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )

        # The function rewrites these values on every change; Pulumi only creates them.
        keep_value = pulumi.ResourceOptions(parent=self, ignore_changes=["insecure_value"])
        state = aws.ssm.Parameter(
            f"{name}-state",
            name=f"/stockwiz/{args.stack}/lowstock/state",
            description="Low-stock records already announced (written by the low-stock function)",
            type="String",
            tier="Standard",
            insecure_value=json.dumps({"schema": 1, "low": []}, separators=(",", ":")),
            opts=keep_value,
        )
        lock = aws.ssm.Parameter(
            f"{name}-lock",
            name=f"/stockwiz/{args.stack}/lowstock/lock",
            description="Lease that serialises low-stock runs (see apps/lowstock/aws.py, SsmStateStore)",
            type="String",
            tier="Standard",
            insecure_value=json.dumps({"holder": None}),
            opts=keep_value,
        )

        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{physical}-dlq",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )

        role = aws.iam.Role(
            f"{name}-role",
            name=physical,
            description=f"Low-stock function of {args.stack}: its logs, state, token, alert topic, metrics",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        function_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=function_policy_document(
                log_group_arn=log_group.arn,
                topic_arn=args.alert_topic_arn,
                secret_arn=args.api_token_secret_arn,
                parameter_arns=[state.arn, lock.arn],
                dead_letter_queue_arn=dlq.arn,
            ),
            opts=child,
        )

        function = aws.lambda_.Function(
            f"{name}-function",
            name=physical,
            description="Announces stock that fell to or recovered from its reorder point (StockWiz)",
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=HANDLER,
            code=code_archive(args.source_dir),
            role=role.arn,
            timeout=TIMEOUT_SECONDS,
            memory_size=MEMORY_MB,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                security_group_ids=[args.security_group_id],
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                # The handler writes JSON lines itself; Text keeps the runtime from wrapping them again.
                log_format="Text",
                log_group=log_group.name,
            ),
            # X-Ray records every invocation (Lambda samples them: the first each second, 5 % of the rest).
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            layers=[args.otel_layer_arn] if args.otel_layer_arn else None,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    # The layer's wrapper sets up OpenTelemetry (botocore and urllib instrumented, spans to
                    # X-Ray through the layer's collector) before the handler is imported.
                    **({"AWS_LAMBDA_EXEC_WRAPPER": OTEL_EXEC_WRAPPER} if args.otel_layer_arn else {}),
                    "STOCKWIZ_API_URL": args.api_url,
                    "API_TOKEN_SECRET_ARN": args.api_token_secret_arn,
                    "ALERT_TOPIC_ARN": args.alert_topic_arn,
                    "STATE_PARAMETER": state.name,
                    "LOCK_PARAMETER": lock.name,
                    "STACK": args.stack,
                    "METRIC_NAMESPACE": METRIC_NAMESPACE,
                    "LEASE_SECONDS": str(LEASE_SECONDS),
                    "LOG_LEVEL": "INFO",
                }
            ),
            # The role must be able to write logs before the first invocation, and to create the function's
            # network interfaces before the function exists; it keeps them until the function is gone.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function_policy, log_group]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=function.name,
            maximum_retry_attempts=RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=dlq.arn
                )
            ),
            opts=child,
        )

        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            name=f"{physical}-scheduler",
            description=f"EventBridge Scheduler: invoke {physical}, dead-letter to its queue",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            # Only schedules of this account may use the role (confused deputy).
                            "Condition": {"StringEquals": {"aws:SourceAccount": identity.account_id}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=scheduler_role.id,
            policy=scheduler_policy_document(function.arn, dlq.arn),
            opts=child,
        )
        schedule_resource = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=physical,
            description=f"Runs {physical} ({args.schedule_expression})",
            schedule_expression=args.schedule_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            state="ENABLED",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=function.arn,
                role_arn=scheduler_role.arn,
                input=json.dumps({"source": "eventbridge-scheduler"}),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=RETRY_ATTEMPTS,
                    maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                ),
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dlq.arn),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy, *args.schedule_after]),
        )

        # A failed run is also a message here; someone must look at it, so its arrival pages.
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq-alarm",
            name=f"stockwiz-{args.stack}-lowstock-dead-letters",
            alarm_description="Low-stock runs failed after every retry; see the dead-letter queue",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dlq.name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            alarm_actions=[args.alert_topic_arn],
            ok_actions=[args.alert_topic_arn],
            opts=child,
        )

        self.function_name = function.name
        self.function_arn = function.arn
        self.schedule_name = schedule_resource.name
        self.dead_letter_queue_arn = dlq.arn
        self.dead_letter_queue_url = dlq.url
        self.state_parameter_name = state.name
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "scheduleName": self.schedule_name,
                "deadLetterQueueArn": self.dead_letter_queue_arn,
                "deadLetterQueueUrl": self.dead_letter_queue_url,
                "stateParameterName": self.state_parameter_name,
            }
        )


def function_policy_document(
    *,
    log_group_arn: pulumi.Input[str],
    topic_arn: pulumi.Input[str],
    secret_arn: pulumi.Input[str],
    parameter_arns: list[pulumi.Input[str]],
    dead_letter_queue_arn: pulumi.Input[str],
) -> pulumi.Output[str]:
    """Exactly what the handler calls, each on the one resource it uses, plus what Lambda itself needs to
    attach the function to the VPC and to trace it. Four statements cannot name a single ARN, and say why:
    log streams are named by Lambda per execution environment, PutMetricData has no resource-level
    permissions (so it is narrowed to one namespace instead), neither have X-Ray's write actions, and the
    network-interface actions are used on interfaces that do not exist yet."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogStreams",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": pulumi.Output.concat(log_group_arn, ":log-stream:*"),
        },
        {"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
        {
            "Sid": "PutLowStockMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
        },
        {
            "Sid": "ReadApiToken",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            "Sid": "ReadWriteOwnState",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:PutParameter"],
            "Resource": parameter_arns,
        },
        {
            # Asynchronous invocations that fail after their retries go to the queue as this role.
            "Sid": "SendFailedRuns",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": dead_letter_queue_arn,
        },
        {
            # Active tracing: X-Ray's write actions have no resource-level permissions.
            "Sid": "SendTraces",
            "Effect": "Allow",
            # What active tracing and the layer's collector send (AWSXRayDaemonWriteAccess without the
            # sampling-rule reads: Lambda decides the sampling of its invocations), as the services' sidecars.
            "Action": list(XRAY_WRITE_ACTIONS),
            "Resource": "*",
        },
        {
            # Lambda uses the function's role to create, describe and delete the (Hyperplane) network
            # interfaces that attach the function to its subnets, and to clean them up after it is gone.
            # AWS documents these for the execution role with Resource "*": DescribeNetworkInterfaces and
            # DescribeSubnets have no resource-level permissions, and the interfaces get ids only when
            # Lambda creates them. The EC2 actions of the managed AWSLambdaVPCAccessExecutionRole, without
            # its log actions on every log group (WriteOwnLogStreams names this function's own).
            "Sid": "ManageVpcNetworkInterfaces",
            "Effect": "Allow",
            "Action": VPC_NETWORK_INTERFACE_ACTIONS,
            "Resource": "*",
        },
    ]
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def scheduler_policy_document(
    function_arn: pulumi.Input[str], dead_letter_queue_arn: pulumi.Input[str]
) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "InvokeLowStockFunction",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": function_arn,
                },
                {
                    "Sid": "SendUndeliveredRuns",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": dead_letter_queue_arn,
                },
            ],
        }
    )
