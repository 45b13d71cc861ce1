"""StockwizMonitoring: the alert topic, the dashboard and the alarms that page through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.urns import MONITORING, retyped

LOWSTOCK_NAMESPACE = "StockWiz/LowStock"
LOWSTOCK_METRIC = "LowStockRecords"

# Alarm thresholds: a page should mean users are affected or soon will be.
ALB_5XX_PERCENT = 5.0
P95_LATENCY_SECONDS = 1.5
SERVICE_CPU_PERCENT = 85.0
SERVICE_MEMORY_PERCENT = 85.0
RDS_CPU_PERCENT = 80.0
RDS_FREE_STORAGE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class MonitoredService:
    label: str  # gateway, products, inventory
    service_name: pulumi.Input[str]
    min_count: int


@dataclass(frozen=True)
class MonitoringArgs:
    stack: str
    region: str
    alert_emails: Sequence[str]
    cluster_name: pulumi.Input[str]
    services: Sequence[MonitoredService]
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    db_identifier: pulumi.Input[str]
    # Deterministic (stockwiz-lowstock-<stack>), so the dashboard and alarm need not wait for the function.
    lambda_function_name: str


class StockwizMonitoring(pulumi.ComponentResource):
    """Every alarm notifies the topic when it fires and when it recovers; nothing alarms into the void."""

    topic_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]
    alarm_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(MONITORING, name, None, pulumi.ResourceOptions.merge(retyped(MONITORING), opts))
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)

        # Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key, and
        # alerts carry no data worth a customer-managed key.
        topic = aws.sns.Topic(f"{name}-alerts", name=f"stockwiz-alerts-{args.stack}", opts=child)
        for index, email in enumerate(args.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-alerts-email-{index + 1}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        self.topic_arn = topic.arn
        self.alarm_names = []
        self._alarms(topic.arn)

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"stockwiz-{args.stack}",
            dashboard_body=pulumi.Output.json_dumps(self._dashboard()),
            opts=child,
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs(
            {"topicArn": self.topic_arn, "dashboardName": self.dashboard_name, "alarmNames": self.alarm_names}
        )

    # -- alarms -------------------------------------------------------------------------------------------

    def _alarm(self, key: str, description: str, topic_arn: pulumi.Output[str], **kwargs: Any) -> None:
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"stockwiz-{self._args.stack}-{key}",
            alarm_description=description,
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            **kwargs,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm_names.append(alarm.name)

    def _alarms(self, topic_arn: pulumi.Output[str]) -> None:
        args = self._args
        alb = {"LoadBalancer": args.alb_arn_suffix}
        target = {"LoadBalancer": args.alb_arn_suffix, "TargetGroup": args.target_group_arn_suffix}

        def alb_sum(metric_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=metric_id,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/ApplicationELB", metric_name=metric, dimensions=alb, period=300, stat="Sum"
                ),
            )

        self._alarm(
            "alb-5xx-rate",
            f"Over {ALB_5XX_PERCENT}% of requests answered 5xx (load balancer or gateway) in 5 minutes",
            topic_arn,
            comparison_operator="GreaterThanThreshold",
            threshold=ALB_5XX_PERCENT,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            metric_queries=[
                alb_sum("requests", "RequestCount"),
                alb_sum("elb5xx", "HTTPCode_ELB_5XX_Count"),
                alb_sum("target5xx", "HTTPCode_Target_5XX_Count"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate",
                    label="5xx %",
                    expression="IF(requests > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)",
                    return_data=True,
                ),
            ],
        )
        self._alarm(
            "unhealthy-targets",
            "A gateway task fails the load balancer's /livez health check",
            topic_arn,
            namespace="AWS/ApplicationELB",
            metric_name="UnHealthyHostCount",
            dimensions=target,
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
        )
        self._alarm(
            "p95-latency",
            f"95th percentile response time above {P95_LATENCY_SECONDS}s for 15 minutes",
            topic_arn,
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=alb,
            extended_statistic="p95",
            period=300,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=P95_LATENCY_SECONDS,
            treat_missing_data="notBreaching",
        )
        for service in args.services:
            dims = {"ClusterName": args.cluster_name, "ServiceName": service.service_name}
            for metric, threshold, key in (
                ("CPUUtilization", SERVICE_CPU_PERCENT, "cpu"),
                ("MemoryUtilization", SERVICE_MEMORY_PERCENT, "memory"),
            ):
                self._alarm(
                    f"{service.label}-{key}",
                    f"{service.label}: average {metric} above {threshold}% for 15 minutes",
                    topic_arn,
                    namespace="AWS/ECS",
                    metric_name=metric,
                    dimensions=dims,
                    statistic="Average",
                    period=300,
                    evaluation_periods=3,
                    comparison_operator="GreaterThanThreshold",
                    threshold=threshold,
                    # No data means no task reports at all: the running-tasks alarm pages for that.
                    treat_missing_data="notBreaching",
                )
            # Container Insights publishes the running count; missing data means no task reports at all.
            self._alarm(
                f"{service.label}-running-tasks",
                f"{service.label}: fewer than {service.min_count} running tasks",
                topic_arn,
                namespace="ECS/ContainerInsights",
                metric_name="RunningTaskCount",
                dimensions=dims,
                statistic="Minimum",
                period=60,
                evaluation_periods=5,
                comparison_operator="LessThanThreshold",
                threshold=service.min_count,
                treat_missing_data="breaching",
            )
        rds = {"DBInstanceIdentifier": args.db_identifier}
        self._alarm(
            "rds-cpu",
            f"Database CPU above {RDS_CPU_PERCENT}% for 15 minutes",
            topic_arn,
            namespace="AWS/RDS",
            metric_name="CPUUtilization",
            dimensions=rds,
            statistic="Average",
            period=300,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=RDS_CPU_PERCENT,
        )
        self._alarm(
            "rds-free-storage",
            "Database free storage below 2 GiB (storage autoscaling may be at its ceiling)",
            topic_arn,
            namespace="AWS/RDS",
            metric_name="FreeStorageSpace",
            dimensions=rds,
            statistic="Minimum",
            period=300,
            evaluation_periods=1,
            comparison_operator="LessThanThreshold",
            threshold=RDS_FREE_STORAGE_BYTES,
        )
        self._alarm(
            "lowstock-errors",
            "The low-stock Lambda failed (no alerts are being sent)",
            topic_arn,
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": args.lambda_function_name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
        )

    # -- dashboard ----------------------------------------------------------------------------------------

    def _dashboard(self) -> dict[str, Any]:
        args = self._args
        alb = ["LoadBalancer", args.alb_arn_suffix]

        def widget(title: str, metrics: list[list[Any]], x: int, y: int, **properties: Any) -> dict[str, Any]:
            return {
                "type": "metric",
                "x": x,
                "y": y,
                "width": 8,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": args.region,
                    "metrics": metrics,
                    "period": 60,
                    "view": "timeSeries",
                    **properties,
                },
            }

        def per_service(namespace: str, metric: str, stat: str) -> list[list[Any]]:
            return [
                [
                    namespace,
                    metric,
                    "ClusterName",
                    args.cluster_name,
                    "ServiceName",
                    service.service_name,
                    {"stat": stat, "label": service.label},
                ]
                for service in args.services
            ]

        rds = ["DBInstanceIdentifier", args.db_identifier]
        lam = ["FunctionName", args.lambda_function_name]
        widgets = [
            widget("ALB requests", [["AWS/ApplicationELB", "RequestCount", *alb, {"stat": "Sum"}]], 0, 0),
            widget(
                "ALB latency",
                [
                    ["AWS/ApplicationELB", "TargetResponseTime", *alb, {"stat": "p50", "label": "p50"}],
                    ["AWS/ApplicationELB", "TargetResponseTime", *alb, {"stat": "p95", "label": "p95"}],
                    ["AWS/ApplicationELB", "TargetResponseTime", *alb, {"stat": "p99", "label": "p99"}],
                ],
                8,
                0,
            ),
            widget(
                "ALB 5xx",
                [
                    [
                        "AWS/ApplicationELB",
                        "HTTPCode_ELB_5XX_Count",
                        *alb,
                        {"stat": "Sum", "label": "load balancer"},
                    ],
                    [
                        "AWS/ApplicationELB",
                        "HTTPCode_Target_5XX_Count",
                        *alb,
                        {"stat": "Sum", "label": "gateway"},
                    ],
                ],
                16,
                0,
            ),
            widget("Service CPU %", per_service("AWS/ECS", "CPUUtilization", "Average"), 0, 6),
            widget("Service memory %", per_service("AWS/ECS", "MemoryUtilization", "Average"), 8, 6),
            widget(
                "Running tasks", per_service("ECS/ContainerInsights", "RunningTaskCount", "Minimum"), 16, 6
            ),
            widget("Database CPU %", [["AWS/RDS", "CPUUtilization", *rds, {"stat": "Average"}]], 0, 12),
            widget(
                "Database connections", [["AWS/RDS", "DatabaseConnections", *rds, {"stat": "Maximum"}]], 8, 12
            ),
            widget(
                "Database free storage", [["AWS/RDS", "FreeStorageSpace", *rds, {"stat": "Minimum"}]], 16, 12
            ),
            widget(
                "Low-stock Lambda",
                [
                    ["AWS/Lambda", "Invocations", *lam, {"stat": "Sum"}],
                    ["AWS/Lambda", "Errors", *lam, {"stat": "Sum"}],
                ],
                0,
                18,
                period=300,
            ),
            widget(
                "Low-stock records",
                # The function publishes with a Stack dimension (apps/lowstock/handler.py).
                [[LOWSTOCK_NAMESPACE, LOWSTOCK_METRIC, "Stack", args.stack, {"stat": "Maximum"}]],
                8,
                18,
                period=300,
            ),
            self._traces_widget(0, 24),
        ]
        return {"widgets": widgets}

    def _traces_widget(self, x: int, y: int) -> dict[str, Any]:
        """Links to the traces the services send to X-Ray (components/tracing.py), and how to go from a log
        line's trace_id to its trace."""
        region = self._args.region
        console = f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        markdown = "\n".join(
            [
                "## Traces",
                f"[Traces (X-Ray)]({console}#xray:traces/query) · "
                f"[Trace map]({console}#xray:service-map/map)",
                "",
                "Every log line of a request has its `trace_id` (32 hex digits). In X-Ray that trace is "
                '`1-<first 8 digits>-<other 24>`: open it under Traces, or search `traceId("1-...")`. '
                f"Services: `api-gateway`, `product-service`, `inventory-service` (`deployment.environment` "
                f"{self._args.stack}).",
            ]
        )
        properties = {"markdown": markdown}
        return {"type": "text", "x": x, "y": y, "width": 24, "height": 4, "properties": properties}
