"""Fixtures of the runtime tests: the private PostgreSQL cluster (password checks and TLS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.private_postgres import PrivateCluster, private_cluster


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivateCluster]:
    with private_cluster() as cluster:
        yield cluster
