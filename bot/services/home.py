"""A person's home: who they are in the network, the questions open for replies (each with a
Reply button) and, for facilitators, the questions waiting for them. /home shows it in the
chat; where the platform has a page of its own for the bot (Slack's App Home) it is shown
there whenever the person opens it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from bot.domain.discussions import State, title_of
from bot.ports import Button, Message, Purpose
from bot.services.buttons import ButtonCodec
from bot.services.discussions import DiscussionStore
from bot.services.messaging import Part, bold, compose
from bot.services.replying import Press as ReplyPress
from bot.services.routes import Route, command
from bot.services.rules import IN_PRIVATE
from bot.services.turn import Turn

MOST = 10  # questions listed, newest first


class Command(StrEnum):
    HOME = "home"


@dataclass(eq=False)
class Home:
    discussions: DiscussionStore
    codec: ButtonCodec
    community_name: str

    def routes(self) -> Sequence[Route]:
        return (command(Command.HOME, self.show, "Your profile and the questions open now", rules=(IN_PRIVATE,)),)

    async def show(self, turn: Turn, args: str) -> None:
        await turn.show(await self.home(turn))

    async def opened(self, turn: Turn) -> None:
        """The person opened the bot's page in their app."""
        await turn.messenger.say(turn.origin, turn.member.id, await self.home(turn), Purpose.HOME)

    async def home(self, turn: Turn) -> Message:
        t, member = turn.t, turn.member
        parts: list[Part] = [bold(self.community_name), "\n",
                             t("You are in the network as {who}.", who=member.attribution()), " ",
                             t("Send /profile to change it, /help to see what I can do."), "\n\n"]
        buttons: list[list[Button]] = []
        open_now = [d for d in await self.discussions.in_state(State.APPROVED) if d.asker_id != member.id]
        open_now = sorted(open_now, key=lambda d: d.id, reverse=True)[:MOST]
        if open_now:
            parts.append(bold(t("Open for your replies")))
            for discussion in open_now:
                parts += ["\n", f"#{discussion.id} ", title_of(discussion.text), " ",
                          t("(replies until {day})", day=t.until(discussion.deadline_at or 0, turn.now))]
                buttons.append([Button(t("Reply to #{number}", number=discussion.id),
                                       self.codec.encode(ReplyPress.REPLY, discussion.id))])
        else:
            parts.append(t("No question is open for replies just now. Write yours here any time."))
        if member.is_facilitator:
            waiting = [*await self.discussions.in_state(State.SUBMITTED),
                       *await self.discussions.in_state(State.CLARIFYING)]
            parts += ["\n\n", bold(t("Waiting for the facilitators"))]
            if not waiting:
                parts += ["\n", t("Nothing is waiting.")]
            for discussion in sorted(waiting, key=lambda d: d.id)[:MOST]:
                parts += ["\n", f"#{discussion.id} ", title_of(discussion.text), f" — /question {discussion.id}"]
        return compose(*parts, buttons=buttons)
