"""The real Docker Engine, driven through its CLI, for the image and Compose tests.

In CI (CI=true) the engine must answer: .ci/run installs and starts it, and a missing engine fails the
suite. On a laptop without Docker the tests that need it skip with a loud reason naming what to install,
never silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

DOCKER = shutil.which("docker") or "docker"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def engine_problem() -> str | None:
    """Why the Docker Engine cannot be used, or None when it answers."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (apt-get install docker.io)"
    result = subprocess.run(
        [DOCKER, "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        return f"the Docker Engine does not answer ({result.stderr.strip() or result.stdout.strip()})"
    return None


def require_engine() -> None:
    problem = engine_problem()
    if problem is None:
        return
    message = (
        f"DOCKER ENGINE UNAVAILABLE: {problem}. The image and Compose tests did NOT run. "
        "Start it (as root: dockerd &) and run them again."
    )
    if IN_CI:
        pytest.fail(message + " In CI they must run: .ci/run starts the engine.")
    pytest.skip(message)


def docker(
    *args: str,
    input: bytes | None = None,
    timeout: float = 600,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `docker ARGS`; on failure the error names the command and shows what Docker said."""
    return run_cli([DOCKER, *args], input=input, timeout=timeout, check=check, env=env)


def run_cli(
    argv: Sequence[str],
    *,
    input: bytes | None = None,
    timeout: float = 600,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    raw = subprocess.run(
        list(argv),
        input=input,
        capture_output=True,
        check=False,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    result = subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode(errors="replace"), raw.stderr.decode(errors="replace")
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


@cache
def buildkit() -> tuple[list[str], dict[str, str]]:
    """How to build with BuildKit here, as pulumi-docker builds (it honours each image's
    Dockerfile.dockerignore, which the legacy builder ignores): buildx where installed, else a Docker CLI
    older than 23, whose built-in BuildKit client DOCKER_BUILDKIT=1 selects (Debian's docker.io)."""
    if docker("buildx", "version", check=False, timeout=60).returncode == 0:
        return [DOCKER, "buildx", "build", "--load"], {}
    for candidate in dict.fromkeys([DOCKER, "/usr/bin/docker"]):
        if not Path(candidate).exists() and shutil.which(candidate) is None:
            continue
        version = run_cli([candidate, "version", "--format", "{{.Client.Version}}"], check=False, timeout=60)
        major = version.stdout.strip().split(".")[0]
        if version.returncode == 0 and major.isdigit() and int(major) < 23:
            return [candidate, "build"], {"DOCKER_BUILDKIT": "1"}
    raise AssertionError(
        "no way to build with BuildKit: install docker-buildx, or Debian's docker.io (its docker CLI has "
        "BuildKit built in); the legacy builder would ignore each image's Dockerfile.dockerignore"
    )


def image_exists(reference: str) -> bool:
    return docker("image", "inspect", reference, check=False, timeout=60).returncode == 0


def inspect(reference: str) -> dict[str, Any]:
    (info,) = json.loads(docker("inspect", reference, timeout=60).stdout)
    return dict(info)


@dataclass
class Container:
    """A running container (removed by `remove`)."""

    id: str
    name: str

    def logs(self) -> str:
        result = docker("logs", self.id, check=False, timeout=60)
        return result.stdout + result.stderr

    def state(self) -> dict[str, Any]:
        return dict(inspect(self.id)["State"])

    def exec(
        self, *command: str, user: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        args = ["exec", *(["--user", user] if user else []), self.id, *command]
        return docker(*args, check=False, timeout=timeout)

    def wait_exit(self, timeout: float) -> int:
        """Wait until the container has stopped; its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if not state["Running"]:
                return int(state["ExitCode"])
            time.sleep(0.1)
        raise TimeoutError(f"container {self.name} still running after {timeout} s\n{self.logs()[-3000:]}")

    def stop(self, timeout: int) -> int:
        """`docker stop`: the image's STOPSIGNAL to PID 1, SIGKILL after `timeout` s; the exit code."""
        docker("stop", "--time", str(timeout), self.id, timeout=timeout + 60)
        return self.wait_exit(30)

    def healthcheck_command(self) -> list[str]:
        """The image's own HEALTHCHECK command (exec form, without the leading CMD)."""
        test = list(inspect(self.id)["Config"]["Healthcheck"]["Test"])
        assert test[0] == "CMD", f"the HEALTHCHECK is not in exec form: {test}"
        return test[1:]

    def remove(self) -> None:
        docker("rm", "--force", "--volumes", self.id, check=False, timeout=60)


def run_detached(name: str, args: Sequence[str], image: str, command: Sequence[str] = ()) -> Container:
    docker("rm", "--force", "--volumes", name, check=False, timeout=60)
    result = docker("run", "--detach", "--name", name, *args, image, *command, timeout=120)
    return Container(result.stdout.strip(), name)


def image_files(image: str, *roots: str) -> list[str]:
    """Every regular file under `roots` in the image (read in a throw-away container with no network)."""
    result = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--user",
        "0",
        "--entrypoint",
        "find",
        image,
        *roots,
        "-xdev",
        "-type",
        "f",
        check=False,
        timeout=120,
    )
    return result.stdout.split()
