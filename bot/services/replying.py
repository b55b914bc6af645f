"""Replies: a member answers a shared question (the Reply button then text, or the platform's
own reply-to on any message that carries Reply buttons: the question, its reminder, a
digest); the reply is kept and forwarded at once to the asker, attributed unless the replier
chose to stay anonymous."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Sequence

from bot.domain.discussions import MAX_REPLY_CHARS, Discussion, check_text
from bot.domain.refusal import Refusal
from bot.ports import Button, Outgoing, Purpose
from bot.services.buttons import ButtonAction, ButtonCodec
from bot.services.discussions import DiscussionStore
from bot.services.language import LanguageDetection
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, bold, compose
from bot.services.routes import Route, discussion_button, discussion_step, step
from bot.services.rules import NOT_LEFT, NOT_MUTED
from bot.services.turn import Turn
from bot.services.watch import Watch
from bot.texts.catalog import Translator


class Press(StrEnum):
    REPLY = "rp"
    REPLY_WITH_KEPT_TEXT = "rk"


class Step(StrEnum):
    REPLY = "reply"
    WHICH_QUESTION = "reply.which"


ANONYMOUS = "a"


def reply_buttons(t: Translator, codec: ButtonCodec, discussion_id: int) -> list[Button]:
    return [Button(t("Reply"), codec.encode(Press.REPLY, discussion_id)),
            Button(t("Reply without my name"), codec.encode(Press.REPLY, discussion_id, ANONYMOUS),
                   short=t("Reply anonymously"))]


# The messages that carry a question's Reply buttons to the network.
CARRY_REPLY_BUTTONS = (Purpose.BROADCAST, Purpose.REMINDER)


def reply_button_of(codec: ButtonCodec, discussion_id: int) -> Callable[[Button], bool]:
    """Whether a button replies to this discussion: once it closes, such buttons go."""
    def replies_to_it(button: Button) -> bool:
        decoded = codec.decode(button.token)
        return isinstance(decoded, ButtonAction) and decoded.action == Press.REPLY and decoded.subject == discussion_id
    return replies_to_it


@dataclass(eq=False)
class Replying:
    discussions: DiscussionStore
    members: MemberStore
    messenger: Messenger
    codec: ButtonCodec
    detector: LanguageDetection
    languages: tuple[str, ...]
    watch: Watch = field(default_factory=Watch)

    def routes(self) -> Sequence[Route]:
        return (
            discussion_button(Press.REPLY, self.press_reply, rules=(NOT_LEFT, NOT_MUTED)),
            discussion_button(Press.REPLY_WITH_KEPT_TEXT, self.press_reply_with_kept_text, rules=(NOT_LEFT, NOT_MUTED)),
            discussion_step(Step.REPLY, self.answer, rules=(NOT_LEFT, NOT_MUTED)),
            step(Step.WHICH_QUESTION, self.answer_which),
        )

    async def press_reply(self, turn: Turn, discussion: Discussion, how: str) -> None:
        closed = discussion.accepts_replies()
        if closed is not None:
            await turn.refuse(closed)
            return
        if discussion.asker_id == turn.member.id:
            await turn.refuse(Refusal("This is your own question: the replies will come to you here."))
            return
        anonymous = how == ANONYMOUS
        t = turn.t
        turn.notice = t("Write your reply")
        await turn.ask(
            Step.REPLY,
            [t("Write your reply to question #{number} in your next message.", number=discussion.id), " ",
             t("It will reach the asker without your name.") if anonymous
             else t("It will reach the asker with your name and organization."),
             " ", t("Send /cancel to stop.")],
            label=t("Your reply to question #{number}", number=discussion.id),
            discussion=discussion.id, anonymous=anonymous,
        )

    async def answer(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        await self.receive(turn, discussion, text, bool(data.get("anonymous")))

    def replies_to(self, message: Outgoing) -> bool:
        """Whether a message is about questions one can reply to (it carries Reply buttons)."""
        return bool(self._reply_actions(message))

    async def reply_to_message(self, turn: Turn, message: Outgoing, text: str) -> bool:
        """The person used the platform's reply-to on one of the bot's messages: when it
        carries Reply buttons, the text is a reply to that question (or, on a digest of
        several, to the one they choose). False when the message is about no question."""
        numbers = sorted({action.subject for action in self._reply_actions(message)})
        if not numbers:
            return False
        if len(numbers) == 1:
            discussion = await self.discussions.get(numbers[0])
            if discussion is None:
                return False
            await self.receive(turn, discussion, text, anonymous=False)
            return True
        checked = check_text(text, MAX_REPLY_CHARS)
        if isinstance(checked, Refusal):
            await turn.refuse(checked)
            return True
        await turn.wait_for(Step.WHICH_QUESTION, text=checked)
        t = turn.t
        await turn.say(t("Which question is your reply for?"), buttons=[
            [turn.button(t("Question #{number}", number=number), Press.REPLY_WITH_KEPT_TEXT, number)]
            for number in numbers
        ])
        return True

    async def answer_which(self, turn: Turn, text: str, data: dict) -> None:
        await turn.refuse(Refusal("Please choose one of the buttons, or send /cancel."))

    async def press_reply_with_kept_text(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step != Step.WHICH_QUESTION:
            await turn.refuse(Refusal("That reply was already sent or cancelled."))
            return
        await self.receive(turn, discussion, str(conversation.data.get("text", "")), anonymous=False)

    async def receive(self, turn: Turn, discussion: Discussion, text: str, anonymous: bool) -> None:
        closed = discussion.accepts_replies()
        if closed is not None:
            await turn.stop_waiting()
            await turn.refuse(closed)
            return
        if discussion.asker_id == turn.member.id:
            await turn.stop_waiting()
            await turn.refuse(Refusal("This is your own question: the replies will come to you here."))
            return
        checked = check_text(text, MAX_REPLY_CHARS)
        if isinstance(checked, Refusal):
            await turn.refuse(checked)
            return
        language = self.detector.detect(checked, self.languages, turn.member.language or discussion.language)
        await self.discussions.add_reply(discussion.id, turn.member.id, checked, anonymous, turn.now, language)
        self.watch.changed()
        await turn.stop_waiting()
        turn.notice = turn.t("Reply sent")
        await turn.say(turn.t("Thank you! Your reply was sent to the asker and will be part of the consolidated reply."))
        who = None if anonymous else turn.member.attribution()
        recipients = await self.members.recipients(member_ids=[discussion.asker_id])
        await self.messenger.send(
            recipients,
            lambda t: compose(
                bold(t("Reply to your question #{number} from {who}", number=discussion.id,
                       who=who or t("a member who asked to stay anonymous"))),
                "\n\n", checked,
            ),
            Purpose.REPLY, discussion.id,
        )

    def _reply_actions(self, message: Outgoing) -> list[ButtonAction]:
        actions = []
        for row in message.buttons:
            for button in row:
                decoded = self.codec.decode(button.token)
                if isinstance(decoded, ButtonAction) and decoded.action == Press.REPLY:
                    actions.append(decoded)
        return actions
