"""Asking: a member's text becomes a draft, shown back with Submit / Cancel and the choice to
ask without their name; submitted, it becomes a discussion and goes to the facilitators."""

from __future__ import annotations

from bot.domain.discussions import MAX_QUESTION_CHARS, check_text
from bot.domain.refusal import Refusal
from bot.services import moderation
from bot.services.searching import READ, month_of
from bot.services.turn import Turn, bold, italic

# How close (the archive's relevance, 0 to 1) a published discussion must be to be offered.
SIMILAR_ENOUGH = 0.6

SUBMIT = "sb"
CANCEL = "cn"
ASK_ANYWAY = "aa"
NAMED, ANONYMOUS = "n", "a"


async def draft(turn: Turn, text: str) -> None:
    """Show the question back for confirmation; first, if the network already discussed
    something close, offer that."""
    checked = check_text(text, MAX_QUESTION_CHARS)
    if isinstance(checked, Refusal):
        await turn.refuse(checked)
        return
    await turn.wait_for("ask.draft", text=checked)
    similar = await turn.services.archive.similar(checked, limit=1)
    if similar and similar[0].score >= SIMILAR_ENOUGH:
        hit, t = similar[0], turn.t
        await turn.say(
            t("This was discussed in {month}:", month=month_of(hit.published_at)), "\n", bold(hit.title), "\n\n",
            t("Would you like to read it first, or ask your question anyway?"),
            buttons=[[turn.button(t("Read it"), READ, hit.discussion_id),
                      turn.button(t("Ask anyway"), ASK_ANYWAY, turn.member.id)]],
        )
        return
    await _confirm(turn, checked)


async def press_ask_anyway(turn: Turn) -> None:
    conversation = await turn.services.conversations.get(turn.member.id)
    if conversation is None or conversation.step != "ask.draft":
        await turn.refuse(Refusal("This draft was already sent or cancelled."))
        return
    await _confirm(turn, conversation.data["text"])


async def _confirm(turn: Turn, checked: str) -> None:
    t = turn.t
    member_id = turn.member.id
    await turn.say(
        t("Here is your question:"), "\n\n", italic(checked), "\n\n",
        t("Shall I send it to the facilitators? Once they approve it, it is shared with the whole network."),
        buttons=[
            [turn.button(t("Submit"), SUBMIT, member_id, NAMED)],
            [turn.button(t("Submit without my name"), SUBMIT, member_id, ANONYMOUS)],
            [turn.button(t("Cancel"), CANCEL, member_id)],
        ],
    )


async def press_submit(turn: Turn, how: str) -> None:
    conversation = await turn.services.conversations.get(turn.member.id)
    if conversation is None or conversation.step != "ask.draft":
        await turn.refuse(Refusal("This draft was already sent or cancelled."))
        return
    services = turn.services
    text = conversation.data["text"]
    anonymous = how == ANONYMOUS
    language = services.detector.detect(text)
    discussion = await services.discussions.create(turn.member.id, text, language, anonymous, turn.now)
    await turn.stop_waiting()
    t = turn.t
    turn.notice = t("Sent to the facilitators")
    await turn.say(
        t("Thank you! Your question #{number} is with the facilitators.", number=discussion.id), " ",
        t("It will be shared without your name.") if anonymous else "", " " if anonymous else "",
        t("I will tell you when it is shared, and forward every reply to you here."),
    )
    await moderation.send_cards(services, discussion, turn.member)


async def press_cancel(turn: Turn) -> None:
    conversation = await turn.services.conversations.get(turn.member.id)
    if conversation is None or conversation.step != "ask.draft":
        await turn.refuse(Refusal("This draft was already sent or cancelled."))
        return
    await turn.stop_waiting()
    turn.notice = turn.t("Cancelled")
    await turn.say(turn.t("Cancelled: nothing was sent."))
