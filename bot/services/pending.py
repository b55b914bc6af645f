"""/pending: what waits for a facilitator now, in one list: the questions waiting for approval
in the languages they handle (or that came to them when nobody of their language took them
up), and the drafts of consolidated replies waiting to be published. Each has one button that
brings its card back to them, as a copy kept up to date with everyone's."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from bot.domain.discussions import Discussion, State, title_of
from bot.ports import Button
from bot.services.cards import CardKind, Cards
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore
from bot.services.messaging import Part, bold
from bot.services.publishing import Publishing
from bot.services.routes import Audience, Route, command, facilitator_button
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn

MOST = 10  # items listed with their button: as many as a WhatsApp list holds


class Command(StrEnum):
    PENDING = "pending"


class Press(StrEnum):
    SHOW_CARD = "pc"


@dataclass(eq=False)
class Pending:
    discussions: DiscussionStore
    members: MemberStore
    cards: Cards
    publishing: Publishing

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.PENDING, self.show, "What waits for you: questions to approve, drafts to publish",
                    rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), audience=Audience.FACILITATORS),
            facilitator_button(Press.SHOW_CARD, self.press_show_card),
        )

    async def show(self, turn: Turn, args: str) -> None:
        t = turn.t
        questions = [d for d in await self.discussions.in_state(State.SUBMITTED)
                     if await self.cards.waits_for(turn.member, d)]
        drafts = [d for d in await self.discussions.in_state(State.CLOSED)
                  if await self.publishing.draft_waiting(d) is not None]
        if not questions and not drafts:
            await turn.say(t("Nothing waits for you: no question to approve, no draft to publish."))
            return
        parts: list[Part] = [bold(t("What waits for you"))]
        buttons: list[list[Button]] = []
        if questions:
            parts += ["\n\n", bold(t.plural("{count} question waiting for approval",
                                            "{count} questions waiting for approval", len(questions)))]
            parts += self._listed(turn, questions[:MOST], buttons)
        shown_drafts = drafts[:MOST - len(buttons)]
        if drafts:
            parts += ["\n\n", bold(t.plural("{count} draft consolidated reply waiting to be published",
                                            "{count} draft consolidated replies waiting to be published",
                                            len(drafts)))]
            parts += self._listed(turn, shown_drafts, buttons)
        left = len(questions) + len(drafts) - len(buttons)
        if left > 0:
            parts += ["\n\n", t.plural("And {count} more: they come up here once these are done.",
                                       "And {count} more: they come up here once these are done.", left)]
        await turn.say(*parts, buttons=buttons)

    def _listed(self, turn: Turn, discussions: list[Discussion], buttons: list[list[Button]]) -> list[Part]:
        parts: list[Part] = []
        for discussion in discussions:
            parts += ["\n", f"#{discussion.id} ", title_of(discussion.text, limit=80)]
            buttons.append([turn.button(turn.t("Open #{number}", number=discussion.id), Press.SHOW_CARD,
                                        discussion.id)])
        return parts

    async def press_show_card(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        """The card again, to act on it: the question's, or the draft's."""
        if discussion.state is State.SUBMITTED:
            asker = await self.members.get(discussion.asker_id)
            if asker is not None:
                await self.cards.send_to(turn, discussion.id, CardKind.MODERATION,
                                         lambda t: self.cards.moderation_card(t, discussion, asker, None))
                return
        draft = await self.publishing.draft_waiting(discussion)
        if draft is not None:
            await self.publishing.send_draft_card(turn, discussion, draft)
            return
        await turn.refuse(discussion.where_it_stands())
