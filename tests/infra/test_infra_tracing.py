"""Tracing in AWS as the program declares it: an ADOT collector sidecar in every task (pinned, configured,
not essential, started before and stopped after the service), the services exporting to it over loopback
with the stack's sampling ratio, X-Ray's write actions and nothing more, the Lambda traced, and the
dashboard linking to the traces."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.config import StockwizConfigError
from components.tracing import COLLECTOR_IMAGE
from stockwiz_runtime.config import ServiceConfig, load_config
from tools.pulumi_mocks import Synthesis, synthesize_stack

SERVICES = ("gateway", "products", "inventory")
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ADOT = re.compile(r"^public\.ecr\.aws/aws-observability/aws-otel-collector:v[\d.]+@sha256:[0-9a-f]{64}$")
RATIO = {"dev": "1", "prod": "0.05"}


def task_containers(synth: Synthesis, name: str) -> dict[str, dict[str, Any]]:
    definitions = json.loads(synth.named(TASK, f"{name}-task").inputs["containerDefinitions"])
    return {c["name"]: c for c in definitions}


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def collector_config(container: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(env(container)["AOT_CONFIG_CONTENT"])
    return config


@pytest.mark.parametrize("name", SERVICES)
def test_every_task_runs_the_pinned_collector_as_a_non_essential_sidecar(synth: Synthesis, name: str) -> None:
    containers = task_containers(synth, name)
    collector = containers["otel-collector"]
    assert ADOT.match(collector["image"]) and collector["image"] == COLLECTOR_IMAGE
    # The service must not stop because the collector did: only the service's own container is essential.
    assert collector["essential"] is False
    assert [n for n, c in containers.items() if c["essential"]] == [name]
    # Nothing outside the task can reach it: no port mapping, the receiver listens on loopback.
    assert "portMappings" not in collector and collector["secrets"] == []
    assert collector["healthCheck"]["command"] == ["CMD", "/healthcheck"]
    # Locked down like every container of the task, logging into the service's group under its own prefix.
    assert collector["user"] == "10001:10001" and collector["readonlyRootFilesystem"] is True
    logs = collector["logConfiguration"]["options"]
    assert logs["awslogs-group"] == f"/stockwiz/{synth.stack}/{name}"
    assert logs["awslogs-stream-prefix"] == "otel-collector"
    assert collector["stopTimeout"] < containers[name]["stopTimeout"]


@pytest.mark.parametrize("name", SERVICES)
def test_the_service_starts_after_the_collector_and_sends_it_its_spans(synth: Synthesis, name: str) -> None:
    containers = task_containers(synth, name)
    service = containers[name]
    # START, not HEALTHY: a collector that never turns healthy must not keep the service from starting. In
    # reverse, ECS stops the service first, so its last spans reach a collector that still listens.
    assert {"containerName": "otel-collector", "condition": "START"} in service["dependsOn"]
    if name != "gateway":
        assert "dependsOn" not in containers["db-setup"]
    settings = env(service)
    config = collector_config(containers["otel-collector"])
    receiver = config["receivers"]["otlp"]["protocols"]
    assert list(receiver) == ["http"]
    assert (
        settings["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == f"http://{receiver['http']['endpoint']}/v1/traces"
    )
    assert receiver["http"]["endpoint"].startswith("127.0.0.1:")
    assert settings["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert settings["OTEL_TRACES_SAMPLER_ARG"] == RATIO[synth.stack]
    assert settings["OTEL_RESOURCE_ATTRIBUTES"] == f"deployment.environment={synth.stack}"
    # What the program writes is what the runtime accepts, and turns tracing on with the OTLP exporter.
    runtime = load_config(ServiceConfig, settings)
    assert runtime.tracing_enabled and runtime.otel_traces_exporter == "otlp"
    assert runtime.otel_traces_sampler_arg == float(RATIO[synth.stack])
    # The database set-up container does not trace (it exits before the service starts).
    if name != "gateway":
        assert not any(key.startswith("OTEL_") for key in env(containers["db-setup"]))


def test_the_collector_sends_traces_to_x_ray_in_the_stacks_region(synth: Synthesis) -> None:
    config = collector_config(task_containers(synth, "gateway")["otel-collector"])
    assert config["exporters"] == {"awsxray": {"region": "eu-west-1"}}
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline == {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", "batch/traces"],
        "exporters": ["awsxray"],
    }
    assert set(config["service"]["pipelines"]) == {"traces"}
    assert config["service"]["extensions"] == ["health_check"]
    assert config["extensions"]["health_check"]["endpoint"].startswith("127.0.0.1:")
    # Bounded: the collector sheds load instead of growing into the service's memory.
    assert config["processors"]["memory_limiter"]["limit_mib"] <= 64
    # Every task carries the same configuration.
    configs = {json.dumps(collector_config(task_containers(synth, n)["otel-collector"])) for n in SERVICES}
    assert len(configs) == 1


def test_task_roles_may_write_traces_and_nothing_more(synth: Synthesis) -> None:
    for name in SERVICES:
        role = synth.named("aws:iam/role:Role", f"{name}-task-role")
        policy = synth.named("aws:iam/rolePolicy:RolePolicy", f"{name}-task-tracing-policy")
        assert policy.inputs["role"] == role.id
        [statement] = json.loads(policy.inputs["policy"])["Statement"]
        # No sampling-rule reads: the services sample themselves.
        assert sorted(statement["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        assert statement["Effect"] == "Allow" and "Condition" not in statement
        # ECS starts tasks only once the policy exists (the first spans would be refused otherwise).
        service = synth.named("aws:ecs/service:Service", f"{name}-service")
        assert policy.urn in service.depends_on
        assert "send traces to X-Ray" in role.inputs["description"]


def test_the_lambda_is_traced_and_the_layer_is_opt_in(dev: Synthesis) -> None:
    function = dev.named("aws:lambda/function:Function", "lowstock-function").inputs
    assert function["tracingConfig"] == {"mode": "Active"}
    assert not function.get("layers")
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in function["environment"]["variables"]

    layer = "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-arm64-ver-1-32-0:2"
    traced = synthesize_stack("dev", {"stockwiz:lambdaOtelLayerArn": layer})
    function = traced.named("aws:lambda/function:Function", "lowstock-function").inputs
    assert function["layers"] == [layer]
    assert function["environment"]["variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-python-arm64-ver-1-32-0:2", "eu-west-1"),
        ("aws-otel-python-arm64-ver-1-32-0", "layer version ARN"),
    ],
)
def test_a_layer_of_another_region_or_no_arn_is_refused(value: str, problem: str) -> None:
    with pytest.raises(StockwizConfigError, match="stockwiz:lambdaOtelLayerArn") as refused:
        synthesize_stack("dev", {"stockwiz:lambdaOtelLayerArn": value})
    assert problem in str(refused.value)


def test_tracing_off_runs_no_collector_and_grants_no_x_ray() -> None:
    off = synthesize_stack("prod", {"stockwiz:tracing": False})
    for name in SERVICES:
        containers = task_containers(off, name)
        assert "otel-collector" not in containers
        assert not any(key.startswith("OTEL_") for key in env(containers[name]))
        assert "dependsOn" not in containers[name] or all(
            d["containerName"] != "otel-collector" for d in containers[name]["dependsOn"]
        )
        assert not [
            p for p in off.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"{name}-task-tracing-policy"
        ]
        assert load_config(ServiceConfig, env(containers[name])).tracing_enabled is False


def test_a_sample_ratio_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(StockwizConfigError, match="stockwiz:tracingSampleRatio"):
        synthesize_stack("dev", {"stockwiz:tracingSampleRatio": 1.5})


def test_the_dashboard_links_to_the_traces(synth: Synthesis) -> None:
    body = json.loads(
        synth.named("aws:cloudwatch/dashboard:Dashboard", "monitoring-dashboard").inputs["dashboardBody"]
    )
    [text] = [w for w in body["widgets"] if w["type"] == "text"]
    markdown = text["properties"]["markdown"]
    console = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
    assert f"({console}#xray:traces/query)" in markdown
    assert f"({console}#xray:service-map/map)" in markdown
    assert "trace_id" in markdown and synth.stack in markdown
