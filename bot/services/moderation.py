"""Moderation: what facilitators do with a question waiting for approval (approve, ask the
asker to clarify, edit, reject), the asker's answer to a clarification, and the asker's
withdrawal of their own question (/withdraw) at any time before publication."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.discussions import Discussion, State
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.ports import Button, Card, Purpose, Rows, Style
from bot.clock import Clock
from bot.services.audit import Action, Audit
from bot.services.broadcast import Broadcast
from bot.services.buttons import ButtonCodec
from bot.services.cards import CardKind, Cards
from bot.services.changes import Changes
from bot.services.conversation import Conversation, ConversationStore, UnitOfWork
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore
from bot.services.messaging import Compose, Messenger, compose, italic
from bot.services.outbox import Waker
from bot.services.replying import CARRY_REPLY_BUTTONS, reply_button_of
from bot.services.routes import Arguments, Route, command, discussion_button, discussion_step, facilitator_button
from bot.services.rules import IN_PRIVATE, IS_ASKER, IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import Translator


class Press(StrEnum):
    APPROVE = "ap"
    CLARIFY = "cq"
    EDIT = "ed"
    REJECT = "rj"
    REJECT_WITHOUT_REASON = "rn"
    CONFIRM_REJECT = "rny"
    WITHDRAW = "wd"


class Step(StrEnum):
    CLARIFY = "moderate.clarify"
    EDIT = "moderate.edit"
    REJECT = "moderate.reject"
    CLARIFY_ANSWER = "clarify.answer"  # the asker's


class Command(StrEnum):
    WITHDRAW = "withdraw"


class Schedule(Protocol):
    """Plans each open discussion's deadline and reminder."""

    def schedule(self, discussion: Discussion) -> None: ...

    def cancel(self, discussion_id: int) -> None: ...


log = logging.getLogger(__name__)

FACILITATOR_STEP = (NOT_LEFT, IS_FACILITATOR)


