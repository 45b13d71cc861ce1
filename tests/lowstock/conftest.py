"""Moto-backed AWS (SNS, SSM, CloudWatch, Secrets Manager, SQS) and a fake gateway for the handler tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lowstock import handler as lowstock_handler
from tests.lowstock.fakes import FakeGateway, record, serve

REGION = "eu-west-1"
STACK = "test"
STATE = "/stockwiz/test/lowstock/state"
LOCK = "/stockwiz/test/lowstock/lock"
TOKEN = "read-only-token-1"


@dataclass
class Context:
    aws_request_id: str


def new_context() -> Context:
    return Context(aws_request_id=str(uuid.uuid4()))


class AwsWorld:
    """The AWS resources the component creates, as moto state, plus ways to read what a run left there."""

    def __init__(self) -> None:
        self.sns = boto3.client("sns", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        self.secrets = boto3.client("secretsmanager", region_name=REGION)
        self.topic_arn = self.sns.create_topic(Name="stockwiz-alerts-test")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="alert-subscriber")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.secret_arn = self.secrets.create_secret(Name="stockwiz-lowstock-token-test", SecretString=TOKEN)[
            "ARN"
        ]
        # As the component creates them: an empty state and a free lock.
        self.ssm.put_parameter(Name=STATE, Value='{"schema":1,"low":[]}', Type="String")
        self.ssm.put_parameter(Name=LOCK, Value='{"holder":null}', Type="String")
        self.started = datetime.now(UTC) - timedelta(minutes=5)

    def env(self, api_url: str) -> dict[str, str]:
        return {
            "STOCKWIZ_API_URL": api_url,
            "API_TOKEN_SECRET_ARN": self.secret_arn,
            "ALERT_TOPIC_ARN": self.topic_arn,
            "STATE_PARAMETER": STATE,
            "LOCK_PARAMETER": LOCK,
            "STACK": STACK,
            "LEASE_SECONDS": "90",
        }

    def messages(self) -> list[dict[str, Any]]:
        """Drain the subscriber queue: each item has the SNS subject, attributes and the JSON document."""
        out: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return out
            for m in batch:
                envelope = json.loads(m["Body"])
                out.append(
                    {
                        "subject": envelope.get("Subject"),
                        "attributes": {
                            k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
                        },
                        "document": json.loads(envelope["Message"]),
                    }
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def metric(self, name: str) -> dict[str, float]:
        """SampleCount, Sum, Minimum and Maximum of one metric over the test's time window."""
        response = self.cloudwatch.get_metric_statistics(
            Namespace="StockWiz/LowStock",
            MetricName=name,
            Dimensions=[{"Name": "Stack", "Value": STACK}],
            StartTime=self.started,
            EndTime=datetime.now(UTC) + timedelta(minutes=5),
            Period=3600,
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum"],
        )
        points = response["Datapoints"]
        if not points:
            return {"SampleCount": 0}
        return {
            "SampleCount": sum(p["SampleCount"] for p in points),
            "Sum": sum(p["Sum"] for p in points),
            "Minimum": min(p["Minimum"] for p in points),
            "Maximum": max(p["Maximum"] for p in points),
        }

    def state(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.ssm.get_parameter(Name=STATE)["Parameter"]["Value"])
        return doc

    def lock(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.ssm.get_parameter(Name=LOCK)["Parameter"]["Value"])
        return doc


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    lowstock_handler.reset()
    with mock_aws():
        yield AwsWorld()
    lowstock_handler.reset()


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    # The seed data of the real services: stock 50/150/75/30/100 with reorder point 30.
    gw = FakeGateway(token=TOKEN, records=[record(i + 1, q) for i, q in enumerate((50, 150, 75, 30, 100))])
    with serve(gw):
        yield gw


@pytest.fixture
def invoke(aws: AwsWorld, gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in aws.env(gateway.url).items():
        monkeypatch.setenv(key, value)

    def _invoke(event: dict[str, Any] | None = None) -> dict[str, Any]:
        return lowstock_handler.handler(event or {"source": "test"}, new_context())

    return _invoke
