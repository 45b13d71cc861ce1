"""The three service images, built by the real Docker Engine from the real Dockerfiles and context.

Built with BuildKit, as pulumi-docker builds them, so each image's own Dockerfile.dockerignore decides its
context. The base is the Dockerfiles' own digest-pinned official image when the engine has it or can pull
it; when it cannot (no registry here), the stand-in from tests/containers/standin_base.py, passed as the
only override: `--build-arg PYTHON_IMAGE=...`. Builds use `--network host` (the engine here has no default
bridge) and reach PyPI through pip as any build does. Each build's time and the image's size are kept for
the run's summary (pytest_terminal_summary in conftest.py) and the README's table.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from tests.containers.engine import buildkit, docker, image_exists, inspect, run_cli
from tests.containers.images import CONTEXT, dockerfile
from tests.containers.standin_base import ensure_standin

SERVICES = ("products", "inventory", "gateway")
PULL_TIMEOUT_SECONDS = 120
# Lines for the run's summary: which base, each image's size and build time, the Compose stack's start.
REPORT: list[str] = []


@dataclass(frozen=True)
class BuiltImage:
    service: str
    tag: str
    base: str
    build_seconds: float
    size_bytes: int
    base_size_bytes: int

    @property
    def added_bytes(self) -> int:
        """What the Dockerfile adds on top of its base: the part we control."""
        return self.size_bytes - self.base_size_bytes

    def config(self) -> dict[str, Any]:
        return dict(inspect(self.tag)["Config"])


@dataclass(frozen=True)
class Base:
    reference: str
    official: bool
    note: str


def official_base() -> str:
    """The PYTHON_IMAGE default every Dockerfile declares (the tests check they agree)."""
    (reference,) = {dockerfile(service).global_args["PYTHON_IMAGE"] for service in SERVICES}
    return reference


def resolve_base() -> Base:
    official = official_base()
    if image_exists(official):
        return Base(official, True, "the official base, already in the engine")
    pulled = docker("pull", official, check=False, timeout=PULL_TIMEOUT_SECONDS)
    if pulled.returncode == 0:
        return Base(official, True, "the official base, pulled")
    reason = (pulled.stderr.strip().splitlines() or ["no answer"])[-1]
    return Base(ensure_standin(), False, f"a Debian stand-in: {official} cannot be pulled ({reason})")


def image_tag(service: str) -> str:
    return f"stockwiz-{service}:test"


def build(service: str, base: Base) -> BuiltImage:
    tag = image_tag(service)
    command, env = buildkit()
    args = [*command, "--network", "host", "--file", str(CONTEXT / service / "Dockerfile"), "--tag", tag]
    if not base.official:
        args += ["--build-arg", f"PYTHON_IMAGE={base.reference}"]
    started = time.monotonic()
    run_cli([*args, str(CONTEXT)], timeout=1200, env=env)
    seconds = time.monotonic() - started
    return BuiltImage(
        service=service,
        tag=tag,
        base=base.reference,
        build_seconds=seconds,
        size_bytes=int(inspect(tag)["Size"]),
        base_size_bytes=int(inspect(base.reference)["Size"]),
    )


def layers(tag: str) -> list[tuple[str, int]]:
    """(instruction, size in bytes) of each layer of the image, newest first."""
    result = docker("history", "--no-trunc", "--format", "{{json .}}", tag)
    out = []
    for line in result.stdout.splitlines():
        row = json.loads(line)
        out.append((re.sub(r"\s+", " ", row["CreatedBy"]), _size(row["Size"])))
    return out


def _size(text: str) -> int:
    match = re.fullmatch(r"([\d.]+)\s*([kMG]?B)", text.strip())
    if match is None:
        return 0
    factor = {"B": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3}[match.group(2)]
    return int(float(match.group(1)) * factor)
