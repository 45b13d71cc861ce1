"""The AWS side of a run: token from Secrets Manager, state in SSM, alerts to SNS, metrics to CloudWatch."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lowstock.alert import Alert
from lowstock.records import AnnouncedState, InvalidState
from lowstock.run import Metric, StateBusy, iter_metric_data

log = logging.getLogger("lowstock.aws")

# PutMetricData takes at most 1000 values per call; one run sends six.
_METRIC_BATCH = 1000


class SecretToken:
    """The gateway token, cached across warm invocations and refreshed after `ttl` or on demand."""

    def __init__(
        self,
        client: Any,
        secret_id: str,
        *,
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._ttl = ttl
        self._monotonic = monotonic
        self._value: str | None = None
        self._fetched_at = 0.0

    def __call__(self) -> str:
        if self._value is None or self._monotonic() - self._fetched_at > self._ttl:
            response = self._client.get_secret_value(SecretId=self._secret_id)
            value = str(response.get("SecretString") or "").strip()
            if not value:
                raise RuntimeError(f"secret {self._secret_id} holds no token")
            self._value = value
            self._fetched_at = self._monotonic()
        return self._value

    def invalidate(self) -> None:
        self._value = None


# SNS accepts 256 KiB per message, attributes included; keep a margin for them.
SNS_MESSAGE_BYTES = 256 * 1024 - 4096


def sns_message(alert: Alert) -> str:
    """People (e-mail, SMS, default) get the text; SQS, Lambda and HTTP subscribers get the JSON document."""
    doc = alert.document_json()
    message = {"default": alert.text, "email": alert.text}
    message.update(dict.fromkeys(("sqs", "lambda", "http", "https"), doc))
    return json.dumps(message, ensure_ascii=False)


class SnsNotifier:
    def __init__(self, client: Any, topic_arn: str, *, stack: str) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._stack = stack

    def publish(self, alert: Alert) -> None:
        message = sns_message(alert)
        # A huge change (a bulk import, a wiped warehouse) must still be announced: list fewer records.
        for listed in (50, 10, 0):
            if len(message.encode()) <= SNS_MESSAGE_BYTES:
                break
            alert = alert.relisted(listed)
            message = sns_message(alert)
        self._client.publish(
            TopicArn=self._topic_arn,
            Subject=alert.subject,
            Message=message,
            MessageStructure="json",
            # The topic is shared with the alarms: subscribers filter on these attributes.
            MessageAttributes={
                "source": {"DataType": "String", "StringValue": "stockwiz-lowstock"},
                "stack": {"DataType": "String", "StringValue": self._stack},
            },
        )


class CloudWatchMetrics:
    def __init__(self, client: Any, namespace: str, dimensions: dict[str, str]) -> None:
        self._client = client
        self._namespace = namespace
        self._dimensions = dimensions

    def put(self, metrics: Sequence[Metric]) -> None:
        data = list(iter_metric_data(metrics, self._dimensions))
        for start in range(0, len(data), _METRIC_BATCH):
            self._client.put_metric_data(
                Namespace=self._namespace, MetricData=data[start : start + _METRIC_BATCH]
            )


class SsmStateStore:
    """The announced state in one SSM parameter, guarded by a lease in a second one.

    SSM has no conditional write, but every PutParameter returns the parameter's new version, and versions
    grow by exactly one per write. A run that read the lock at version V and whose own write came back as
    V + 1 knows that nobody wrote in between, so it alone holds the lease (a compare-and-swap). A loser's
    write only ever says "held", so it cannot free a lease it does not hold; at worst it keeps the lock
    busy until its expiry, which is set just past the function timeout. The lock is never deleted, so
    versions never restart and an old read can never match again.
    """

    def __init__(
        self,
        client: Any,
        state_name: str,
        lock_name: str,
        *,
        owner: Callable[[], str],
        lease_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._state_name = state_name
        self._lock_name = lock_name
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._clock = clock

    def _get(self, name: str) -> tuple[str | None, int]:
        try:
            parameter = self._client.get_parameter(Name=name)["Parameter"]
        except self._client.exceptions.ParameterNotFound:
            return None, 0
        return str(parameter["Value"]), int(parameter["Version"])

    def _put(self, name: str, value: str) -> int:
        response = self._client.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        return int(response["Version"])

    @contextmanager
    def lease(self) -> Iterator[None]:
        owner = self._owner()
        raw, version = self._get(self._lock_name)
        now = self._clock()
        holder = _lock_holder(raw)
        if holder is not None and holder[1] > now:
            raise StateBusy(f"lease held by {holder[0]} until {holder[1]:.0f}")
        claim = json.dumps({"holder": owner, "expires_at": now + self._lease_seconds, "base": version})
        written = self._put(self._lock_name, claim)
        if written != version + 1:
            raise StateBusy(f"another run wrote the lease between version {version} and {written}")
        log.debug("state lease acquired", extra={"fields": {"version": written}})
        try:
            yield
        finally:
            self._put(self._lock_name, json.dumps({"holder": None, "released_by": owner}))

    def load(self) -> AnnouncedState:
        raw, _ = self._get(self._state_name)
        if raw is None:
            return AnnouncedState.empty()
        try:
            return AnnouncedState.decode(raw)
        except InvalidState as exc:
            # Starting over re-announces what is low now: a repeated alert, never a silent one.
            log.error(
                "stored state is unreadable; starting from empty", extra={"fields": {"error": str(exc)}}
            )
            return AnnouncedState.empty()

    def save(self, state: AnnouncedState) -> None:
        self._put(self._state_name, state.encode())


def _lock_holder(raw: str | None) -> tuple[str, float] | None:
    """(holder, expires_at) of a claimed lease; None when free. Anything unreadable counts as free."""
    if not raw:
        return None
    try:
        doc = json.loads(raw)
        holder, expires_at = doc.get("holder"), doc.get("expires_at")
        if holder is None:
            return None
        return str(holder), float(expires_at)
    except (ValueError, TypeError, AttributeError):
        return None
