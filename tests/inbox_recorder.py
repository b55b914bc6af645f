"""An Inbox that only records, for testing an adapter on its own."""

from __future__ import annotations

import asyncio
from typing import Sequence

from bot.ports import Acknowledgement, Address, DeliveryReport, Incoming, PersonCard, TranscriptEntry, Words


class RecordingInbox:
    def __init__(self) -> None:
        self.events: list[Incoming] = []
        self.reports: list[DeliveryReport] = []

    async def handle(self, event: Incoming) -> Acknowledgement:
        self.events.append(event)
        return Acknowledgement()

    async def people_on(self, platform: str) -> list[PersonCard]:
        return []

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Incoming]:
        """The first `count` events, once they have come."""
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                await asyncio.sleep(0.01)
        return self.events[:count]

    async def command_list(self, language: str) -> list[tuple[str, str]]:
        return [("help", "What I can do")]

    async def transcript(self, address: Address, limit: int = 200) -> list[TranscriptEntry]:
        return []

    async def wake(self, address: Address) -> None:
        return None

    async def report(self, report: DeliveryReport) -> None:
        self.reports.append(report)

    async def words(self, language: str, messages: Sequence[str]) -> Words:
        return Words("en", False, tuple(messages))
