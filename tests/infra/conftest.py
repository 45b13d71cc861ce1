"""The shared Pulumi mock for the infrastructure tests.

The mocks themselves live in tools/pulumi_mocks.py, shared with `make synth` and the offline policy check:
`call` fails on any invoke it does not know, awsx's VPC answers with realistic camelCase outputs (not its
inputs), `preview=False` so every `apply` really runs, an inline executor works around pulumi/pulumi#6561 and
#7663, and the configuration is the real Pulumi.yaml + Pulumi.<stack>.yaml set with `set_all_config`.
Each stack is synthesized once per test session (well under a second each).
"""

from __future__ import annotations

import pytest

from tools.pulumi_mocks import STACKS, Synthesis, synthesize_stack


@pytest.fixture(scope="session")
def synths() -> dict[str, Synthesis]:
    return {stack: synthesize_stack(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def dev(synths: dict[str, Synthesis]) -> Synthesis:
    return synths["dev"]


@pytest.fixture(scope="session")
def prod(synths: dict[str, Synthesis]) -> Synthesis:
    return synths["prod"]


@pytest.fixture(scope="session", params=STACKS)
def synth(request: pytest.FixtureRequest, synths: dict[str, Synthesis]) -> Synthesis:
    """Each stack in turn, for properties both must have."""
    return synths[request.param]
