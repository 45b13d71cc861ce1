"""A circuit breaker per upstream: stop sending requests to a service that keeps failing, answer at once,
and probe now and then to notice when it is back."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import Enum


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open; retry in {retry_after:.1f} s")
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after))


class CircuitBreaker:
    """Closed: requests flow; `failure_threshold` consecutive failures open it. Open: requests are refused
    for `reset_seconds`. Half-open: one probe request at a time is let through; its success closes the
    breaker, its failure opens it again for another `reset_seconds`."""

    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[State], None] | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._on_change = on_change
        self._state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> State:
        if self._state is State.OPEN and self._clock() - self._opened_at >= self.reset_seconds:
            self._set(State.HALF_OPEN)
        return self._state

    def before_request(self) -> None:
        """Raise CircuitOpenError when no request may go out now; otherwise the caller must report the
        outcome with record_success or record_failure (or release, when the outcome says nothing)."""
        state = self.state
        if state is State.CLOSED:
            return
        if state is State.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return
        remaining = self.reset_seconds - (self._clock() - self._opened_at)
        # Half-open with its probe still out: the answer comes within one upstream timeout at most.
        raise CircuitOpenError(max(remaining, 0.0) if state is State.OPEN else 1.0)

    def record_success(self) -> None:
        self._failures = 0
        self._probe_in_flight = False
        if self._state is not State.CLOSED:
            self._set(State.CLOSED)

    def record_failure(self) -> None:
        self._probe_in_flight = False
        self._failures += 1
        if self._state is State.HALF_OPEN or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._set(State.OPEN)

    def release(self) -> None:
        """The request ended without telling whether the upstream is healthy (the client went away)."""
        self._probe_in_flight = False

    def _set(self, state: State) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)
