"""The announced state in SSM and the lease that keeps concurrent runs from corrupting it."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from lowstock.aws import SnsNotifier, SsmStateStore
from lowstock.gateway import GatewayClient
from lowstock.records import (
    SSM_VALUE_LIMIT,
    AnnouncedRecord,
    AnnouncedState,
    InvalidState,
    LowRecord,
    StateTooLarge,
    diff,
)
from lowstock.run import Collaborators, Metric, StateBusy, run_once
from tests.lowstock.conftest import LOCK, REGION, STATE, TOKEN, AwsWorld
from tests.lowstock.fakes import FakeGateway


def low(record_id: int, warehouse: str = "Warehouse A") -> LowRecord:
    return LowRecord(record_id, record_id, warehouse, 1, 30)


def store(client: Any, owner: str, clock: Callable[[], float] = lambda: 1_000.0) -> SsmStateStore:
    return SsmStateStore(client, STATE, LOCK, owner=lambda: owner, lease_seconds=90, clock=clock)


class AtomicRequests:
    """Each call is atomic, as each SSM request is; the interleaving between calls is left to the threads."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._mutex = threading.Lock()
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            with self._mutex:
                return method(**kwargs)

        return call


class WriteHook:
    """Runs `before` just before the first lock write: another run slips in between read and write."""

    def __init__(self, client: Any, before: Callable[[], None]) -> None:
        self._client = client
        self._before: Callable[[], None] | None = before
        self.exceptions = client.exceptions

    def get_parameter(self, **kwargs: Any) -> Any:
        return self._client.get_parameter(**kwargs)

    def put_parameter(self, **kwargs: Any) -> Any:
        if self._before is not None and kwargs["Name"] == LOCK:
            before, self._before = self._before, None
            before()
        return self._client.put_parameter(**kwargs)


def test_state_round_trips_and_stays_small() -> None:
    state = AnnouncedState.of([low(4, "Warehouse B"), low(1)])
    encoded = state.encode()
    assert encoded == '{"schema":1,"low":[[1,1,"Warehouse A"],[4,4,"Warehouse B"]]}'
    assert AnnouncedState.decode(encoded) == state


def test_a_larger_state_is_compressed_losslessly() -> None:
    state = AnnouncedState.of(low(i, f"Warehouse {i % 3}") for i in range(1, 400))
    encoded = state.encode()
    assert len(encoded) <= SSM_VALUE_LIMIT
    assert '"zlib"' in encoded
    assert AnnouncedState.decode(encoded) == state


def test_a_huge_state_keeps_every_id_but_drops_the_details() -> None:
    rng = random.Random(7)
    ids = sorted(rng.sample(range(1, 200_000), 2_000))
    state = AnnouncedState(
        low={i: AnnouncedRecord(i, rng.randint(1, 10**6), f"W{rng.random()}") for i in ids}
    )
    encoded = state.encode()
    assert len(encoded) <= SSM_VALUE_LIMIT
    decoded = AnnouncedState.decode(encoded)
    assert sorted(decoded.low) == ids
    assert decoded.low[ids[0]] == AnnouncedRecord(ids[0], None, None)
    # A recovery is still announced, by record id.
    assert [r.id for r in diff(decoded, []).recovered] == ids


def test_state_too_large_even_as_ids_is_refused() -> None:
    # A clear failure (and the error alarm) beats a silently truncated state.
    ids = random.Random(3).sample(range(1, 10**9), 20_000)
    state = AnnouncedState.of(low(i) for i in ids)
    with pytest.raises(StateTooLarge):
        state.encode()


@pytest.mark.parametrize("text", ["", "nope", '{"schema":2,"low":[]}', '{"schema":1,"low":[["x",1,"A"]]}'])
def test_foreign_state_is_rejected(text: str) -> None:
    with pytest.raises(InvalidState):
        AnnouncedState.decode(text)


def test_unreadable_state_starts_over_and_reannounces(aws: AwsWorld) -> None:
    aws.ssm.put_parameter(Name=STATE, Value="garbage", Type="String", Overwrite=True)
    assert store(aws.ssm, "a").load() == AnnouncedState.empty()


def test_missing_parameters_behave_as_a_first_run(aws: AwsWorld) -> None:
    aws.ssm.delete_parameter(Name=STATE)
    aws.ssm.delete_parameter(Name=LOCK)
    s = store(aws.ssm, "a")
    with s.lease():
        assert s.load() == AnnouncedState.empty()
        s.save(AnnouncedState.of([low(4)]))
    assert s.load() == AnnouncedState.of([low(4)])


def test_a_run_that_lost_the_race_between_read_and_write_does_not_get_the_lease(aws: AwsWorld) -> None:
    b = store(aws.ssm, "b")
    b_lease = b.lease()
    a = store(WriteHook(aws.ssm, before=b_lease.__enter__), "a")

    with pytest.raises(StateBusy, match="another run wrote the lease"), a.lease():
        pytest.fail("a must not hold the lease while b holds it")

    # b still holds it, though a's failed claim overwrote the value: any claim reads as held.
    with pytest.raises(StateBusy), store(aws.ssm, "c").lease():
        pass
    b_lease.__exit__(None, None, None)
    with store(aws.ssm, "c").lease():
        assert aws.lock()["holder"] == "c"
    assert aws.lock()["holder"] is None


def test_lease_is_released_when_the_run_fails(aws: AwsWorld) -> None:
    s = store(aws.ssm, "a")
    with pytest.raises(RuntimeError, match="boom"), s.lease():
        raise RuntimeError("boom")
    assert aws.lock()["holder"] is None


def test_expired_lease_can_be_taken_over_but_a_live_one_cannot(aws: AwsWorld) -> None:
    claim = {"holder": "crashed", "expires_at": 1_050.0, "base": 1}
    aws.ssm.put_parameter(Name=LOCK, Value=json.dumps(claim), Type="String", Overwrite=True)
    with (
        pytest.raises(StateBusy, match="held by crashed"),
        store(aws.ssm, "a", clock=lambda: 1_049.0).lease(),
    ):
        pass
    with store(aws.ssm, "a", clock=lambda: 1_051.0).lease():
        assert aws.lock()["holder"] == "a"


class CountingMetrics:
    def __init__(self) -> None:
        self.sent: list[Metric] = []

    def put(self, metrics: Any) -> None:
        self.sent.extend(metrics)


def test_concurrent_runs_announce_once_and_leave_a_correct_state(aws: AwsWorld, gateway: FakeGateway) -> None:
    ssm = AtomicRequests(boto3.client("ssm", region_name=REGION))
    sns = AtomicRequests(boto3.client("sns", region_name=REGION))
    start = threading.Barrier(8)

    def one_run(n: int) -> dict[str, Any]:
        deps = Collaborators(
            source=GatewayClient(gateway.url, lambda: TOKEN),
            store=store(ssm, f"run-{n}", clock=time.time),
            notifier=SnsNotifier(sns, aws.topic_arn, stack="test"),
            metrics=CountingMetrics(),
            stack="test",
        )
        start.wait()
        return run_once(deps)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one_run, range(8)))

    statuses = sorted(r["status"] for r in results)
    assert statuses.count("notified") == 1, statuses
    assert set(statuses) <= {"notified", "skipped", "unchanged"}
    [message] = aws.messages()
    assert [r["id"] for r in message["document"]["became_low"]] == [4]
    assert aws.state()["low"] == [[4, 4, "Warehouse A"]]
    assert aws.lock()["holder"] is None
