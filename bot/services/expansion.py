"""A broadcast's rows written after the decision that planned it, in short batches.

The use case that shares something with the whole network only plans it (one row, in its own
transaction, so nothing is sent for a decision that was rolled back). This writes the plan's
rows member by member, each batch a transaction of its own, waking the delivery engine after
each one: the first members receive it within a moment, and a person's request waits at most
one batch behind a broadcast to 100,000. A restart resumes a plan where it stopped.
"""

from __future__ import annotations

import asyncio
import logging

from bot.ports import Address
from bot.services.outbox import Outbox, Waker

log = logging.getLogger(__name__)

BATCH = 500  # members per transaction: about 20 ms of writing on a small machine
PAUSE = 0.01  # seconds between batches: 100,000 members take 2 s more, far ahead of any sender


class Expansion:
    """Wraps the delivery engine's waker: whatever wakes delivery (a use case just committed)
    wakes the writing of planned broadcasts too."""

    def __init__(self, outbox: Outbox, delivery: Waker, batch: int = BATCH) -> None:
        self.outbox = outbox
        self.delivery = delivery
        self.batch = batch
        self._due = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def wake(self, platform: str | None = None) -> None:
        self._due.set()
        self._idle.clear()
        self.delivery.wake(platform)

    async def wake_person(self, address: Address) -> None:
        await self.delivery.wake_person(address)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broadcast-expansion")
        self.wake()  # a plan left unfinished by a stop

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def idle(self) -> None:
        """Until every planned broadcast has its rows."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            try:
                await self.write_all()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The plan stays: the next wake (or the next start) tries again.
                log.exception("could not write a planned broadcast's rows")
                await asyncio.sleep(1.0)
                self._due.set()
                continue
            if not self._due.is_set():
                self._idle.set()

    async def write_all(self) -> int:
        """Every unfinished plan's rows; how many plans were finished."""
        finished = 0
        for plan_id in await self.outbox.unwritten_plans():
            while not await self.outbox.write_batch(plan_id, self.batch):
                self.delivery.wake()
                # A pause, not a mere yield: the sender and the people waiting for an answer
                # need a few steps to reach the database, and must get it between batches.
                await asyncio.sleep(PAUSE)
            finished += 1
        if finished:
            self.delivery.wake()
            await self.outbox.settle()
        return finished
