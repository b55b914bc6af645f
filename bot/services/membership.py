"""Commands about one's own membership: /help, /pause, /resume, /leave, /whoami, /cancel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.ports import Style
from bot.services.members import MemberStore
from bot.services.messaging import Part, bold
from bot.services.routes import CommandRoute, Route, command, personal_button
from bot.services.rules import IN_PRIVATE
from bot.services.turn import Turn
from bot.texts.catalog import N_


class Press(StrEnum):
    LEAVE = "lv"


class Command(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    LEAVE = "leave"
    WHOAMI = "whoami"
    CANCEL = "cancel"
    HELP = "help"


class CommandIndex(Protocol):
    def listed(self, facilitator: bool) -> list[CommandRoute]: ...


@dataclass(eq=False)
class Membership:
    members: MemberStore
    index: CommandIndex

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.PAUSE, self.pause, "Stop receiving questions for a while"),
            command(Command.RESUME, self.resume, "Receive questions again"),
            command(Command.LEAVE, self.leave, "Leave the network"),
            # Whoever wrote, wherever: a facilitator learns their id (or the group's) this way.
            command(Command.WHOAMI, self.whoami, "Your id on this platform", rules=()),
            command(Command.CANCEL, self.cancel, "Stop what I am waiting for", rules=(IN_PRIVATE,)),
            command(Command.HELP, self.show_help, "What I can do", rules=()),
            personal_button(Press.LEAVE, self.press_leave),
        )

    async def show_help(self, turn: Turn, args: str) -> None:
        t = turn.t
        lines: list[Part] = [bold(t("What I can do")), "\n"]
        for route in self.index.listed(facilitator=False):
            lines += [f"/{route.command.value} ", "— ", t(route.description), "\n"]
        lines += ["\n", t("To ask the network a question, just write it here.")]
        if turn.member.is_facilitator:
            lines += ["\n\n", bold(t("For facilitators")), "\n",
                      t("Questions waiting for approval come to you as cards with buttons: "
                        "Approve, Ask to clarify, Edit and Reject.")]
            for route in self.index.listed(facilitator=True):
                if route not in self.index.listed(facilitator=False):
                    lines += ["\n", f"/{route.command.value} ", "— ", t(route.description)]
        await turn.say(*lines)

    async def pause(self, turn: Turn, args: str) -> None:
        await self._change(turn, turn.member.pause(),
                           N_("Paused: you will not receive new questions. Send /resume when you want them again."))

    async def resume(self, turn: Turn, args: str) -> None:
        await self._change(turn, turn.member.resume(),
                           N_("Welcome back: you will receive the network's questions again."))

    async def leave(self, turn: Turn, args: str) -> None:
        t = turn.t
        if isinstance(turn.member.leave(), Refusal):
            await turn.refuse(Refusal("You have already left the network."))
            return
        await turn.say(
            t("Do you really want to leave the network? You will no longer receive questions. Your profile, "
              "questions and replies stay with the network; to delete your profile and take your name off "
              "everything, send /forget instead."),
            buttons=[[turn.button(t("Yes, leave"), Press.LEAVE, turn.member.id, style=Style.DANGER)]],
        )

    async def press_leave(self, turn: Turn, arg: str) -> None:
        await self._change(turn, turn.member.leave(),
                           N_("You have left the network. Thank you for everything you shared. Send /start to come back."))

    async def whoami(self, turn: Turn, args: str) -> None:
        t, origin = turn.t, turn.origin
        platform = turn.capabilities.display_name or origin.platform.capitalize()
        await turn.say(t("Your {platform} id is {user_id}.", platform=platform, user_id=origin.user_id))
        if origin.chat_id and origin.chat_id != origin.user_id:
            await turn.say(t("This chat's id is {chat_id}.", chat_id=origin.chat_id))

    async def cancel(self, turn: Turn, args: str) -> None:
        conversation = await turn.waiting()
        await turn.stop_waiting()
        if conversation is None:
            await turn.say(turn.t("There was nothing to cancel."))
        else:
            await turn.say(turn.t("Cancelled. Write a question any time, or send /help."))

    async def _change(self, turn: Turn, changed: Member | Refusal, confirmation: str) -> None:
        if isinstance(changed, Refusal):
            await turn.refuse(changed)
            return
        turn.member = changed
        await self.members.save(changed)
        turn.notice = turn.t("Done")
        await turn.say(turn.t(confirmation))

