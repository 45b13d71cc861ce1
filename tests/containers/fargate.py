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
are overridden (OVERRIDABLE). PostgreSQL is a private cluster of the tests'
(tests/support/private_postgres.py) that checks passwords and serves TLS only, so the containers verify its
certificate (verify-full, as in AWS) against the test CA, mounted read-only and named by DB_SSLROOTCERT
instead of the RDS bundle. The service
role logs in with an IAM token minted by botocore from static test credentials (standing in for the task
role's); the cluster lets that role in over TLS without checking the token, which only RDS can. The
open-files ulimit is capped at this machine's hard limit when that is lower than the task's.
"""

from __future__ import annotations

import json
import resource
from collections.abc import Mapping, Sequence
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
    # The CA that signed this machine's test PostgreSQL instead of the RDS bundle in the image.
    "DB_SSLROOTCERT",
}


@dataclass(frozen=True)
class TaskDefinition:
    containers: list[dict[str, Any]]
    cpu_units: int
    memory_mib: int
    volumes: list[dict[str, Any]]

    @property
    def container(self) -> dict[str, Any]:
        """The service's own container: the task's one essential container."""
        (essential,) = [c for c in self.containers if c.get("essential", True)]
        return essential

    def environment(self) -> dict[str, str]:
        return {item["name"]: item["value"] for item in self.container.get("environment", [])}

    def before(self) -> list[dict[str, Any]]:
        """The containers the service's container waits for to exit successfully (dependsOn SUCCESS)."""
        wanted = {
            d["containerName"] for d in self.container.get("dependsOn", []) if d["condition"] == "SUCCESS"
        }
        # START names the tracing collector sidecar (components/tracing.py), which the tests do not run: the
        # service then finds nobody at its OTLP endpoint and drops its spans, as in AWS when the collector
        # is down (logged as export warnings); the service itself must work all the same.
        other = {d["condition"] for d in self.container.get("dependsOn", [])} - {"SUCCESS", "START"}
        assert not other, f"dependsOn conditions the tests do not model: {other}"
        return [c for c in self.containers if c["name"] in wanted]


@cache
def task_definitions(stack: str = "dev") -> dict[str, TaskDefinition]:
    """Service container name -> its task definition, as the Pulumi program registers it."""
    found: dict[str, TaskDefinition] = {}
    for task in synthesize_stack(stack).of_type(TASK_TYPE):
        definition = TaskDefinition(
            containers=list(json.loads(task.inputs["containerDefinitions"])),
            cpu_units=int(task.inputs["cpu"]),
            memory_mib=int(task.inputs["memory"]),
            volumes=list(task.inputs.get("volumes") or []),
        )
        found[definition.container["name"]] = definition
    return found


def run_args(
    task: TaskDefinition,
    container: Mapping[str, Any],
    image_config: Mapping[str, Any],
    *,
    secrets: Mapping[str, str],
    overrides: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    mounts: Sequence[str] = (),
) -> list[str]:
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
    for mount in mounts:
        args += ["--mount", mount]
    environment = {item["name"]: item["value"] for item in container.get("environment", [])}
    missing = {item["name"] for item in container.get("secrets", [])} - set(secrets)
    assert not missing, f"the task definition injects secrets the test has no local value for: {missing}"
    for item in container.get("secrets", []):
        environment[item["name"]] = secrets[item["name"]]
    # An override replaces what the container is given; the test CA goes wherever TLS to the database is.
    environment.update(
        {
            key: value
            for key, value in overrides.items()
            if key in environment or (key == "DB_SSLROOTCERT" and "DB_SSLMODE" in environment)
        }
    )
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
    mounts: Sequence[str] = (),
) -> Container:
    """Start the task as ECS does: each container the service's container depends on must exit 0 first."""
    config = inspect(image)["Config"]
    for setup in task.before():
        setup_container = run_detached(
            f"{name}-{setup['name']}",
            run_args(task, setup, config, secrets=secrets, overrides=overrides, mounts=mounts),
            image,
            setup.get("command", []),
        )
        try:
            code = setup_container.wait_exit(120)
            assert code == 0, f"{setup['name']} exited {code}:\n{setup_container.logs()[-4000:]}"
        finally:
            setup_container.remove()
    args = run_args(
        task, task.container, config, secrets=secrets, overrides=overrides, extra_env=extra_env, mounts=mounts
    )
    return run_detached(name, args, image, task.container.get("command", []))
