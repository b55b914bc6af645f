"""The facilitators' cards about each discussion: who receives them, what they say in each
state, and keeping every copy up to date so that nobody acts twice.

Every facilitator (or the facilitators' group, on a platform that has one) receives a card
with the question, who asked (the real asker is visible to facilitators even when the
question is to be shared anonymously) and its language. The actions under it belong to the
feature that owns the discussion's state (moderation, closing), which offers them here.
Where a platform cannot edit a message, a card's change is sent as a new message (to the
facilitator whose action caused it, as their answer) and a broadcast's progress is not sent.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from typing import Callable, Mapping

from bot.clock import Clock, SystemClock
from bot.domain.discussions import Discussion, State
from bot.domain.members import Member
from bot.ports import Address, Card, Field, Outgoing, Purpose, Rows, Span
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore, Recipient
from bot.services.messaging import Compose, Messenger
from bot.services.outbox import Outbox
from bot.services.turn import Turn
from bot.services.watch import Watch
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

HOLD_CONFIRMATION = 600.0  # seconds a confirmation stays on a card before progress may replace it
CardActions = Callable[[Translator, Discussion], Rows | None]
ProgressLine = Callable[[Translator], str]


class CardKind(StrEnum):
    MODERATION = "moderation"
    DRAFT = "draft"


class Cards:
    def __init__(self, members: MemberStore, discussions: DiscussionStore, messenger: Messenger, outbox: Outbox,
                 rooms: Mapping[str, Address], default_language: str, watch: Watch | None = None,
                 clock: Clock | None = None) -> None:
        self.outbox = outbox
        # For a deadline less than a day away, said as a time ("until 18:00 UTC today").
        self.clock = clock or SystemClock()
        # Told of every card sent or changed: what the dashboard shows changed too.
        self.watch = watch or Watch()
        self.members = members
        self.discussions = discussions
        self.messenger = messenger
        self.rooms = rooms
        self.default_language = default_language
        self._actions: list[CardActions] = []
        # Copies showing one facilitator a confirmation: a broadcast's progress leaves them be
        # (a change of the question's state still goes through).
        self._held: dict[int, float] = {}

    def offer(self, actions: CardActions) -> None:
        """A feature's buttons for the states it owns (it answers None for the others); a card
        shows the rows of every feature that offers some, in the order they were offered."""
        self._actions.append(actions)

    async def recipients(self, language: str = "") -> list[Recipient]:
        """Each facilitator at their own address, except on platforms with a facilitators'
        group, where the group gets one card for all of them. With a language: the
        facilitators who handle it, or all of them when none does."""
        facilitators = await self.members.facilitators()
        if language:
            facilitators = self._of_language(facilitators, language)
        recipients = await self.members.recipients(member_ids=[member.id for member in facilitators])
        chosen = [recipient for recipient in recipients if recipient.address.platform not in self.rooms]
        chosen += [Recipient(None, room, self.default_language) for room in self.rooms.values()]
        return chosen

    def _of_language(self, facilitators: list[Member], language: str) -> list[Member]:
        """The facilitators who handle a language, or all of them when none does."""
        return [f for f in facilitators if f.handles_language(language)
                or (not f.language and language == self.default_language)] or facilitators

    async def waits_for(self, facilitator: Member, discussion: Discussion) -> bool:
        """Whether the question's card is this facilitator's to act on: they handle its
        language (or nobody does), or its card came to them all the same (nobody of its
        language took it up in time)."""
        facilitators = await self.members.facilitators()
        if discussion.language:
            facilitators = self._of_language(facilitators, discussion.language)
        if any(f.id == facilitator.id for f in facilitators):
            return True
        copies = await self.discussions.cards(discussion.id, CardKind.MODERATION)
        return any(copy.member_id == facilitator.id for copy in copies)

    async def send(self, discussion_id: int, kind: CardKind, compose: Compose,
                   recipients: list[Recipient] | None = None) -> None:
        recipients = await self.recipients() if recipients is None else recipients
        if not recipients:
            log.warning("a card about question #%s has no facilitator to go to", discussion_id)
        sent = await self.messenger.send(recipients, compose, Purpose.CARD, discussion_id)
        for recipient, row in sent:
            await self.discussions.add_card(discussion_id, row, kind, recipient.language)
        self.watch.changed()

    async def send_to(self, turn: Turn, discussion_id: int, kind: CardKind, compose: Compose) -> None:
        """The card to the person of this turn, as one more copy kept up to date with the others
        (so its buttons go when someone acts, like everyone's)."""
        await self.send(discussion_id, kind, compose, [Recipient(turn.member.id, turn.origin, turn.t.language)])
        turn.said += 1

    async def update(self, discussion_id: int, kind: CardKind, compose: Compose, acted_by: Turn | None = None,
                     progress: bool = False) -> None:
        """Every copy of the card now reads as `compose` says. Where a platform cannot edit,
        the new card is a new message (the one who acted gets it as their answer, in place of
        a notice), and a broadcast's progress is not sent at all."""
        now = time.monotonic()
        self.watch.changed()
        for copy in await self.discussions.cards(discussion_id, kind):
            t = self.messenger.translator(copy.language)
            if progress and self._held.get(copy.row, 0.0) > now:
                continue
            self._held.pop(copy.row, None)
            if self.messenger.capabilities(copy.to.platform).can_edit:
                await self.messenger.edit(copy.row, copy.to.platform, compose(t))
            elif progress:
                continue
            elif acted_by is not None and copy.member_id == acted_by.member.id:
                await acted_by.show(compose(acted_by.t))
            else:
                await self.messenger.say(copy.to, copy.member_id, compose(t), Purpose.CARD, discussion_id)

    async def show_to_presser(self, turn: Turn, card: Outgoing, hold: bool = False) -> None:
        """The card (or message) the person pressed on, in its place, changed for them alone (a confirmation
        before something that cannot be taken back, `hold`ing it against progress updates for
        a while); a new message where it cannot be edited."""
        sent = await self.outbox.find_sent(turn.origin, turn.pressed_message) if turn.pressed_message else None
        if sent is not None and turn.capabilities.can_edit:
            if hold:
                self._held[sent.outbox_id] = time.monotonic() + HOLD_CONFIRMATION
            else:
                self._held.pop(sent.outbox_id, None)
            await self.messenger.edit(sent.outbox_id, turn.origin.platform, card)
            turn.said += 1
        else:
            await turn.show(card)

    # --- the moderation card --------------------------------------------------------------

    async def send_moderation(self, discussion: Discussion, asker: Member,
                              recipients: list[Recipient] | None = None) -> None:
        """The question's card, to the facilitators of its language unless told whom."""
        if recipients is None:
            recipients = await self.recipients(discussion.language)
        await self.send(discussion.id, CardKind.MODERATION,
                        lambda t: self.moderation_card(t, discussion, asker, None), recipients)

    async def refresh(self, discussion: Discussion, acted_by: Turn | None = None, audience: int | None = None,
                      progress: ProgressLine | None = None) -> None:
        """Every copy of the question's card, as the discussion now stands."""
        asker = await self.members.get(discussion.asker_id)
        by = await self.members.get(discussion.state_by) if discussion.state_by else None
        assert asker is not None, f"discussion {discussion.id} has no asker"
        await self.update(discussion.id, CardKind.MODERATION,
                          lambda t: self.moderation_card(t, discussion, asker, by, audience, progress),
                          acted_by=acted_by, progress=progress is not None)

    def moderation_card(self, t: Translator, discussion: Discussion, asker: Member, by: Member | None,
                        audience: int | None = None, progress: ProgressLine | None = None) -> Card:
        who = asker.attribution()
        if discussion.anonymous:
            who = t("{who}, to be shared anonymously", who=who)
        language = t.language_name(discussion.language) if discussion.language else t("unknown")
        by_name = by.name if by and by.name else t("a facilitator")
        return Card(
            title=_headline(t, discussion, by_name, audience, self.clock.now()),
            status=progress(t) if progress else "",
            # The number is how facilitators name a member in /mute, /remove and /facilitators.
            fields=(Field(t("From"), who), Field(t("Member"), f"#{asker.id}"), Field(t("Language"), language)),
            body=(Span(discussion.text, italic=True),),
            buttons=self._buttons(t, discussion),
            more=t("Shortened here: send /question {number} for the whole text.", number=discussion.id),
        )

    def _buttons(self, t: Translator, discussion: Discussion) -> Rows:
        return tuple(row for actions in self._actions for row in actions(t, discussion) or ())


def _headline(t: Translator, discussion: Discussion, by: str, audience: int | None, now: float) -> str:
    number = discussion.id
    state = discussion.state
    if state is State.SUBMITTED:
        return t("Question #{number} is waiting for approval", number=number)
    if state is State.CLARIFYING:
        return t("Question #{number}: {by} asked the asker: “{request}”", number=number, by=by,
                 request=discussion.reason)
    if state is State.APPROVED:
        until = t("open for replies until {day}", day=t.until(discussion.deadline_at or 0, now))
        if audience is None:
            return t("Question #{number} was approved by {by}, {until}", number=number, by=by, until=until)
        return t("Question #{number} was approved by {by} and shared with {count} members, {until}",
                 number=number, by=by, count=audience, until=until)
    if state is State.REJECTED:
        reason = discussion.reason or t("no reason given")
        return t("Question #{number} was rejected by {by}: {reason}", number=number, by=by, reason=reason)
    if state is State.WITHDRAWN:
        return t("Question #{number} was withdrawn by the asker", number=number)
    if state is State.CLOSED:
        return t("Question #{number} is closed", number=number)
    return t("Question #{number} is published", number=number)
