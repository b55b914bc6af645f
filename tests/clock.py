"""A clock that tests move by hand, for deadlines and reminders without sleeping."""

from __future__ import annotations

import asyncio
import time


class ManualClock:
    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        # Time only moves by hand; yielding lets other tasks run.
        await asyncio.sleep(0)
