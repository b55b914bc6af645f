"""Commands about one's own membership: /help, /pause, /resume, /leave, /whoami, /cancel."""

from __future__ import annotations

from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.services.turn import Turn, bold

LEAVE = "lv"

COMMANDS = (
    ("start", "Join the network, or see the welcome again"),
    ("ask", "Ask the network a question"),
    ("profile", "See and change your profile"),
    ("search", "Search what the network has discussed"),
    ("read", "Read a consolidated reply: /read 12"),
    ("digest", "Every question as it comes, or a daily or weekly digest"),
    ("timezone", "Your time zone, for digests"),
    ("pause", "Stop receiving questions for a while"),
    ("resume", "Receive questions again"),
    ("leave", "Leave the network"),
    ("whoami", "Your id on this platform"),
    ("cancel", "Stop what I am waiting for"),
    ("help", "What I can do"),
)


async def show_help(turn: Turn) -> None:
    t = turn.t
    lines: list[object] = [bold(t("What I can do")), "\n"]
    for command, description in COMMANDS:
        lines += [f"/{command} ", "— ", t(description), "\n"]
    lines += ["\n", t("To ask the network a question, just write it here.")]
    if turn.member.is_facilitator:
        lines += ["\n\n", bold(t("For facilitators")), "\n",
                  t("Questions waiting for approval come to you as cards with buttons: "
                    "Approve, Ask to clarify, Edit and Reject.")]
    await turn.say(*lines)  # type: ignore[arg-type]


async def pause(turn: Turn) -> None:
    await _change(turn, turn.member.pause(),
                  "Paused: you will not receive new questions. Send /resume when you want them again.")


async def resume(turn: Turn) -> None:
    await _change(turn, turn.member.resume(), "Welcome back: you will receive the network's questions again.")


async def leave(turn: Turn) -> None:
    t = turn.t
    if isinstance(turn.member.leave(), Refusal):
        await turn.refuse(Refusal("You have already left the network."))
        return
    await turn.say(
        t("Do you really want to leave the network? You will no longer receive questions. "
          "Your past replies stay in the network's archive."),
        buttons=[[turn.button(t("Yes, leave"), LEAVE, turn.member.id)]],
    )


async def press_leave(turn: Turn) -> None:
    await _change(turn, turn.member.leave(),
                  "You have left the network. Thank you for everything you shared. Send /start to come back.")


async def whoami(turn: Turn) -> None:
    t, origin = turn.t, turn.origin
    await turn.say(t("Your {platform} id is {user_id}.", platform=origin.platform.capitalize(), user_id=origin.user_id))
    if origin.chat_id and origin.chat_id != origin.user_id:
        await turn.say(t("This chat's id is {chat_id}.", chat_id=origin.chat_id))


async def cancel(turn: Turn) -> None:
    conversation = await turn.services.conversations.get(turn.member.id)
    await turn.stop_waiting()
    if conversation is None:
        await turn.say(turn.t("There was nothing to cancel."))
    else:
        await turn.say(turn.t("Cancelled. Write a question any time, or send /help."))


async def _change(turn: Turn, changed: Member | Refusal, confirmation: str) -> None:
    if isinstance(changed, Refusal):
        await turn.refuse(changed)
        return
    turn.member = changed
    await turn.services.members.save(changed)
    turn.notice = turn.t("Done")
    await turn.say(turn.t(confirmation))
