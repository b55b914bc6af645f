"""One worker of several leads: it polls Telegram (which allows one getUpdates at a time)
and runs the periodic jobs (digests, progress reports, reminders of events), which would
otherwise run once per worker. Each worker tries for the lead every few seconds, so when the
leader dies another takes over within seconds. With one worker (SQLite) it always leads."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Protocol

log = logging.getLogger(__name__)
TRY_EVERY = 2.0

LeadChanged = Callable[[bool], Awaitable[None]]


class Lease(Protocol):
    async def hold(self) -> bool:
        """True while this worker holds it, taking it if it is free."""
        ...

    async def release(self) -> None: ...


class Leadership:
    def __init__(self, lease: Lease, try_every: float = TRY_EVERY) -> None:
        self.lease = lease
        self.try_every = try_every
        self.leads = False
        self._listeners: list[LeadChanged] = []
        self._task: asyncio.Task | None = None

    def on_change(self, listener: LeadChanged) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        await self._try()
        self._task = asyncio.create_task(self._keep_trying(), name="leadership")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.leads:
            await self._become(False)
        await self.lease.release()

    async def _keep_trying(self) -> None:
        while True:
            await asyncio.sleep(self.try_every)
            try:
                await self._try()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("trying for the lead failed; trying again")

    async def _try(self) -> None:
        holds = await self.lease.hold()
        if holds != self.leads:
            await self._become(holds)

    async def _become(self, leading: bool) -> None:
        self.leads = leading
        log.info("this worker %s", "leads" if leading else "no longer leads")
        for listener in self._listeners:
            try:
                await listener(leading)
            except Exception:
                log.exception("a duty of the lead could not be %s", "taken up" if leading else "left")
