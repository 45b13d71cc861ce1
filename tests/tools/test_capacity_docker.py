"""tools/capacity.py against the real Docker Engine: the dev stack's three tasks start with exactly the
task definition's CPU and memory limits, and one open-loop step through the gateway (auth on) is answered.
The measurement itself is `make capacity`; this checks only that what it measures is what it says."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.containers.engine import inspect, require_engine
from tests.containers.tasks import task_database
from tests.support.otlp import OtlpReceiver
from tools import capacity

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.docker]


def test_the_tasks_run_at_the_stacks_limits_and_answer_a_step_of_load() -> None:
    require_engine()
    limits = capacity.task_limits("dev")
    images = capacity.ensure_images()
    with (
        task_database("dev") as database,
        OtlpReceiver(keep=False) as collector,
        tempfile.TemporaryDirectory() as directory,
    ):
        tasks = capacity.start_tasks("dev", images, database, collector.endpoint)
        try:
            for running in tasks.running.values():
                host = inspect(running.container.id)["HostConfig"]
                assert host["NanoCpus"] == round(limits.cpus * 1e9)
                assert host["Memory"] == limits.memory_mib * 1024**2
            mix = capacity.requests_file("composed", [], Path(directory))
            outcome = capacity.offer(tasks, mix, rate=5.0, seconds=2.0)
            # No product exists: every composed read is a 404 problem, through auth, gateway and backends.
            assert outcome.sent >= 9 and outcome.statuses == {"404": outcome.sent}, outcome
            assert not any(s["oom_killed"] for s in capacity.container_states(tasks).values())
        finally:
            capacity.stop_tasks(tasks)
