"""The real processes, as `make run` starts them (`python -m products`, then `python -m inventory`, demo data
on), on SQLite and PostgreSQL: the README examples work as written, and concurrent takes over real HTTP."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.processes import REPO, ServiceProcess, start_service

pytestmark = pytest.mark.slow  # starts the services as processes

README = REPO / "README.md"


@pytest.fixture
def services(database_url: str, log_dir: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    env = {"DATABASE_URL": database_url, "SEED_DEMO_DATA": "true"}
    products = start_service("products", log_dir, env=env)
    try:
        inventory = start_service("inventory", log_dir, env=env)
        try:
            yield products, inventory
        finally:
            assert inventory.stop() == 0, inventory.log()[-3000:]
            assert "Traceback" not in inventory.log(), inventory.log()[-3000:]
    finally:
        products.stop()


def readme_examples() -> list[tuple[str, int, str]]:
    """(description, expected status, command) for each example in the README inventory section's sh block."""
    section = re.search(r"^## Inventory service\n(.*?)(?=^## )", README.read_text(), re.DOTALL | re.MULTILINE)
    assert section is not None, "the README has no inventory section"
    text = section.group(1)
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None, "the README section has no sh examples"
    examples: list[tuple[str, int, str]] = []
    comment = ""
    for line in block.group(1).splitlines():
        if line.startswith("#"):
            comment = line
        elif line.strip():
            status = re.search(r"\((\d{3})\)\s*$", comment)
            assert status, f"example without an expected status: {line}"
            examples.append((comment, int(status.group(1)), line))
    return examples


def test_readme_examples_work_as_written(services: tuple[ServiceProcess, ServiceProcess]) -> None:
    products, inventory = services
    examples = readme_examples()
    assert len(examples) >= 10
    for description, expected, command in examples:
        assert command.startswith("curl "), command
        runnable = command.replace("localhost:8002", f"127.0.0.1:{inventory.port}").replace(
            "localhost:8001", f"127.0.0.1:{products.port}"
        )
        result = subprocess.run(
            ["bash", "-c", runnable + " -w '\\n%{http_code}'"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
        *body, status = result.stdout.splitlines()
        assert int(status) == expected, (description, "\n".join(body))
        if "Idempotent-Replayed" in description:
            assert "Idempotent-Replayed: true" in result.stdout
        if "Link to the next page" in description:
            assert "X-Total-Count: 2" in result.stdout and 'rel="next"' in result.stdout


async def test_fifty_parallel_takes_over_real_http(services: tuple[ServiceProcess, ServiceProcess]) -> None:
    _, inventory = services
    async with aiohttp.ClientSession(inventory.url) as session:
        async with session.get("/inventory/product/4") as response:
            monitor = await response.json()
        assert monitor["quantity"] == 30 and monitor["warehouse"] == "Warehouse B"

        async def take() -> int:
            async with session.post(
                f"/inventory/{monitor['id']}/adjust", json={"delta": -1, "reason": "ship"}
            ) as response:
                await response.read()
                return response.status

        outcome = Counter(await asyncio.gather(*(take() for _ in range(50))))
        assert outcome == {200: 30, 409: 20}
        async with session.get(f"/inventory/{monitor['id']}") as response:
            assert (await response.json())["quantity"] == 0
        async with session.get("/inventory/movements", params={"reason": "ship"}) as response:
            assert response.headers["X-Total-Count"] == "30"
