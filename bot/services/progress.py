"""Facilitators see a long broadcast progress on the question's card: "Delivered 1,200 /
2,500", updated every few seconds, then the final count with failures by reason."""

from __future__ import annotations

from bot.services import moderation
from bot.services.turn import Services, compose
from bot.texts.catalog import Translator


class BroadcastProgress:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._running: set[int] = set()

    def watch(self, discussion_id: int) -> None:
        self._running.add(discussion_id)

    async def report(self) -> None:
        """Update the cards of every broadcast under way, and once more when one ends."""
        services = self.services
        under_way = set(await services.outbox.broadcasting())
        for discussion_id in sorted(under_way | self._running):
            await self._update(discussion_id, finished=discussion_id not in under_way)
        self._running = under_way

    async def _update(self, discussion_id: int, finished: bool) -> None:
        services = self.services
        discussion = await services.discussions.get(discussion_id)
        if discussion is None:
            return
        asker = await services.members.get(discussion.asker_id)
        by = await services.members.get(discussion.state_by) if discussion.state_by else None
        if asker is None:
            return
        counts = await services.outbox.counts(discussion_id, "broadcast")
        total = sum(counts.values())
        sent = counts.get("sent", 0)
        failures = {key.removeprefix("failed:"): n for key, n in counts.items() if key.startswith("failed:")}
        skipped = counts.get("skipped", 0)

        def line(t: Translator):  # type: ignore[no-untyped-def]
            if not finished:
                return compose(t("Delivered {sent} / {total}", sent=f"{sent:,}", total=f"{total:,}"))
            text = t("Delivered to {sent} of {total} members.", sent=f"{sent:,}", total=f"{total:,}")
            if failures or skipped:
                reasons = "; ".join(f"{reason}: {n:,}" for reason, n in sorted(failures.items()))
                text += " " + t("Not delivered: {count} ({reasons}).", count=f"{sum(failures.values()) + skipped:,}",
                                reasons=reasons or t("skipped"))
            return compose(text)

        async with services.database.transaction():
            await moderation.update_cards(services, discussion, asker, by, total, progress=line)
        services.waker.wake()
