"""Fixtures of the policy tests: the pack's analyzer, the golden stack, and a checker."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.policy.golden import Stack
from tools.policy_check import (
    AnalyzedResource,
    OfflineAnalyzer,
    ProviderInfo,
    Violation,
    evaluate,
    stockwiz_analyzer,
)

Check = Callable[..., list[Violation]]


@pytest.fixture
def analyzer() -> OfflineAnalyzer:
    return stockwiz_analyzer()


@pytest.fixture
def stack() -> Stack:
    return Stack()


@pytest.fixture
def check(analyzer: OfflineAnalyzer) -> Check:
    def run(
        target: Stack | list[AnalyzedResource],
        *,
        stack_name: str = "dev",
        config: Mapping[str, Mapping[str, Any]] | None = None,
        provider: ProviderInfo | None = None,
    ) -> list[Violation]:
        if config is not None:
            analyzer.configure(config)
        resources = target.resources() if isinstance(target, Stack) else target
        return evaluate(stack_name, resources, analyzer, fallback_provider=provider).violations

    return run