@dataclass(eq=False)
class Moderation:
    discussions: DiscussionStore
    members: MemberStore
    conversations: ConversationStore
    cards: Cards
    changes: Changes
    broadcast: Broadcast
    schedule: Schedule
    messenger: Messenger
    codec: ButtonCodec
    reply_window: float
    database: UnitOfWork
    waker: Waker
    clock: Clock
    unclaimed_after: float
    audit: Audit

    def routes(self) -> Sequence[Route]:
        return (
            facilitator_button(Press.APPROVE, self.press_approve),
            facilitator_button(Press.CLARIFY, self.press_clarify),
            facilitator_button(Press.EDIT, self.press_edit),
            facilitator_button(Press.REJECT, self.press_reject),
            facilitator_button(Press.REJECT_WITHOUT_REASON, self.press_reject_without_reason),
            facilitator_button(Press.CONFIRM_REJECT, self.press_confirm_reject),
            discussion_button(Press.WITHDRAW, self.press_withdraw, rules=(NOT_LEFT, IS_ASKER)),
            discussion_step(Step.CLARIFY, self.clarification_request, rules=FACILITATOR_STEP),
            discussion_step(Step.EDIT, self.new_text, rules=FACILITATOR_STEP),
            discussion_step(Step.REJECT, self.reason_for_rejecting, rules=FACILITATOR_STEP),
            discussion_step(Step.CLARIFY_ANSWER, self.clarification_answer),
            command(Command.WITHDRAW, self.withdraw, "Withdraw your question before it is published: /withdraw 12",
                    rules=(IN_PRIVATE, NOT_LEFT), arguments=Arguments.NUMBER),
        )

    def card_actions(self, t: Translator, discussion: Discussion) -> Rows | None:
        number = discussion.id
        if discussion.state is State.SUBMITTED:
            return (
                (Button(t("Approve"), self.codec.encode(Press.APPROVE, number), Style.PRIMARY),
                 Button(t("Ask to clarify"), self.codec.encode(Press.CLARIFY, number), short=t("Clarify"))),
                (Button(t("Edit"), self.codec.encode(Press.EDIT, number)),
                 Button(t("Reject"), self.codec.encode(Press.REJECT, number), Style.DANGER)),
            )
        if discussion.state is State.CLARIFYING:
            return ((Button(t("Edit"), self.codec.encode(Press.EDIT, number)),),)
        return None

    # --- the facilitators' buttons --------------------------------------------------------

    async def press_approve(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        approved = await self.changes.apply(turn, discussion, discussion.approve(turn.member.id, turn.now,
                                                                                 self.reply_window))
        if approved is None:
            return
        await self.audit.record(turn, Action.APPROVE, approved.id)
        asker = await self._asker(approved)
        audience = await self.broadcast.share(approved, asker)
        self.schedule.schedule(approved)
        await self.cards.refresh(approved, acted_by=turn, audience=audience)
        turn.notice = turn.t("Approved and shared with {count} members", count=audience)
        await self._tell_asker(asker, lambda t: compose(
            t("Good news: your question #{number} was approved and shared with {count} members.",
              number=approved.id, count=audience), " ",
            t("I will forward every reply to you here."),
        ))

    async def press_clarify(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        if discussion.state is not State.SUBMITTED:
            await turn.refuse(await self.changes.explain(discussion))
            return
        t = turn.t
        turn.notice = t("Write your question for the asker")
        await turn.ask(Step.CLARIFY,
                       [t("What would you like to ask the asker of question #{number}? "
                          "Your next message goes to them; their answer comes back to you here.",
                          number=discussion.id)],
                       label=t("Your question for the asker"), discussion=discussion.id)

    async def press_edit(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        if discussion.state not in (State.SUBMITTED, State.CLARIFYING):
            await turn.refuse(await self.changes.explain(discussion))
            return
        t = turn.t
        turn.notice = t("Send the new text")
        await turn.ask(Step.EDIT,
                       [t("Send the new text of question #{number}. Its text now:", number=discussion.id)],
                       label=t("The text of question #{number}", number=discussion.id), prefill=discussion.text,
                       discussion=discussion.id)

    async def press_reject(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        if discussion.state is not State.SUBMITTED:
            await turn.refuse(await self.changes.explain(discussion))
            return
        t = turn.t
        turn.notice = t("Send the reason")
        await turn.ask(Step.REJECT,
                       [t("Why is question #{number} not to be shared? Your next message goes to the asker.",
                          number=discussion.id)],
                       label=t("Why it is not shared"),
                       buttons=[[turn.button(t("Reject without a reason"), Press.REJECT_WITHOUT_REASON, discussion.id,
                                             style=Style.DANGER, short=t("No reason"))]],
                       discussion=discussion.id)

    async def press_reject_without_reason(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        """Rejecting cannot be taken back: the message pressed on asks first."""
        if discussion.state is not State.SUBMITTED:
            await turn.refuse(await self.changes.explain(discussion))
            return
        t = turn.t
        turn.notice = t("Reject it without a reason?")
        await self.cards.show_to_presser(turn, compose(
            t("Reject question #{number} without a reason? The asker is told only that it will not be shared.",
              number=discussion.id), "\n\n", italic(discussion.text),
            buttons=[[Button(t("Yes, reject it"), self.codec.encode(Press.CONFIRM_REJECT, discussion.id), Style.DANGER),
                      Button(t("Write a reason"), self.codec.encode(Press.REJECT, discussion.id))]]))

    async def press_confirm_reject(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        await self._reject(turn, discussion, "")
        await turn.take_buttons_off_pressed()

    # --- the facilitators' next message ---------------------------------------------------

    async def clarification_request(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        changed = await self.changes.apply(turn, discussion, discussion.ask_to_clarify(turn.member.id, text),
                                           in_step=True)
        if changed is None:
            return
        await self.audit.record(turn, Action.CLARIFY, changed.id, detail=changed.reason)
        asker = await self._asker(changed)
        await self.cards.refresh(changed, acted_by=turn)
        await self.conversations.set(asker.id, Conversation(Step.CLARIFY_ANSWER.value, {"discussion": discussion.id}),
                                     turn.now)
        await self._tell_asker(asker, lambda t: compose(
            t("A facilitator has a question about your question #{number}:", number=discussion.id), "\n\n",
            italic(changed.reason), "\n\n",
            t("Your next message will be your answer."),
        ))
        await turn.say(turn.t("Sent to the asker. Their answer will come back on the card."))

    async def clarification_answer(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        changed = await self.changes.apply(turn, discussion, discussion.clarify(turn.member.id, text), in_step=True)
        if changed is None:
            return
        await self.cards.refresh(changed, acted_by=turn)
        await turn.say(turn.t("Thank you! Your answer was added to your question and sent to the facilitators."))
        # The facilitator who asked gets the updated card as a new message too, so it is not missed.
        requester = discussion.state_by
        recipients = [r for r in await self.cards.recipients() if r.member_id in (requester, None)]
        await self.cards.send(changed.id, CardKind.MODERATION,
                              lambda t: self.cards.moderation_card(t, changed, turn.member, None),
                              recipients=recipients[:1])

    async def new_text(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        changed = await self.changes.apply(turn, discussion, discussion.edit(turn.member.id, text), in_step=True)
        if changed is None:
            return
        await self.audit.record(turn, Action.EDIT, changed.id)
        asker = await self._asker(changed)
        await self.cards.refresh(changed, acted_by=turn)
        await turn.say(turn.t("Question #{number} now reads as you wrote it.", number=discussion.id))
        await self._tell_asker(asker, lambda t: compose(
            t("A facilitator edited your question #{number} before sharing it. It now reads:", number=discussion.id),
            "\n\n", italic(changed.text),
        ))

    async def reason_for_rejecting(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        await self._reject(turn, discussion, text)

    async def _reject(self, turn: Turn, discussion: Discussion, reason: str) -> None:
        changed = await self.changes.apply(turn, discussion, discussion.reject(turn.member.id, reason), in_step=True)
        if changed is None:
            return
        await self.audit.record(turn, Action.REJECT, changed.id, detail=changed.reason)
        asker = await self._asker(changed)
        await self.cards.refresh(changed, acted_by=turn)
        turn.notice = turn.t("Rejected")
        await turn.say(turn.t("Question #{number} was rejected; the asker has been told.", number=discussion.id))
        await self._stop_asker_waiting(asker.id, discussion.id)
        await self._tell_asker(asker, lambda t: compose(
            t("Your question #{number} will not be shared with the network.", number=discussion.id),
            *(["\n\n", t("The facilitator explained:"), "\n", italic(changed.reason)] if changed.reason else []),
        ))

    async def share_unclaimed(self) -> None:
        """A question no facilitator of its language has acted on in time goes to all of them."""
        now = self.clock.now()
        async with self.database.transaction():
            for discussion in await self.discussions.in_state(State.SUBMITTED):
                if discussion.created_at > now - self.unclaimed_after:
                    continue
                have = {copy.member_id for copy in await self.discussions.cards(discussion.id, CardKind.MODERATION)}
                missing = [r for r in await self.cards.recipients() if r.member_id not in have]
                if missing:
                    log.info("question #%s was not taken up in its language: its card goes to every facilitator",
                             discussion.id)
                    await self.cards.send_moderation(discussion, await self._asker(discussion), missing)
        self.waker.wake()

    # --- the asker withdraws ------------------------------------------------------------------

    async def withdraw(self, turn: Turn, args: str) -> None:
        """/withdraw 12 asks to confirm; /withdraw alone lists what can be withdrawn."""
        t = turn.t
        number = args.strip().lstrip("#")
        if not number:
            mine = [d for d in await self.discussions.asked_by(turn.member.id) if _withdrawable(d)]
            if not mine:
                await turn.say(t("You have no question waiting or open that you could withdraw."))
                return
            await turn.say(t("Which question would you like to withdraw?"), buttons=[
                [turn.button(t("Withdraw #{number}", number=d.id), Press.WITHDRAW, d.id, style=Style.DANGER)]
                for d in mine[:10]
            ])
            return
        discussion = await self.discussions.get(int(number)) if number.isdigit() else None
        if discussion is None or discussion.asker_id != turn.member.id:
            await turn.refuse(Refusal("You have no question #{number}. Send /withdraw to see yours.",
                                      {"number": number[:12]}))
            return
        if not _withdrawable(discussion):
            await turn.refuse(discussion.where_it_stands())
            return
        await turn.say(
            t("Withdraw question #{number}? It will no longer be shared, and replies stop.", number=discussion.id),
            "\n\n", italic(discussion.text),
            buttons=[[turn.button(t("Yes, withdraw it"), Press.WITHDRAW, discussion.id, style=Style.DANGER)]],
        )

    async def press_withdraw(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        withdrawn = await self.changes.apply(turn, discussion, discussion.withdraw(turn.member.id))
        if withdrawn is None:
            return
        await self.audit.record(turn, Action.WITHDRAW, withdrawn.id)
        self.schedule.cancel(withdrawn.id)
        await self.cards.refresh(withdrawn, acted_by=turn)
        await self.messenger.take_buttons_off_copies(withdrawn.id, CARRY_REPLY_BUTTONS,
                                                     reply_button_of(self.codec, withdrawn.id))
        await turn.take_buttons_off_pressed()
        await self.cards.update(withdrawn.id, CardKind.DRAFT, lambda t: Card(
            t("Question #{number} was withdrawn by the asker", number=withdrawn.id)))
        await self._stop_asker_waiting(turn.member.id, withdrawn.id)
        turn.notice = turn.t("Withdrawn")
        await turn.say(turn.t("Question #{number} is withdrawn. The facilitators have been told.",
                              number=withdrawn.id))

    # --- shared steps -------------------------------------------------------------------------

    async def _asker(self, discussion: Discussion) -> Member:
        asker = await self.members.get(discussion.asker_id)
        assert asker is not None, f"discussion {discussion.id} has no asker"
        return asker

    async def _tell_asker(self, asker: Member, message: Compose) -> None:
        recipients = await self.members.recipients(member_ids=[asker.id])
        await self.messenger.send(recipients, message, Purpose.ANSWER)

    async def _stop_asker_waiting(self, asker_id: int, discussion_id: int) -> None:
        conversation = await self.conversations.get(asker_id)
        if conversation and conversation.data.get("discussion") == discussion_id:
            await self.conversations.clear(asker_id)


def _withdrawable(discussion: Discussion) -> bool:
    return discussion.state in (State.SUBMITTED, State.CLARIFYING, State.APPROVED, State.CLOSED)
