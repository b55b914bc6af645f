"""The life of an open discussion: it closes at its deadline (or when a facilitator presses
Close now), a facilitator may extend it, and members who have not replied get one reminder
before the end, while facilitators get a status line. Closing happens once, whoever wins the
race (a deadline job and a button, two buttons), and hands the discussion on to publishing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Sequence

from bot.clock import Clock
from bot.domain.discussions import Discussion, State, title_of
from bot.domain.refusal import Refusal
from bot.ports import Button, Card, Purpose, Rows, Style
from bot.services.audit import Action, Audit
from bot.services.broadcast import Broadcast
from bot.services.buttons import ButtonCodec
from bot.services.cards import Cards
from bot.services.changes import CONFLICT, Changes
from bot.services.conversation import UnitOfWork
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, compose
from bot.services.moderation import Schedule
from bot.services.outbox import Waker
from bot.services.publishing import Publishing
from bot.services.replying import CARRY_REPLY_BUTTONS, reply_button_of, reply_buttons
from bot.services.routes import Route, facilitator_button
from bot.services.turn import Turn
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

WEEK = 7 * 86400.0


class Press(StrEnum):
    CLOSE_NOW = "cz"
    CONFIRM_CLOSE = "czy"
    KEEP_OPEN = "ko"
    EXTEND = "xt"


@dataclass(eq=False)
class Closing:
    discussions: DiscussionStore
    members: MemberStore
    cards: Cards
    changes: Changes
    publishing: Publishing
    broadcast: Broadcast
    messenger: Messenger
    schedule: Schedule
    codec: ButtonCodec
    database: UnitOfWork
    waker: Waker
    clock: Clock
    reminder_before: float
    audit: Audit

    def routes(self) -> Sequence[Route]:
        return (
            facilitator_button(Press.CLOSE_NOW, self.press_close_now),
            facilitator_button(Press.CONFIRM_CLOSE, self.press_confirm_close),
            facilitator_button(Press.KEEP_OPEN, self.press_keep_open),
            facilitator_button(Press.EXTEND, self.press_extend),
        )

    def card_actions(self, t: Translator, discussion: Discussion) -> Rows | None:
        if discussion.state is not State.APPROVED:
            return None
        return ((Button(t("Close now"), self.codec.encode(Press.CLOSE_NOW, discussion.id), Style.DANGER),
                 Button(t("Extend by a week"), self.codec.encode(Press.EXTEND, discussion.id), short=t("Extend"))),)

    async def reschedule_open(self) -> None:
        """At start: plan every open discussion's deadline again (one that passed while the
        bot was down closes now)."""
        for discussion in await self.discussions.in_state(State.APPROVED):
            self.schedule.schedule(discussion)

    # --- the facilitators' buttons --------------------------------------------------------

    async def press_close_now(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        """Closing cannot be taken back: the card asks first, for the one who pressed."""
        if not discussion.is_open:
            await turn.refuse(discussion.where_it_stands())
            return
        t = turn.t
        card = await self._moderation_card(turn, discussion)
        turn.notice = t("Close it now?")
        await self.cards.show_to_presser(turn, replace(
            card, status=t("Close question #{number} now? Replies stop and the draft consolidated reply is made.",
                           number=discussion.id),
            buttons=((Button(t("Yes, close it"), self.codec.encode(Press.CONFIRM_CLOSE, discussion.id), Style.DANGER),
                      Button(t("Keep it open"), self.codec.encode(Press.KEEP_OPEN, discussion.id))),)), hold=True)

    async def press_keep_open(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        turn.notice = turn.t("Kept open") if discussion.is_open else None
        await self.cards.show_to_presser(turn, await self._moderation_card(turn, discussion))

    async def _moderation_card(self, turn: Turn, discussion: Discussion) -> Card:
        asker = await self.members.get(discussion.asker_id)
        by = await self.members.get(discussion.state_by) if discussion.state_by else None
        assert asker is not None, f"discussion {discussion.id} has no asker"
        return self.cards.moderation_card(turn.t, discussion, asker, by)

    async def press_confirm_close(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        if not discussion.is_open:
            await turn.refuse(discussion.where_it_stands())
            return
        if await self.close(discussion, turn):
            await self.audit.record(turn, Action.CLOSE, discussion.id)
            turn.notice = turn.t("Closed: the draft is on its way")
        else:
            await turn.refuse(CONFLICT)

    async def press_extend(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        extended = await self.changes.apply(turn, discussion, discussion.extend(turn.member.id, WEEK))
        if extended is None:
            return
        await self.audit.record(turn, Action.EXTEND, extended.id)
        self.schedule.schedule(extended)
        await self.cards.refresh(extended, acted_by=turn)
        turn.notice = turn.t("Open until {day}", day=turn.t.date(extended.deadline_at or 0))

    # --- closing ----------------------------------------------------------------------------

    async def close(self, discussion: Discussion, turn: Turn | None) -> bool:
        """Close once: whoever loses the race does nothing. `turn`: the facilitator's press, or
        None at the deadline."""
        now = self.clock.now()
        closed = discussion.close(now, turn.member.id if turn else None)
        if isinstance(closed, Refusal) or not await self.discussions.save(closed, discussion.version):
            return False
        self.schedule.cancel(discussion.id)
        await self.cards.refresh(closed, acted_by=turn)
        # Replies are no longer collected: the Reply buttons on the question's copies go.
        await self.messenger.take_buttons_off_copies(closed.id, CARRY_REPLY_BUTTONS,
                                                     reply_button_of(self.codec, closed.id))
        count = await self.publishing.start(closed, now)
        recipients = await self.members.recipients(member_ids=[closed.asker_id])
        await self.messenger.send(recipients, lambda t: compose(
            t.plural("Your question #{number} is now closed, with {count} reply.",
                     "Your question #{number} is now closed, with {count} replies.", count, number=closed.id),
            " ", t("The facilitators are preparing the consolidated reply.") if count else "",
        ), Purpose.ANSWER, closed.id)
        log.info("discussion %s closed with %s replies", closed.id, count)
        return True

    async def deadline_reached(self, discussion_id: int) -> None:
        """A deadline job fired: close the discussion if its deadline has really passed (an
        extension may have moved it), else plan it again."""
        try:
            async with self.database.transaction():
                discussion = await self.discussions.get(discussion_id)
                if discussion is None or not discussion.is_open or discussion.deadline_at is None:
                    return
                if discussion.deadline_at > self.clock.now():
                    self.schedule.schedule(discussion)
                    return
                await self.close(discussion, turn=None)
        finally:
            self.waker.wake()

    # --- reminders --------------------------------------------------------------------------

    async def reminder_due(self, discussion_id: int) -> None:
        try:
            async with self.database.transaction():
                discussion = await self.discussions.get(discussion_id)
                if discussion is None or not discussion.is_open or discussion.deadline_at is None:
                    return
                if discussion.deadline_at - self.reminder_before > self.clock.now():
                    self.schedule.schedule(discussion)
                    return
                await self.remind(discussion)
        finally:
            self.waker.wake()

    async def remind(self, discussion: Discussion) -> bool:
        reminded = discussion.remind(self.clock.now())
        if isinstance(reminded, Refusal) or not await self.discussions.save(reminded, discussion.version):
            return False
        replied = await self.discussions.replied_member_ids(discussion.id)
        # Those the question was shared with (not the facilitator who approved it, by default).
        recipients = [r for r in await self.broadcast.readers(discussion) if r.member_id not in replied]
        excerpt = title_of(discussion.text)
        await self.messenger.send(recipients, lambda t: compose(
            t("A gentle reminder: question #{number} closes on {day}. If you have something to share, "
              "the network would value it.", number=discussion.id, day=t.date(discussion.deadline_at or 0)), "\n\n", excerpt,
            buttons=[reply_buttons(t, self.codec, discussion.id)], title=excerpt,
        ), Purpose.REMINDER, discussion.id, template=lambda t: self.broadcast.template(t, discussion))
        replies = await self.discussions.replies(discussion.id)
        countries = {member.country for reply in replies
                     if (member := await self.members.get(reply.member_id)) and member.country}
        await self.messenger.send(await self.cards.recipients(), lambda t: compose(
            t("Question #{number} closes on {day}:", number=discussion.id, day=t.date(discussion.deadline_at or 0)), " ",
            t.plural("{count} reply so far", "{count} replies so far", len(replies)), ", ",
            t.plural("from {count} country", "from {count} countries", len(countries)), ".",
        ), Purpose.STATUS, discussion.id)
        return True
