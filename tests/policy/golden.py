"""A small, fully compliant stack of hand-built resources, and a way to break one thing at a time.

Resources are shaped like pulumi-aws 7 inputs as the engine hands them to analyzers (camelCase keys,
containerDefinitions and IAM documents as JSON strings). Every rule test evaluates through the SDK's
analyzer servicer (tools.policy_check.OfflineAnalyzer), so properties cross the same protobuf boundary as
in a real preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

from tools.policy_check import AnalyzedResource, Violation

PROJECT_TAGS = {"Project": "stockwiz", "Environment": "dev", "ManagedBy": "pulumi"}
DIGEST = "sha256:" + "ab" * 32
LB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/alb/0123456789abcdef"
LB_SUFFIX = "app/alb/0123456789abcdef"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:lowstock-dlq"


def container(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "gateway",
        "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/stockwiz-api-gateway-dev@{DIGEST}",
        "user": "10001",
        "readonlyRootFilesystem": True,
        "privileged": False,
        "essential": True,
        "environment": [
            {"name": "PORT", "value": "8000"},
            {"name": "API_TOKENS_SECRET_ARN", "value": "arn:aws:secretsmanager:eu-west-1:1:secret:t"},
        ],
        "secrets": [{"name": "API_TOKENS", "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:t"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/stockwiz/dev/gateway", "awslogs-region": "eu-west-1"},
        },
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp"}],
    }
    base.update(overrides)
    return base


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(service: Any) -> str:
    return policy_document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def _golden() -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """name -> (type, inputs, computed outputs)."""
    tagged = {"tags": PROJECT_TAGS}
    return {
        "alb-sg": (
            "aws:ec2/securityGroup:SecurityGroup",
            {
                "ingress": [
                    {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]},
                    {
                        "protocol": "tcp",
                        "fromPort": 80,
                        "toPort": 80,
                        "cidrBlocks": ["0.0.0.0/0"],
                        "ipv6CidrBlocks": ["::/0"],
                    },
                ],
                "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}],
                **tagged,
            },
            {"id": "sg-alb"},
        ),
        "gateway-sg": (
            "aws:ec2/securityGroup:SecurityGroup",
            {
                "ingress": [
                    {"protocol": "tcp", "fromPort": 8000, "toPort": 8000, "securityGroups": ["sg-alb"]}
                ],
                **tagged,
            },
            {"id": "sg-gateway"},
        ),
        "db-sg": ("aws:ec2/securityGroup:SecurityGroup", {**tagged}, {"id": "sg-db"}),
        "db-from-gateway": (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            {
                "securityGroupId": "sg-db",
                "referencedSecurityGroupId": "sg-gateway",
                "ipProtocol": "tcp",
                "fromPort": 5432,
                "toPort": 5432,
                **tagged,
            },
            {"id": "sgr-1"},
        ),
        "alb": (
            "aws:lb/loadBalancer:LoadBalancer",
            {
                "loadBalancerType": "application",
                "securityGroups": ["sg-alb"],
                "dropInvalidHeaderFields": True,
                "internal": False,
                **tagged,
            },
            {"id": LB_ARN, "arn": LB_ARN, "arnSuffix": LB_SUFFIX},
        ),
        "https": (
            "aws:lb/listener:Listener",
            {
                "loadBalancerArn": LB_ARN,
                "protocol": "HTTPS",
                "port": 443,
                "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
                "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/1",
                "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
                **tagged,
            },
            {"arn": LB_ARN + "/listener-https"},
        ),
        "http": (
            "aws:lb/listener:Listener",
            {
                "loadBalancerArn": LB_ARN,
                "protocol": "HTTP",
                "port": 80,
                "defaultActions": [
                    {
                        "type": "redirect",
                        "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
                    }
                ],
                **tagged,
            },
            {"arn": LB_ARN + "/listener-http"},
        ),
        "internal-paths": (
            "aws:lb/listenerRule:ListenerRule",
            {
                "listenerArn": LB_ARN + "/listener-https",
                "priority": 1,
                "conditions": [{"pathPattern": {"values": ["/metrics", "/metrics/*"]}}],
                "actions": [
                    {
                        "type": "fixed-response",
                        "fixedResponse": {"contentType": "application/json", "statusCode": "404"},
                    }
                ],
                **tagged,
            },
            {"arn": LB_ARN + "/listener-https/rule-1"},
        ),
        "gateway-task": (
            "aws:ecs/taskDefinition:TaskDefinition",
            {
                "family": "stockwiz-gateway-dev",
                "networkMode": "awsvpc",
                "requiresCompatibilities": ["FARGATE"],
                "containerDefinitions": json.dumps([container()]),
                **tagged,
            },
            {},
        ),
        "gateway-service": (
            "aws:ecs/service:Service",
            {
                "name": "stockwiz-gateway-dev",
                "launchType": "FARGATE",
                "networkConfiguration": {
                    "assignPublicIp": False,
                    "subnets": ["subnet-1"],
                    "securityGroups": ["sg-gateway"],
                },
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                **tagged,
            },
            {},
        ),
        "gateway-repo": (
            "aws:ecr/repository:Repository",
            {
                "name": "stockwiz-api-gateway-dev",
                "imageScanningConfiguration": {"scanOnPush": True},
                "imageTagMutability": "IMMUTABLE",
                **tagged,
            },
            {"id": "stockwiz-api-gateway-dev"},
        ),
        "gateway-repo-lifecycle": (
            "aws:ecr/lifecyclePolicy:LifecyclePolicy",
            {"repository": "stockwiz-api-gateway-dev", "policy": json.dumps({"rules": []})},
            {},
        ),
        "db": (
            "aws:rds/instance:Instance",
            {
                "engine": "postgres",
                "storageEncrypted": True,
                "publiclyAccessible": False,
                "backupRetentionPeriod": 7,
                "deletionProtection": True,
                "multiAz": True,
                "skipFinalSnapshot": False,
                "finalSnapshotIdentifier": "stockwiz-db-final",
                **tagged,
            },
            {},
        ),
        "gateway-logs": ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30, **tagged}, {}),
        "lowstock": (
            "aws:lambda/function:Function",
            {
                "name": "stockwiz-lowstock-dev",
                "runtime": "python3.13",
                "handler": "lowstock.handler.handler",
                **tagged,
            },
            {"arn": "arn:aws:lambda:eu-west-1:123456789012:function:stockwiz-lowstock-dev"},
        ),
        "lowstock-invoke-config": (
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
            {
                "functionName": "stockwiz-lowstock-dev",
                "maximumRetryAttempts": 2,
                "destinationConfig": {"onFailure": {"destination": QUEUE}},
            },
            {},
        ),
        "lowstock-role": (
            "aws:iam/role:Role",
            {"assumeRolePolicy": trust("lambda.amazonaws.com"), **tagged},
            {"arn": "arn:aws:iam::123456789012:role/lowstock"},
        ),
        "lowstock-policy": (
            "aws:iam/rolePolicy:RolePolicy",
            {
                "role": "lowstock",
                "policy": policy_document(
                    {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": TOPIC},
                    # PutMetricData has no resource-level permissions: "*" plus a namespace condition.
                    {
                        "Effect": "Allow",
                        "Action": "cloudwatch:PutMetricData",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"cloudwatch:namespace": "StockWiz/LowStock"}},
                    },
                ),
            },
            {},
        ),
        # The tracing collector sidecar's: X-Ray's two write actions (no resource-level permissions).
        "gateway-task-tracing-policy": (
            "aws:iam/rolePolicy:RolePolicy",
            {
                "role": "gateway-task",
                "policy": policy_document(
                    {
                        "Effect": "Allow",
                        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        "Resource": "*",
                    }
                ),
            },
            {},
        ),
        "gateway-cpu-alarm": (
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            {
                "namespace": "AWS/ECS",
                "metricName": "CPUUtilization",
                "dimensions": {"ClusterName": "stockwiz-cluster-dev", "ServiceName": "stockwiz-gateway-dev"},
                "alarmActions": [TOPIC],
                **tagged,
            },
            {},
        ),
        "alb-5xx-alarm": (
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            {
                "metricQueries": [
                    {
                        "id": "errors",
                        "metric": {
                            "namespace": "AWS/ApplicationELB",
                            "metricName": "HTTPCode_Target_5XX_Count",
                            "dimensions": {"LoadBalancer": LB_SUFFIX},
                            "period": 60,
                            "stat": "Sum",
                        },
                    }
                ],
                "alarmActions": [TOPIC],
                **tagged,
            },
            {},
        ),
    }


def urn(resource_type: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::stockwiz::{resource_type}::{name}"


def make(
    resource_type: str,
    name: str,
    inputs: Mapping[str, Any],
    computed: Mapping[str, Any] | None = None,
    **extra: Any,
) -> AnalyzedResource:
    outputs = {"id": f"{name}-id", **inputs, **(computed or {})}
    return AnalyzedResource(
        type=resource_type,
        name=name,
        urn=urn(resource_type, name),
        inputs=dict(inputs),
        outputs=outputs,
        **extra,
    )


class Stack:
    """The golden stack, editable by resource name."""

    def __init__(self) -> None:
        self.specs = deepcopy(_golden())

    def inputs(self, name: str) -> dict[str, Any]:
        return self.specs[name][1]

    def set(self, name: str, **changes: Any) -> Stack:
        self.inputs(name).update(changes)
        return self

    def drop(self, name: str, *keys: str) -> Stack:
        if keys:
            for key in keys:
                self.inputs(name).pop(key, None)
        else:
            del self.specs[name]
        return self

    def add(
        self, resource_type: str, name: str, inputs: dict[str, Any], computed: dict[str, Any] | None = None
    ) -> Stack:
        self.specs[name] = (resource_type, inputs, computed or {})
        return self

    def container(self, **overrides: Any) -> Stack:
        return self.set("gateway-task", containerDefinitions=json.dumps([container(**overrides)]))

    def resources(self) -> list[AnalyzedResource]:
        return [make(t, name, inputs, computed) for name, (t, inputs, computed) in self.specs.items()]


def rules(violations: list[Violation]) -> set[str]:
    return {v.policy for v in violations}
