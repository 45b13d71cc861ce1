"""Adjustments of one hot record, combined into one transaction per round.

Each change of a record holds its row lock until its commit is flushed to disk, so one request per
transaction caps a single record at one commit per WAL flush (a few hundred a second on ordinary disks)
however lean the code. Here, while a transaction for a record is running, further adjustments of that
record wait in a queue; the next round takes them all, locks the row once, applies them in arrival order
(each accepted or refused exactly as if alone, see stock.adjust_many) and commits once. A request that
finds no queue runs at once as a single guarded UPDATE, so an idle record pays nothing for this.

Only adjustments without an Idempotency-Key are combined (a keyed request needs its own claim on the key);
the combining is per process: several processes (ECS tasks) still serialize on the row lock, correctly.

Each request keeps its deadline: a round leaves out whoever's deadline has passed (answering 503) and
commits only before the earliest deadline of those it serves, so no request answered with an error (by us
or by the gateway) has its adjustment committed afterwards.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from inventory import stock
from inventory.idempotency import Change, run_once
from inventory.metrics import InventoryMetrics
from inventory.schemas import AdjustRequest
from stockwiz_runtime.db import Database, deadline_exceeded
from stockwiz_runtime.problems import ProblemError
from stockwiz_runtime.request_context import (
    current_actor,
    current_deadline,
    current_request_id,
    expired,
    set_actor,
    set_deadline,
    set_request_id,
)

MAX_ROUND = 500


@dataclass
class _Waiting:
    adjustment: stock.Adjustment
    deadline: float | None = field(default_factory=current_deadline)
    answer: asyncio.Future[Change] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class AdjustmentBatcher:
    def __init__(self, db: Database, metrics: InventoryMetrics, max_round: int = MAX_ROUND) -> None:
        self.db = db
        self.metrics = metrics
        self.max_round = max_round
        self._queues: dict[int, list[_Waiting]] = {}
        self._rounds: dict[int, asyncio.Task[None]] = {}

    async def adjust(self, inventory_id: int, body: AdjustRequest) -> Change:
        waiting = _Waiting(stock.Adjustment(body, current_request_id(), current_actor()))
        self._queues.setdefault(inventory_id, []).append(waiting)
        if inventory_id not in self._rounds:
            self._rounds[inventory_id] = asyncio.create_task(self._run(inventory_id))
        return await waiting.answer

    async def _run(self, inventory_id: int) -> None:
        try:
            while queue := self._queues.pop(inventory_id, None):
                batch, rest = queue[: self.max_round], queue[self.max_round :]
                if rest:
                    self._queues[inventory_id] = rest
                await self._round(inventory_id, batch)
        finally:
            del self._rounds[inventory_id]

    async def _round(self, inventory_id: int, batch: list[_Waiting]) -> None:
        outcomes: list[Change | ProblemError]
        # This task's context is its own (copied from the request that started it): the round runs against
        # the deadline of the requests it serves, never against one of an earlier round.
        for waiting in batch:
            if expired(waiting.deadline) and not waiting.answer.done():
                waiting.answer.set_exception(deadline_exceeded())
        # (A waiter that is done here was cancelled: its request is gone, its adjustment must not happen.)
        batch = [waiting for waiting in batch if not waiting.answer.done()]
        if not batch:
            return
        deadlines = [waiting.deadline for waiting in batch if waiting.deadline is not None]
        set_deadline(min(deadlines) if deadlines else None)
        self.metrics.adjust_rounds.observe(len(batch))
        try:
            if len(batch) == 1:
                outcomes = [await self._alone(inventory_id, batch[0].adjustment)]
            else:
                outcomes = await stock.adjust_many(self.db, inventory_id, [w.adjustment for w in batch])
        except Exception as error:  # the database failed: every request of the round shares the answer
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.answer.done():
                continue
            if isinstance(outcome, ProblemError):
                waiting.answer.set_exception(outcome)
            else:
                waiting.answer.set_result(outcome)

    async def _alone(self, inventory_id: int, adjustment: stock.Adjustment) -> Change | ProblemError:
        # This task's context is its own: the movement gets the request id and actor of the one request it
        # serves.
        set_request_id(adjustment.request_id)
        set_actor(adjustment.actor)
        try:
            return await run_once(
                self.db, None, lambda conn: stock.adjust(conn, inventory_id, adjustment.body)
            )
        except ProblemError as problem:
            return problem
