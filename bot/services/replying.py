"""Replies: a member answers a shared question (the Reply button then text, or the
platform's own reply-to); the reply is kept and forwarded at once to the asker, attributed
unless the replier chose to stay anonymous."""

from __future__ import annotations

from bot.domain.discussions import MAX_REPLY_CHARS, Discussion, check_text
from bot.domain.refusal import Refusal
from bot.services.outbox import Priority
from bot.services.turn import Turn, bold, compose

ANONYMOUS = "a"


async def press_reply(turn: Turn, discussion: Discussion, how: str) -> None:
    closed = discussion.accepts_replies()
    if closed is not None:
        await turn.refuse(closed)
        return
    if discussion.asker_id == turn.member.id:
        await turn.refuse(Refusal("This is your own question: the replies will come to you here."))
        return
    anonymous = how == ANONYMOUS
    await turn.wait_for("reply", discussion=discussion.id, anonymous=anonymous)
    t = turn.t
    turn.notice = t("Write your reply")
    await turn.say(
        t("Write your reply to question #{number} in your next message.", number=discussion.id), " ",
        t("It will reach the asker without your name.") if anonymous
        else t("It will reach the asker with your name and organization."),
        " ", t("Send /cancel to stop."),
    )


async def receive(turn: Turn, discussion: Discussion, text: str, anonymous: bool) -> None:
    services = turn.services
    closed = discussion.accepts_replies()
    if closed is not None:
        await turn.stop_waiting()
        await turn.refuse(closed)
        return
    checked = check_text(text, MAX_REPLY_CHARS)
    if isinstance(checked, Refusal):
        await turn.refuse(checked)
        return
    await services.discussions.add_reply(discussion.id, turn.member.id, checked, anonymous, turn.now)
    await turn.stop_waiting()
    await turn.say(turn.t("Thank you! Your reply was sent to the asker and will be part of the consolidated reply."))
    who = None if anonymous else turn.member.attribution()
    recipients = await services.members.recipients(member_ids=[discussion.asker_id])
    await services.send(
        recipients,
        lambda t: compose(
            bold(t("Reply to your question #{number} from {who}", number=discussion.id,
                   who=who or t("a member who asked to stay anonymous"))),
            "\n\n", checked,
        ),
        Priority.CARD, "reply", discussion.id,
    )
