"""Every task definition is a RegisterTaskDefinition request ECS would accept, checked against botocore's
own ECS service model: botocore's ParamValidator (required members, unknown keys, types, ranges) plus the
enums the model declares, which ParamValidator leaves to the service."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator

from tools.pulumi_mocks import Synthesis

TASK = "aws:ecs/taskDefinition:TaskDefinition"


@pytest.fixture(scope="module")
def register_shape() -> StructureShape:
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    assert isinstance(shape, StructureShape)
    return shape


def enum_errors(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Values outside the enums the model declares (e.g. a misspelt logDriver or protocol)."""
    errors: list[str] = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += enum_errors(item, shape.members[key], f"{path}.{key}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            errors += enum_errors(item, shape.member, f"{path}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            errors += enum_errors(item, shape.value, f"{path}[{key}]")
    elif isinstance(shape, StringShape) and shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} is not one of {shape.enum}")
    return errors


def register_request(task: dict[str, Any]) -> dict[str, Any]:
    """The API request the provider sends for the resource's inputs (its inputs are the API's names)."""
    request = {
        "family": task["family"],
        "containerDefinitions": json.loads(task["containerDefinitions"]),
        "taskRoleArn": task["taskRoleArn"],
        "executionRoleArn": task["executionRoleArn"],
        "networkMode": task["networkMode"],
        "requiresCompatibilities": task["requiresCompatibilities"],
        "cpu": task["cpu"],
        "memory": task["memory"],
        "volumes": task["volumes"],
    }
    platform = task["runtimePlatform"]
    request["runtimePlatform"] = {
        "cpuArchitecture": platform["cpuArchitecture"],
        "operatingSystemFamily": platform["operatingSystemFamily"],
    }
    return request


def test_task_definitions_validate_against_the_ecs_model(
    synth: Synthesis, register_shape: StructureShape
) -> None:
    tasks = synth.of_type(TASK)
    assert len(tasks) == 3
    for task in tasks:
        request = register_request(task.inputs)
        report = ParamValidator().validate(request, register_shape)
        assert not report.has_errors(), f"{task.name}:\n{report.generate_report()}"
        assert enum_errors(request, register_shape) == [], task.name


def test_the_validator_catches_what_ecs_would_refuse(dev: Synthesis, register_shape: StructureShape) -> None:
    """The check has teeth: typical mistakes in a container definition are reported."""
    good = register_request(dev.named(TASK, "gateway-task").inputs)

    def errors(mutate: Any) -> str:
        request = json.loads(json.dumps(good))
        mutate(request["containerDefinitions"][-1])  # the service's own container
        report = ParamValidator().validate(request, register_shape)
        return str(report.generate_report()) + "\n".join(enum_errors(request, register_shape))

    assert "Unknown parameter" in errors(lambda c: c.update(readOnlyRootFilesystem=True))
    assert "Invalid type" in errors(lambda c: c.update(stopTimeout="30"))
    assert "Missing required parameter" in errors(lambda c: c["secrets"][0].pop("valueFrom"))
    assert "is not one of" in errors(lambda c: c["logConfiguration"].update(logDriver="cloudwatch"))
    assert "is not one of" in errors(lambda c: c["portMappings"][0].update(appProtocol="https"))
