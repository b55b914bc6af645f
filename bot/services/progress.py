"""Facilitators see a long broadcast progress on the question's card: "Delivered 1,200 /
2,500", updated every few seconds, then the final count with failures by reason. Platforms
that cannot edit a message get no progress (see Cards.update)."""

from __future__ import annotations

from bot.ports import Purpose
from bot.services.cards import Cards, ProgressLine
from bot.services.conversation import UnitOfWork
from bot.services.discussions import DiscussionStore
from bot.services.outbox import Outbox, Waker
from bot.texts.catalog import Translator


class BroadcastProgress:
    def __init__(self, outbox: Outbox, discussions: DiscussionStore, cards: Cards, database: UnitOfWork,
                 waker: Waker) -> None:
        self.outbox = outbox
        self.discussions = discussions
        self.cards = cards
        self.database = database
        self.waker = waker
        self._running: set[int] = set()

    def watch(self, discussion_id: int) -> None:
        self._running.add(discussion_id)

    async def report(self) -> None:
        """Update the cards of every broadcast under way, and once more when one ends."""
        under_way = set(await self.outbox.broadcasting())
        for discussion_id in sorted(under_way | self._running):
            await self._update(discussion_id, finished=discussion_id not in under_way)
        self._running = under_way

    async def _update(self, discussion_id: int, finished: bool) -> None:
        discussion = await self.discussions.get(discussion_id)
        if discussion is None:
            return
        total, line = await self.line(discussion_id, finished)
        async with self.database.transaction():
            await self.cards.refresh(discussion, audience=total, progress=line)
        self.waker.wake()

    async def line(self, discussion_id: int, finished: bool) -> tuple[int, ProgressLine]:
        """How many members the broadcast is for, and the line that says how far it is."""
        counts = await self.outbox.counts(discussion_id, Purpose.BROADCAST)
        total = sum(counts.values())
        sent = counts.get("sent", 0)
        waiting = counts.get("waiting", 0)
        failures = {key.removeprefix("failed:"): n for key, n in counts.items() if key.startswith("failed:")}
        skipped = counts.get("skipped", 0)
        delivered, read = await self.outbox.confirmations(discussion_id, Purpose.BROADCAST)

        def line(t: Translator) -> str:
            if not finished:
                return t("Delivered {sent} / {total}", sent=f"{sent:,}", total=f"{total:,}")
            text = t("Delivered to {sent} of {total} members.", sent=f"{sent:,}", total=f"{total:,}")
            if failures or skipped:
                reasons = "; ".join(f"{reason}: {n:,}" for reason, n in sorted(failures.items()))
                text += " " + t("Not delivered: {count} ({reasons}).", count=f"{sum(failures.values()) + skipped:,}",
                                reasons=reasons or t("skipped"))
            if waiting:
                text += " " + t("Waiting for {count} to write to the bot again.", count=f"{waiting:,}")
            if delivered:
                text += " " + t("Confirmed on their phones: {delivered}, read: {read}.", delivered=f"{delivered:,}",
                                read=f"{read:,}")
            return text

        return total, line

    async def under_way(self) -> set[int]:
        return set(await self.outbox.broadcasting())
