"""Run a service image the way its ECS task definition tells Fargate to, on this machine's engine.

The container definition comes from the Pulumi program itself (synthesized under the project's mocks for
the dev stack), so a change to the task definition changes what the tests run. Translated as Fargate
applies it: `user`, `readonlyRootFilesystem`, `initProcessEnabled` (an init process as PID 1 that forwards
signals), `ulimits`, `stopTimeout`, the task's cpu and memory, the environment, and the secrets (resolved
here from local values instead of Secrets Manager). Mount points: Fargate gives a task volume without a
host path as an empty bind mount owned by root with mode 0755, and copies the image's directory into it
only when the image declares that path as a VOLUME (AWS's "Use bind mounts with Amazon ECS"). That is what
runs here: an anonymous Docker volume (which copies the image's directory, owner and mode included) where
the image declares the VOLUME, and a root-owned 0755 tmpfs where it does not, so a missing VOLUME fails
here as it would on Fargate.

What differs, and why: the containers share the host's network namespace (as the containers of one
awsvpc task share theirs) on free ports, so PORT and the addresses of PostgreSQL and the other services
are overridden (OVERRIDABLE); PostgreSQL here has no TLS, so DB_SSLMODE is `disable`; the open-files
ulimit is capped at this machine's hard limit when that is lower than the task's.
"""

from __future__ import annotations

import json
import resource
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.containers.engine import Container, inspect, run_detached
from tools.pulumi_mocks import synthesize_stack

TASK_TYPE = "aws:ecs/taskDefinition:TaskDefinition"
# Settings that name a place on the network: the only environment values the tests may replace.
OVERRIDABLE = {
    "HOST",
    "PORT",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_SSLMODE",
    "PRODUCT_SERVICE_URL",
    "INVENTORY_SERVICE_URL",
    "TRUSTED_PROXIES",
}


@dataclass(frozen=True)
class TaskDefinition:
    container: dict[str, Any]
    cpu_units: int
    memory_mib: int
    volumes: list[dict[str, Any]]


@cache
def task_definitions(stack: str = "dev") -> dict[str, TaskDefinition]:
    """Container name -> its task definition, as the Pulumi program registers it."""
    found: dict[str, TaskDefinition] = {}
    for task in synthesize_stack(stack).of_type(TASK_TYPE):
        (container,) = json.loads(task.inputs["containerDefinitions"])
        found[container["name"]] = TaskDefinition(
            container=container,
            cpu_units=int(task.inputs["cpu"]),
            memory_mib=int(task.inputs["memory"]),
            volumes=list(task.inputs.get("volumes") or []),
        )
    return found


def run_args(
    task: TaskDefinition,
    image_config: Mapping[str, Any],
    *,
    secrets: Mapping[str, str],
    overrides: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
) -> list[str]:
    container = task.container
    unknown = set(overrides) - OVERRIDABLE
    assert not unknown, f"only network settings may be overridden, not {sorted(unknown)}"
    args = ["--network", "host"]
    if container.get("readonlyRootFilesystem"):
        args.append("--read-only")
    if "user" in container:
        args += ["--user", container["user"]]
    if container.get("linuxParameters", {}).get("initProcessEnabled"):
        args.append("--init")
    for limit in container.get("ulimits", []):
        soft, hard = limit["softLimit"], limit["hardLimit"]
        if limit["name"] == "nofile":
            # The engine here cannot raise its own hard limit (a sandbox's); Fargate allows up to 1048576.
            ceiling = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        args += ["--ulimit", f"{limit['name']}={soft}:{hard}"]
    if "stopTimeout" in container:
        args += ["--stop-timeout", str(container["stopTimeout"])]
    args += ["--cpus", f"{task.cpu_units / 1024:g}", "--memory", f"{task.memory_mib}m"]
    declared = set((image_config.get("Volumes") or {}).keys())
    task_volumes = {volume["name"]: volume for volume in task.volumes}
    for mount in container.get("mountPoints", []):
        volume = task_volumes[mount["sourceVolume"]]
        assert not volume.get("hostPath") and not volume.get("efsVolumeConfiguration"), volume
        path = mount["containerPath"]
        if path in declared:
            args += ["--mount", f"type=volume,dst={path}"]
        else:
            args += ["--mount", f"type=tmpfs,dst={path},tmpfs-mode=0755"]
    environment = {item["name"]: item["value"] for item in container.get("environment", [])}
    missing = {item["name"] for item in container.get("secrets", [])} - set(secrets)
    assert not missing, f"the task definition injects secrets the test has no local value for: {missing}"
    for item in container.get("secrets", []):
        environment[item["name"]] = secrets[item["name"]]
    environment.update(overrides)
    environment.update(extra_env or {})
    for name in sorted(environment):
        args += ["--env", f"{name}={environment[name]}"]
    return args


def start(
    name: str,
    image: str,
    task: TaskDefinition,
    *,
    secrets: Mapping[str, str],
    overrides: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
) -> Container:
    config = inspect(image)["Config"]
    args = run_args(task, config, secrets=secrets, overrides=overrides, extra_env=extra_env)
    return run_detached(name, args, image)
