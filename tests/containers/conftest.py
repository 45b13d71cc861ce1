"""Session fixtures of the container tests: the engine, the base image, the three built images."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from tests.containers.engine import require_engine
from tests.containers.images_built import REPORT, SERVICES, Base, BuiltImage, build, resolve_base

WRITE_TOKEN = "container-test-write-token"  # throw-away: these containers listen on this machine only
API_TOKENS = json.dumps(
    [
        {
            "name": "container-tests",
            "scope": "write",
            "sha256": hashlib.sha256(WRITE_TOKEN.encode()).hexdigest(),
        }
    ]
)


@pytest.fixture(scope="session")
def engine() -> None:
    require_engine()


@pytest.fixture(scope="session")
def python_base(engine: None) -> Base:
    base = resolve_base()
    REPORT.append(f"base image: {base.reference} ({base.note})")
    return base


@pytest.fixture(scope="session")
def built_images(python_base: Base) -> Iterator[dict[str, BuiltImage]]:
    images = {service: build(service, python_base) for service in SERVICES}
    for image in images.values():
        REPORT.append(
            f"{image.tag}: {image.size_bytes / 1e6:.0f} MB "
            f"({image.added_bytes / 1e6:.0f} MB added to the base), built in {image.build_seconds:.1f} s"
        )
    yield images


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("container images (real Docker Engine)")
        for line in REPORT:
            terminalreporter.write_line(line)
