"""Asking: a member's text becomes a draft, shown back with Submit / Cancel and the choice to
ask without their name; submitted, it becomes a discussion and goes to the facilitators."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from bot.domain.discussions import MAX_QUESTION_CHARS, State, check_text
from bot.domain.refusal import Refusal
from bot.ports import Style
from bot.services.archive import Archive
from bot.services.cards import Cards
from bot.services.discussions import DiscussionStore
from bot.services.language import LanguageDetection
from bot.services.messaging import bold, italic
from bot.services.routes import Arguments, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_OWNER, NOT_LEFT, NOT_MUTED
from bot.services.searching import Press as SearchPress
from bot.services.turn import Turn

log = logging.getLogger(__name__)

# How close (the archive's relevance, 0 to 1) a published discussion must be to be offered.
SIMILAR_ENOUGH = 0.6
NAMED, ANONYMOUS = "n", "a"


class Press(StrEnum):
    SUBMIT = "sb"
    CANCEL = "cn"
    ASK_ANYWAY = "aa"
    ASK_IT = "aq"  # a reply to one of the bot's messages, meant as a new question after all


class Step(StrEnum):
    DRAFT = "ask.draft"


class Command(StrEnum):
    ASK = "ask"


ALREADY_SENT = Refusal("This draft was already sent or cancelled.")


@dataclass(eq=False)
class Asking:
    discussions: DiscussionStore
    archive: Archive
    cards: Cards
    detector: LanguageDetection
    languages: tuple[str, ...]
    default_language: str
    waiting_questions: int = 3  # how many of one member's questions may wait for the facilitators

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.ASK, self.ask, "Ask the network a question", rules=(IN_PRIVATE, NOT_LEFT, NOT_MUTED),
                    arguments=Arguments.TEXT),
            personal_button(Press.SUBMIT, self.press_submit, rules=(NOT_LEFT, IS_OWNER, NOT_MUTED)),
            personal_button(Press.CANCEL, self.press_cancel),
            personal_button(Press.ASK_ANYWAY, self.press_ask_anyway, rules=(NOT_LEFT, IS_OWNER, NOT_MUTED)),
            personal_button(Press.ASK_IT, self.press_ask_it, rules=(NOT_LEFT, IS_OWNER, NOT_MUTED)),
            step(Step.DRAFT, self.redraft, rules=(NOT_LEFT, NOT_MUTED)),
        )

    async def ask(self, turn: Turn, args: str) -> None:
        if args.strip():
            await self.draft(turn, args)
        else:
            await turn.say(turn.t("Write your question in your next message: just the question, "
                                  "as you would ask a colleague."))

    async def redraft(self, turn: Turn, text: str, data: dict) -> None:
        await self.draft(turn, text)

    async def draft(self, turn: Turn, text: str) -> None:
        """Show the question back for confirmation; first, if the network already discussed
        something close, offer that."""
        checked = check_text(text, MAX_QUESTION_CHARS)
        if isinstance(checked, Refusal):
            await turn.refuse(checked)
            return
        await turn.wait_for(Step.DRAFT, text=checked)
        similar = await self.archive.similar(checked, limit=1)
        if similar and similar[0].score >= SIMILAR_ENOUGH:
            hit, t = similar[0], turn.t
            await turn.say(
                t("This was discussed in {month}:", month=t.month(hit.published_at)), "\n", bold(hit.title), "\n\n",
                t("Would you like to read it first, or ask your question anyway?"),
                buttons=[[turn.button(t("Read it"), SearchPress.READ, hit.discussion_id),
                          turn.button(t("Ask anyway"), Press.ASK_ANYWAY, turn.member.id)]],
            )
            return
        await self._confirm(turn, checked)

    async def unclear_reply(self, turn: Turn, text: str) -> None:
        """The person replied to one of the bot's messages that asks for no answer (a thank-you,
        a notice): rather than take it for a new question, ask what they mean."""
        checked = check_text(text, MAX_QUESTION_CHARS)
        if isinstance(checked, Refusal):
            await turn.refuse(checked)
            return
        await turn.wait_for(Step.DRAFT, text=checked)
        t = turn.t
        await turn.say(
            t("You replied to one of my messages, which needs no answer. Would you like to ask the network this "
              "as a new question?"), "\n\n", italic(checked),
            buttons=[[turn.button(t("Ask it as a question"), Press.ASK_IT, turn.member.id, style=Style.PRIMARY,
                                  short=t("Ask it")),
                      turn.button(t("Cancel"), Press.CANCEL, turn.member.id)]],
        )

    async def press_ask_it(self, turn: Turn, arg: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step != Step.DRAFT:
            await self._already_sent(turn)
            return
        await turn.take_buttons_off_pressed()
        await self.draft(turn, conversation.data["text"])

    async def press_ask_anyway(self, turn: Turn, arg: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step != Step.DRAFT:
            await turn.refuse(ALREADY_SENT)
            return
        await self._confirm(turn, conversation.data["text"])

    async def _confirm(self, turn: Turn, checked: str) -> None:
        t = turn.t
        member_id = turn.member.id
        await turn.say(
            t("Here is your question:"), "\n\n", italic(checked), "\n\n",
            t("Shall I send it to the facilitators? Once they approve it, it is shared with the whole network."),
            buttons=[
                [turn.button(t("Submit"), Press.SUBMIT, member_id, NAMED, Style.PRIMARY)],
                [turn.button(t("Submit without my name"), Press.SUBMIT, member_id, ANONYMOUS,
                             short=t("Submit anonymously"))],
                [turn.button(t("Cancel"), Press.CANCEL, member_id)],
            ],
        )

    async def press_submit(self, turn: Turn, how: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step != Step.DRAFT:
            await self._already_sent(turn)
            return
        waiting = [d for d in await self.discussions.asked_by(turn.member.id)
                   if d.state in (State.SUBMITTED, State.CLARIFYING)]
        if len(waiting) >= self.waiting_questions:
            log.info("member %s has %s questions waiting: a new one waits for them", turn.member.id, len(waiting))
            await turn.refuse(Refusal("{count} of your questions are waiting for the facilitators already: this one "
                                      "can be submitted once they have looked at them. It is kept as your draft.",
                                      {"count": len(waiting)}))
            return
        text = conversation.data["text"]
        anonymous = how == ANONYMOUS
        language = self.detector.detect(text, self.languages, turn.member.language or self.default_language)
        discussion = await self.discussions.create(turn.member.id, text, language, anonymous, turn.now)
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        t = turn.t
        turn.notice = t("Sent to the facilitators")
        await turn.say(
            t("Thank you! Your question #{number} is with the facilitators.", number=discussion.id), " ",
            t("It will be shared without your name.") if anonymous else "", " " if anonymous else "",
            t("I will tell you when it is shared, and forward every reply to you here."),
        )
        await self.cards.send_moderation(discussion, turn.member)

    async def press_cancel(self, turn: Turn, arg: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step != Step.DRAFT:
            await self._already_sent(turn)
            return
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t("Cancelled")
        await turn.say(turn.t("Cancelled: nothing was sent."))

    async def _already_sent(self, turn: Turn) -> None:
        """A draft's button pressed after it was sent or cancelled: said once, and its buttons go."""
        await turn.refuse(ALREADY_SENT)
        await turn.take_buttons_off_pressed()
