"""Moderation: the facilitators' card for each question, and what their buttons do.

Every facilitator (or the facilitators' group, where one is set) receives a card with the
question, who asked (the real asker is visible to facilitators even when the question is to
be shared anonymously), its language, and Approve / Ask to clarify / Edit / Reject. When one
facilitator acts, every card about the question is updated so nobody acts twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from bot.domain.discussions import Discussion, State
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.ports import Button, Outgoing
from bot.services.members import Recipient
from bot.services.outbox import Priority
from bot.services.conversation import Conversation
from bot.services.turn import Compose, Services, Turn, bold, compose, italic
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)


def day_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%d %b %Y")

APPROVE = "ap"
CLARIFY = "cq"
EDIT = "ed"
REJECT = "rj"
REJECT_WITHOUT_REASON = "rn"
REPLY = "rp"
# The open discussion's card buttons (handled in bot.services.consolidation).
CLOSE_NOW = "cz"
EXTEND = "xt"
CARD = "moderation"

LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "ru": "Russian",
    "zh-cn": "Chinese", "zh": "Chinese", "sw": "Swahili", "de": "German", "it": "Italian", "hi": "Hindi",
    "id": "Indonesian", "tr": "Turkish", "uk": "Ukrainian", "bn": "Bengali", "nl": "Dutch",
}


async def facilitator_recipients(services: Services) -> list[Recipient]:
    """Each facilitator at their own address, except on platforms with a facilitators' group,
    where the group gets one card for all of them."""
    facilitators = await services.members.facilitators()
    recipients = await services.members.recipients(member_ids=[member.id for member in facilitators])
    chosen = [recipient for recipient in recipients if recipient.address.platform not in services.rooms]
    chosen += [Recipient(None, room, services.community.default_language) for room in services.rooms.values()]
    return chosen


async def send_cards(services: Services, discussion: Discussion, asker: Member) -> None:
    recipients = await facilitator_recipients(services)
    if not recipients:
        log.warning("question #%s waits for approval but no facilitator can be reached", discussion.id)
    sent = await services.send(
        recipients, lambda t: card(services, t, discussion, asker, None),
        Priority.CARD, "card", discussion.id,
    )
    for recipient, row in sent:
        await services.discussions.add_card(discussion.id, row, CARD, recipient.language)


async def update_cards(services: Services, discussion: Discussion, asker: Member, by: Member | None,
                       audience: int | None = None, progress: Compose | None = None) -> None:
    for row, language in await services.discussions.cards(discussion.id, CARD):
        t = services.translator(language)
        await services.outbox.enqueue_edit(row, card(services, t, discussion, asker, by, audience, progress))


def card(services: Services, t: Translator, discussion: Discussion, asker: Member, by: Member | None,
         audience: int | None = None, progress: Compose | None = None) -> Outgoing:
    who = asker.attribution()
    if discussion.anonymous:
        who = t("{who}, to be shared anonymously", who=who)
    language = LANGUAGE_NAMES.get(discussion.language, discussion.language) or t("unknown")
    by_name = by.name if by and by.name else t("a facilitator")
    header, buttons = _state_line(services, t, discussion, by_name, audience)
    progress_line = progress(t).text + "\n" if progress else ""
    return compose(
        header, "\n", progress_line,
        t("From: {who}", who=who), "\n",
        t("Language: {language}", language=t(language)), "\n\n",
        italic(discussion.text),
        buttons=buttons,
    )


def _state_line(services: Services, t: Translator, discussion: Discussion, by_name: str,
                audience: int | None) -> tuple[object, list[list[Button]]]:
    number = discussion.id
    codec = services.codec
    if discussion.state is State.SUBMITTED:
        buttons = [
            [Button(t("Approve"), codec.encode(APPROVE, number)), Button(t("Ask to clarify"), codec.encode(CLARIFY, number))],
            [Button(t("Edit"), codec.encode(EDIT, number)), Button(t("Reject"), codec.encode(REJECT, number))],
        ]
        return bold(t("Question #{number} is waiting for approval", number=number)), buttons
    if discussion.state is State.CLARIFYING:
        line = t("Question #{number}: {by} asked the asker: “{request}”", number=number, by=by_name,
                 request=discussion.reason)
        return bold(line), [[Button(t("Edit"), codec.encode(EDIT, number))]]
    if discussion.state is State.APPROVED:
        buttons = [[Button(t("Close now"), codec.encode(CLOSE_NOW, number)),
                    Button(t("Extend by a week"), codec.encode(EXTEND, number))]]
        until = t("open for replies until {day}", day=day_of(discussion.deadline_at or 0))
        if audience is None:
            return bold(t("Question #{number} was approved by {by}, {until}", number=number, by=by_name,
                          until=until)), buttons
        return bold(t("Question #{number} was approved by {by} and shared with {count} members, {until}",
                      number=number, by=by_name, count=audience, until=until)), buttons
    if discussion.state is State.REJECTED:
        reason = discussion.reason or t("no reason given")
        return bold(t("Question #{number} was rejected by {by}: {reason}", number=number, by=by_name, reason=reason)), []
    if discussion.state is State.WITHDRAWN:
        return bold(t("Question #{number} was withdrawn by the asker", number=number)), []
    if discussion.state is State.CLOSED:
        return bold(t("Question #{number} is closed", number=number)), []
    return bold(t("Question #{number} is published", number=number)), []


# --- the facilitators' buttons ------------------------------------------------------------


async def press_approve(turn: Turn, discussion: Discussion) -> None:
    services = turn.services
    approved = discussion.approve(turn.member.id, turn.now, services.community.reply_window)
    if isinstance(approved, Refusal):
        await turn.refuse(await _already(turn, discussion, approved))
        return
    if not await _save(turn, approved, discussion.version):
        return
    asker = await services.members.get(discussion.asker_id)
    assert asker is not None
    audience = await broadcast(services, approved, asker)
    services.deadlines.schedule(approved)
    await update_cards(services, approved, asker, turn.member, audience)
    turn.notice = turn.t("Approved and shared with {count} members", count=audience)
    await _tell_asker(services, asker, lambda t: compose(
        t("Good news: your question #{number} was approved and shared with {count} members.",
          number=approved.id, count=audience), " ",
        t("I will forward every reply to you here."),
    ))


async def press_clarify(turn: Turn, discussion: Discussion) -> None:
    if discussion.state is not State.SUBMITTED:
        await turn.refuse(await _already(turn, discussion))
        return
    await turn.wait_for("moderate.clarify", discussion=discussion.id)
    turn.notice = turn.t("Write your question for the asker")
    await turn.say(turn.t("What would you like to ask the asker of question #{number}? "
                          "Your next message goes to them; their answer comes back to you here.",
                          number=discussion.id))


async def press_edit(turn: Turn, discussion: Discussion) -> None:
    if discussion.state not in (State.SUBMITTED, State.CLARIFYING):
        await turn.refuse(await _already(turn, discussion))
        return
    await turn.wait_for("moderate.edit", discussion=discussion.id)
    turn.notice = turn.t("Send the new text")
    await turn.say(
        turn.t("Send the new text of question #{number}. Its text now:", number=discussion.id), "\n\n",
        discussion.text,
    )


async def press_reject(turn: Turn, discussion: Discussion) -> None:
    if discussion.state is not State.SUBMITTED:
        await turn.refuse(await _already(turn, discussion))
        return
    await turn.wait_for("moderate.reject", discussion=discussion.id)
    turn.notice = turn.t("Send the reason")
    await turn.say(
        turn.t("Why is question #{number} not to be shared? Your next message goes to the asker.",
               number=discussion.id),
        buttons=[[turn.button(turn.t("Reject without a reason"), REJECT_WITHOUT_REASON, discussion.id)]],
    )


async def press_reject_without_reason(turn: Turn, discussion: Discussion) -> None:
    await reject(turn, discussion, "")


# --- the facilitators' next message -------------------------------------------------------


async def clarification_request(turn: Turn, discussion: Discussion, text: str) -> None:
    services = turn.services
    changed = discussion.ask_to_clarify(turn.member.id, text)
    asker = await _store_change(turn, discussion, changed)
    if asker is None or isinstance(changed, Refusal):
        return
    await services.conversations.set(asker.id, Conversation("clarify.answer", {"discussion": discussion.id}), turn.now)
    await _tell_asker(services, asker, lambda t: compose(
        t("A facilitator has a question about your question #{number}:", number=discussion.id), "\n\n",
        italic(changed.reason), "\n\n",
        t("Your next message will be your answer."),
    ))
    await turn.say(turn.t("Sent to the asker. Their answer will come back on the card."))


async def clarification_answer(turn: Turn, discussion: Discussion, text: str) -> None:
    services = turn.services
    changed = discussion.clarify(turn.member.id, text)
    if isinstance(changed, Refusal):
        if discussion.state is not State.CLARIFYING:
            await turn.stop_waiting()
        await turn.refuse(changed)
        return
    if not await _save(turn, changed, discussion.version):
        return
    await turn.stop_waiting()
    requester = await services.members.get(discussion.state_by) if discussion.state_by else None
    await update_cards(services, changed, turn.member, requester)
    await turn.say(turn.t("Thank you! Your answer was added to your question and sent to the facilitators."))
    # The facilitator who asked gets the updated card as a new message too, so it is not missed.
    if requester is not None:
        recipients = [r for r in await facilitator_recipients(services) if r.member_id in (requester.id, None)]
        for recipient, row in await services.send(
            recipients[:1], lambda t: card(services, t, changed, turn.member, None),
            Priority.CARD, "card", discussion.id,
        ):
            await services.discussions.add_card(discussion.id, row, CARD, recipient.language)


async def new_text(turn: Turn, discussion: Discussion, text: str) -> None:
    services = turn.services
    changed = discussion.edit(turn.member.id, text)
    asker = await _store_change(turn, discussion, changed)
    if asker is None or isinstance(changed, Refusal):
        return
    await turn.say(turn.t("Question #{number} now reads as you wrote it.", number=discussion.id))
    await _tell_asker(services, asker, lambda t: compose(
        t("A facilitator edited your question #{number} before sharing it. It now reads:", number=discussion.id),
        "\n\n", italic(changed.text),
    ))


async def reject(turn: Turn, discussion: Discussion, reason: str) -> None:
    services = turn.services
    changed = discussion.reject(turn.member.id, reason)
    asker = await _store_change(turn, discussion, changed)
    if asker is None or isinstance(changed, Refusal):
        return
    turn.notice = turn.t("Rejected")
    await turn.say(turn.t("Question #{number} was rejected; the asker has been told.", number=discussion.id))
    if await _asker_waits_on(services, asker.id, discussion.id):
        await services.conversations.clear(asker.id)
    await _tell_asker(services, asker, lambda t: compose(
        t("Your question #{number} will not be shared with the network.", number=discussion.id),
        *(["\n\n", t("The facilitator explained:"), "\n", italic(changed.reason)] if changed.reason else []),
    ))


async def _store_change(turn: Turn, discussion: Discussion, changed: Discussion | Refusal) -> Member | None:
    """Store a facilitator's change and update every card about it. The asker, or None when
    the change was refused (the facilitator has been told why)."""
    if isinstance(changed, Refusal):
        await _refuse_and_stop(turn, discussion, changed)
        return None
    if not await _save(turn, changed, discussion.version):
        return None
    await turn.stop_waiting()
    asker = await turn.services.members.get(discussion.asker_id)
    assert asker is not None
    await update_cards(turn.services, changed, asker, turn.member)
    return asker


# --- broadcast ----------------------------------------------------------------------------


async def broadcast(services: Services, discussion: Discussion, asker: Member) -> int:
    """The approved question to every active member except the asker, with Reply buttons."""
    recipients = await services.members.recipients(exclude=asker.id)
    await services.send(
        recipients, lambda t: broadcast_message(services, t, discussion, asker),
        Priority.BROADCAST, "broadcast", discussion.id,
    )
    if services.broadcasts is not None:
        services.broadcasts.watch(discussion.id)
    return len(recipients)


def broadcast_message(services: Services, t: Translator, discussion: Discussion, asker: Member) -> Outgoing:
    who = t("a member who asked to stay anonymous") if discussion.anonymous else asker.attribution()
    deadline = ""
    if discussion.deadline_at:
        deadline = t("Replies are collected until {day}.", day=day_of(discussion.deadline_at))
    codec = services.codec
    return compose(
        bold(t("Question #{number} from {who}", number=discussion.id, who=who)), "\n\n",
        discussion.text, "\n\n",
        deadline,
        buttons=[
            [Button(t("Reply"), codec.encode(REPLY, discussion.id)),
             Button(t("Reply without my name"), codec.encode(REPLY, discussion.id, "a"))],
        ],
    )


# --- shared steps -------------------------------------------------------------------------


async def _save(turn: Turn, changed: Discussion, expected_version: int) -> bool:
    if await turn.services.discussions.save(changed, expected_version):
        return True
    await turn.refuse(Refusal("Another facilitator acted on this question a moment ago: look at the updated card."))
    return False


async def _already(turn: Turn, discussion: Discussion, refusal: Refusal | None = None) -> Refusal:
    """Say who moved the question on, when someone did."""
    by = await turn.services.members.get(discussion.state_by) if discussion.state_by else None
    if by is not None and discussion.state in (State.APPROVED, State.REJECTED):
        if discussion.state is State.APPROVED:
            return Refusal("{by} already approved this question.", {"by": by.name or turn.t("a facilitator")})
        return Refusal("{by} already rejected this question.", {"by": by.name or turn.t("a facilitator")})
    return refusal or discussion.where_it_stands()


async def _refuse_and_stop(turn: Turn, discussion: Discussion, refusal: Refusal) -> None:
    """A refusal caused by the question moving on ends the wait; one caused by the text keeps it."""
    current = await turn.services.discussions.get(discussion.id)
    if current is None or current.state not in (State.SUBMITTED, State.CLARIFYING):
        await turn.stop_waiting()
        if current is not None:
            refusal = await _already(turn, current, refusal)
    await turn.refuse(refusal)


async def _tell_asker(services: Services, asker: Member, message: Compose) -> None:
    recipients = await services.members.recipients(member_ids=[asker.id])
    await services.send(recipients, message, Priority.CARD, "answer")


async def _asker_waits_on(services: Services, asker_id: int, discussion_id: int) -> bool:
    conversation = await services.conversations.get(asker_id)
    return bool(conversation and conversation.data.get("discussion") == discussion_id)
